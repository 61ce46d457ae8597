"""The institution page: one of the group's current schools, as the register describes it."""

import datetime
import re

import pytest

from institutions.models import GroupMembership, Status
from portal.views import report_card_rows, website_href
from tests.conftest import SITE_SCOPE_QUERIES
from tests.factories import LocalAuthorityFactory, StaffProfileFactory, TrustFactory
from tests.institutions.factories import (
    ClusterFactory,
    add_school,
    group_staff,
    outsider,
    put_in_cluster,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def school(trust):
    school = add_school(
        trust,
        name="St Mary’s Church of England Primary School",
        urn="100001",
        la_code="383",
        la_name="Leeds",
        establishment_number="2001",
        type_name="Voluntary aided school",
        type_group="Local authority maintained schools",
        phase="Primary",
        status=Status.OPEN,
        statutory_low_age=4,
        statutory_high_age=11,
        capacity=420,
        pupils=1234,
        percentage_fsm="18.5",
        trust_name="Oak Ridge Trust",
        open_date=datetime.date(1998, 9, 1),
        street="1 Chapel Lane",
        locality="Headingley",
        town="Leeds",
        county="West Yorkshire",
        postcode="LS6 3AA",
        website="www.stmarys-leeds.sch.uk",
        telephone="0113 496 0000",
        head_title="Mrs",
        head_first_name="Ada",
        head_last_name="Lovelace",
        head_job_title="Headteacher",
        ofsted_last_inspection=datetime.date(2023, 5, 17),
        ofsted_rating_published="Good",
        ofsted_grade="good",
    )
    put_in_cluster(ClusterFactory(group=trust, name="North"), school)
    return school


def url(school) -> str:
    return f"/institutions/{school.urn}/"


def without_tokens(response) -> str:
    """The page with what differs on every response blanked out: its CSRF token and the
    request's own reference (its X-Request-ID, shown on error pages)."""
    assert response.headers["X-Request-ID"]
    html = re.sub(r'"X-CSRFToken": "[^"]+"', "", response.content.decode())
    html = html.replace(response.headers["X-Request-ID"], "")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def value_of(html: str, key: str) -> str:
    """The text of a summary list value next to ``key``."""
    match = re.search(
        rf'<dt class="govuk-summary-list__key">{re.escape(key)}</dt>\s*'
        r'<dd class="govuk-summary-list__value[^"]*">(.*?)</dd>',
        html,
        re.S,
    )
    assert match, f"no row {key!r}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


class TestPermissionLadder:
    def test_anonymous_goes_to_sign_in(self, site_client, trust, school):
        response = site_client(trust).get(url(school))
        assert response.status_code == 302
        assert "/accounts/sign-in/" in response["Location"]

    def test_staff_of_another_trust_get_not_found(self, site_client, trust, school):
        response = site_client(trust, outsider()).get(url(school))
        assert response.status_code == 404
        assert school.name not in response.content.decode()

    def test_staff_of_the_group_see_it(self, site_client, trust, school):
        response = site_client(trust, group_staff(trust)).get(url(school))
        assert response.status_code == 200
        assert '<h1 class="govuk-heading-l">St Mary’s Church of England Primary School</h1>' in (
            response.content.decode()
        )

    def test_a_school_site_has_no_such_page(self, site_client, school):
        head = StaffProfileFactory(site=school).user
        assert site_client(school, head).get(url(school)).status_code == 404


class TestOnlyTheGroupsCurrentSchools:
    def test_another_groups_school_is_not_found_like_a_missing_one(
        self, site_client, trust, school
    ):
        foreign = add_school(TrustFactory(), name="Foreign Academy", urn="200001")
        client = site_client(trust, group_staff(trust))
        foreign_response = client.get(url(foreign))
        missing_response = client.get("/institutions/999999/")
        assert foreign_response.status_code == missing_response.status_code == 404
        assert "Foreign Academy" not in foreign_response.content.decode()
        assert without_tokens(foreign_response) == without_tokens(missing_response)

    def test_a_closed_school_or_one_that_left_is_not_found(self, site_client, trust, school):
        closed = add_school(trust, name="Closed Primary", urn="100002", status=Status.CLOSED)
        gone = add_school(trust, name="Gone Primary", urn="100003")
        GroupMembership.objects.filter(school=gone).update(left_on=datetime.date(2025, 8, 31))
        client = site_client(trust, group_staff(trust))
        assert client.get(url(closed)).status_code == 404
        assert client.get(url(gone)).status_code == 404

    def test_not_a_urn_is_not_found(self, site_client, trust, school):
        client = site_client(trust, group_staff(trust))
        assert client.get("/institutions/12345/").status_code == 404
        assert client.get("/institutions/abcdef/").status_code == 404


class TestContent:
    def test_register_facts(self, site_client, trust, school):
        html = site_client(trust, group_staff(trust)).get(url(school)).content.decode()
        assert value_of(html, "URN") == "100001"
        assert value_of(html, "DfE number") == "383/2001"
        assert value_of(html, "Type") == "Voluntary aided school Local authority maintained schools"
        assert value_of(html, "Phase") == "Primary"
        assert value_of(html, "Status") == "Open"
        assert value_of(html, "Ages") == "4 to 11"
        assert value_of(html, "Capacity") == "420"
        assert value_of(html, "Pupils") == "1,234"
        assert value_of(html, "Free school meals") == "18.5%"
        assert value_of(html, "Local authority") == "Leeds (383)"
        assert value_of(html, "Trust") == "Oak Ridge Trust"
        assert value_of(html, "Opened") == "1 September 1998"
        assert value_of(html, "Address") == (
            "1 Chapel Lane Headingley Leeds West Yorkshire LS6 3AA"
        )
        assert value_of(html, "Telephone") == "0113 496 0000"
        assert value_of(html, "Head") == "Mrs Ada Lovelace Headteacher"
        assert value_of(html, "Last inspection") == "17 May 2023"
        assert value_of(html, "Overall grade") == "Good"

    def test_website_is_a_safe_link(self, site_client, trust, school):
        html = site_client(trust, group_staff(trust)).get(url(school)).content.decode()
        assert (
            '<a class="govuk-link" href="https://www.stmarys-leeds.sch.uk" rel="noopener">'
            "www.stmarys-leeds.sch.uk</a>" in html
        )

    def test_a_website_that_is_not_an_address_is_text_only(self, site_client, trust, school):
        school.website = "javascript:alert(1)"
        school.save(update_fields=["website"])
        html = site_client(trust, group_staff(trust)).get(url(school)).content.decode()
        assert value_of(html, "Website") == "javascript:alert(1)"
        assert 'href="javascript' not in html

    @pytest.mark.parametrize(
        ("website", "href"),
        [
            ("http://www.school.org.uk", "http://www.school.org.uk"),
            ("HTTPS://school.org.uk/home", "HTTPS://school.org.uk/home"),
            ("www.school.org.uk", "https://www.school.org.uk"),
            ("school.sch.uk/about", "https://school.sch.uk/about"),
            ("javascript:alert(1)", None),
            ("data:text/html,hi", None),
            ("not a website", None),
            ("", None),
        ],
    )
    def test_website_href(self, website, href):
        assert website_href(website) == href

    def test_report_card_has_no_single_grade(self, site_client, trust, school):
        school.ofsted_grade = ""
        school.ofsted_rating_published = ""
        school.ofsted_last_inspection = datetime.date(2025, 12, 3)
        school.ofsted_report_card = {
            "quality_of_education": "strong standard",
            "Leadership and management": "expected standard",
            "safeguarding": False,
        }
        school.save()
        html = site_client(trust, group_staff(trust)).get(url(school)).content.decode()
        assert value_of(html, "Overall grade") == "No single overall grade"
        assert value_of(html, "Quality of education") == "Strong standard"
        assert value_of(html, "Leadership and management") == "Expected standard"
        assert value_of(html, "Safeguarding") == "Not met"
        assert "give no single overall grade" in html
        assert "Good" not in value_of(html, "Overall grade")

    def test_never_inspected(self, site_client, trust, school):
        school.ofsted_grade = ""
        school.ofsted_rating_published = ""
        school.ofsted_last_inspection = None
        school.save()
        html = site_client(trust, group_staff(trust)).get(url(school)).content.decode()
        assert value_of(html, "Last inspection") == "Not inspected"
        assert value_of(html, "Overall grade") == "Not inspected"

    def test_report_card_rows_accept_nested_areas(self):
        rows = report_card_rows({"areas": {"Inclusion": "strong standard"}, "safeguarding": "met"})
        assert rows == [("Inclusion", "Strong standard"), ("Safeguarding", "Met")]
        assert report_card_rows([]) == []

    def test_only_this_groups_clusters(self, site_client, trust, school):
        la = LocalAuthorityFactory()
        GroupMembership.objects.create(group=la, school=school)
        put_in_cluster(ClusterFactory(group=la, name="LA Secret Cluster"), school)
        html = site_client(trust, group_staff(trust)).get(url(school)).content.decode()
        section = html[html.index('id="clusters-heading"') :]
        section = section[: section.index("</section>")]
        assert ">North</a>" in section
        assert "LA Secret Cluster" not in html

    def test_sections_left_for_data_sharing_and_log_in_to_mis(self, site_client, trust, school):
        html = site_client(trust, group_staff(trust)).get(url(school)).content.decode()
        assert "This school has not agreed to share data with" in html
        assert 'id="data-sharing"' in html
        assert '<div id="log-in-to-mis">' in html

    def test_breadcrumb_back_to_browse(self, site_client, trust, school):
        html = site_client(trust, group_staff(trust)).get(url(school)).content.decode()
        assert 'href="/institutions/">Browse Institutions</a>' in html

    def test_query_count(self, site_client, trust, school, django_assert_num_queries):
        client = site_client(trust, group_staff(trust))
        client.get(url(school))
        # site, session, user, profile, school, clusters, data sharing status, the Log in to
        # MIS place (asked even before two-factor, to say why there is no button), the
        # person's permissions (the menu shows Analytics and Audit only to those who may)
        # + figures: the row, England's absence, England's census and performance
        with django_assert_num_queries(12 + SITE_SCOPE_QUERIES):
            client.get(url(school))
