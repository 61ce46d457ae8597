"""The privacy notice and the accessibility statement: on every kind of host, for anyone
signed in or not, linked from every page's footer."""

import re

import pytest
from django.test import override_settings

from tests.factories import InstitutionFactory, MembershipFactory, StaffProfileFactory

PAGES = {
    "/privacy/": "Privacy notice",
    "/accessibility/": "Accessibility statement",
}


@pytest.fixture
def school(trust):
    school = InstitutionFactory(name="Oak Ridge Primary", slug="oak-ridge-primary")
    MembershipFactory(group=trust, school=school)
    return school


def heading(html: str) -> str:
    return re.search(r'<h1 class="govuk-heading-l">([^<]+)</h1>', html).group(1)


def footer_links(html: str) -> list[tuple[str, str]]:
    footer = re.search(r'<footer class="mm-footer">.*?</footer>', html, re.S).group(0)
    return re.findall(r'<a href="([^"]+)">([^<]+)</a>', footer)


@pytest.mark.django_db
@pytest.mark.parametrize("path, title", PAGES.items())
@pytest.mark.parametrize("host", ["trust", "school", "platform"])
def test_anyone_reads_them_on_every_kind_of_host(site_client, trust, school, host, path, title):
    site = {"trust": trust, "school": school, "platform": None}[host]
    response = site_client(site).get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert heading(html) == title
    assert "Sign in to use this site" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_signed_in_staff_and_people_of_other_sites_read_them_too(site_client, trust, school, path):
    assert site_client(trust, StaffProfileFactory(site=trust).user).get(path).status_code == 200
    stranger = StaffProfileFactory(site=school).user  # no access at the trust's site
    assert site_client(trust, stranger).get(path).status_code == 200


@pytest.mark.django_db
def test_the_privacy_notice_names_the_site_as_controller_and_the_platform_as_processor(
    site_client, trust, school
):
    html = site_client(school).get("/privacy/").content.decode()
    assert "<strong>Oak Ridge Primary</strong> is the <strong>controller</strong>" in html
    assert "is the <strong>processor</strong>" in html
    platform = site_client(None).get("/privacy/").content.decode()
    assert "Each trust, local authority and school that uses matmis is the" in platform


@pytest.mark.django_db
@override_settings(
    SESSION_COOKIE_AGE=4 * 3600,
    SUPPORT_EMAIL="help@matmis.test",
    MATMIS_AUDIT_RETENTION_DAYS=730,
    MATMIS_DELIVERY_RETENTION_DAYS=45,
)
def test_the_privacy_notice_states_retention_as_implemented(site_client, trust):
    html = site_client(trust).get("/privacy/").content.decode()
    assert "4 hours after you sign in" in html  # SESSION_COOKIE_AGE
    assert "Failed sign-ins</strong> are kept for 24 hours" in html  # FAILURE_RETENTION
    # The audit trail and the outbox: their retention periods, deleted by beat jobs
    assert "audit trail</strong> is kept for 730 days (about 2 years), then deleted" in html
    assert "record is deleted 45 days later" in html
    assert 'href="mailto:help@matmis.test"' in html
    assert "ico.org.uk" in html


@pytest.mark.django_db
def test_the_accessibility_statement_says_the_target_how_it_is_tested_and_how_to_report(
    site_client, trust
):
    html = site_client(trust).get("/accessibility/").content.decode()
    assert "Web Content Accessibility Guidelines version 2.2</a> at level AA" in html
    assert "375 pixel phone width" in html and "target size included" in html
    assert 'id="known-issues"' in html and 'id="report"' in html


@pytest.mark.django_db
def test_they_answer_only_get(site_client, trust):
    for path in PAGES:
        assert site_client(trust).post(path).status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["trust", "school", "platform"])
def test_every_footer_links_to_both(site_client, trust, school, host):
    site = {"trust": trust, "school": school, "platform": None}[host]
    client = site_client(site)
    pages = [
        client.get("/accounts/sign-in/" if site else "/sign-in/"),
        client.get("/no-such-page/"),
        client.get("/privacy/"),
    ]
    if site is not None:
        staff = site_client(site, StaffProfileFactory(site=site).user)
        pages.append(staff.get("/"))
    for response in pages:
        assert footer_links(response.content.decode())[:2] == [
            ("/privacy/", "Privacy notice"),
            ("/accessibility/", "Accessibility statement"),
        ], response.request["PATH_INFO"]
