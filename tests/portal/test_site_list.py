"""The bare domain's site list (development): grouped by kind, the demo's sites first,
searchable, a page at a time, in a constant number of queries."""

import re

import pytest
from django.test import override_settings

from bench.register import DEMO_HEAD_SCHOOL, DEMO_LA_CODE, DEMO_TRUST_CODE
from portal.views import SITE_LIST_PAGE_SIZE
from tests.conftest import SiteClient
from tests.factories import (
    InstitutionFactory,
    LocalAuthorityFactory,
    StaffProfileFactory,
    TrustFactory,
)

pytestmark = pytest.mark.django_db


def _get(path="/"):
    return SiteClient().get(path)


def _headings(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>|\s+", " ", h).strip()
        for h in re.findall(
            r'<h2 class="govuk-heading-m mm-site-group__heading"[^>]*>(.*?)</h2>', html, re.S
        )
    ]


def _names(html: str) -> list[str]:
    return re.findall(r'class="mm-site-list__link" href="[^"]+">([^<]+)</a>', html)


@pytest.fixture
def sites(db):
    InstitutionFactory(name="Beech School", slug="beech-school")
    InstitutionFactory(name="Alder School", slug="alder-school")
    LocalAuthorityFactory(name="Eastshire", slug="eastshire")
    TrustFactory(name="Willow Trust", slug="willow-trust")
    TrustFactory(name="Ash Trust", slug="ash-trust")


def test_sites_are_grouped_by_kind_trusts_first_then_local_authorities_then_schools(sites):
    html = _get().content.decode()
    assert _headings(html) == ["Trusts", "Local authorities", "Schools"]
    assert _names(html) == [
        "Ash Trust",
        "Willow Trust",
        "Eastshire",
        "Alder School",
        "Beech School",
    ]
    assert "None" not in _headings(html)


def test_the_kinds_are_offered_with_their_counts(sites):
    html = _get().content.decode()
    links = re.findall(
        r'class="mm-subnav__link" href="([^"]*)"[^>]*>(\w[\w ]*?) <span[^>]*>(\d+)</span>', html
    )
    assert [(label, count) for _, label, count in links] == [
        ("All", "5"),
        ("Trusts", "2"),
        ("Local authorities", "1"),
        ("Schools", "2"),
    ]
    schools = _get("/?kind=school").content.decode()
    assert _names(schools) == ["Alder School", "Beech School"]
    assert _headings(schools) == ["Schools"]


def test_search_finds_sites_by_every_word_of_the_name_or_address(sites):
    html = _get("/?q=ash+trust").content.decode()
    assert _names(html) == ["Ash Trust"]
    assert "matching “ash trust”" in html
    assert _names(_get("/?q=alder-sch").content.decode()) == ["Alder School"]
    nothing = _get("/?q=zebra").content.decode()
    assert _names(nothing) == []
    assert "No site matches “zebra”" in nothing


def test_the_search_works_as_a_plain_form_without_javascript(sites):
    html = _get("/?kind=trust").content.decode()
    form = re.search(
        r'<form class="mm-site-search" method="get" action="/".*?</form>', html, re.S
    ).group()
    assert 'name="q"' in form and '<button type="submit"' in form
    assert '<input type="hidden" name="kind" value="trust">' in form  # the kind is kept


def test_bad_search_input_gets_a_specific_message_and_lists_everything(sites):
    response = _get("/?kind=castle")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Choose trusts, local authorities or schools" in html
    assert len(_names(html)) == 5
    assert "Enter at most 100 characters to search for" in _get("/?q=" + "x" * 101).content.decode()


def test_a_page_at_a_time(db):
    for number in range(SITE_LIST_PAGE_SIZE + 5):
        InstitutionFactory(name=f"School {number:03}", slug=f"school-{number:03}")
    first = _get().content.decode()
    assert len(_names(first)) == SITE_LIST_PAGE_SIZE
    assert 'aria-label="Pages of sites"' in first
    second = _get("/?page=2").content.decode()
    assert _names(second) == [
        f"School {n:03}" for n in range(SITE_LIST_PAGE_SIZE, SITE_LIST_PAGE_SIZE + 5)
    ]
    past = _get("/?page=40").content.decode()
    assert "There are only 2 pages; showing the last." in past
    assert _names(past) == _names(second)


def _load_demo_sites():
    trust = TrustFactory(name="Oak Ridge Trust", slug="oak-ridge-trust", group_code=DEMO_TRUST_CODE)
    la = LocalAuthorityFactory(name="Northshire", slug="northshire", group_code=DEMO_LA_CODE)
    school = InstitutionFactory(
        name=DEMO_HEAD_SCHOOL, slug="oak-ridge-primary-school", trust_code=DEMO_TRUST_CODE
    )
    return trust, la, school


def test_the_demo_sites_come_first_once_the_demo_is_loaded(sites):
    trust, la, school = _load_demo_sites()
    # The register alone (no staff accounts yet): no demo section.
    assert "Demo sites" not in _get().content.decode()
    for site in (trust, la, school):
        StaffProfileFactory(site=site)
    html = _get().content.decode()
    assert _headings(html)[0] == "Demo sites"
    assert _names(html)[:3] == ["Oak Ridge Trust", "Northshire", DEMO_HEAD_SCHOOL]
    # Only on the unfiltered first page.
    assert "Demo sites" not in _get("/?q=ash").content.decode()
    assert "Demo sites" not in _get("/?kind=school").content.decode()


@pytest.mark.parametrize("count", [10, 100])
def test_the_list_takes_the_same_queries_for_10_and_100_sites(django_assert_num_queries, count):
    _load_demo_sites()
    for site in InstitutionFactory.create_batch(count):
        StaffProfileFactory(site=site)
    TrustFactory.create_batch(3)
    # The demo's sites, the page's count, its rows, and the counts per kind.
    with django_assert_num_queries(4):
        response = _get()
    assert response.status_code == 200
    with django_assert_num_queries(3):  # no demo section when searching
        _get("/?q=school")


@override_settings(LIST_SITES_ON_BASE_DOMAIN=False)
def test_production_lists_no_site(sites, django_assert_num_queries):
    with django_assert_num_queries(0):
        html = _get().content.decode()
    assert _names(html) == []
    assert "Search sites" not in html


def test_the_page_is_small(db):
    InstitutionFactory.create_batch(500)
    html = _get().content.decode()
    assert len(_names(html)) == SITE_LIST_PAGE_SIZE
    assert len(html) < 60_000


def test_with_the_demos_4000_establishments_the_first_page_is_small_and_starts_with_the_demo(
    django_assert_max_num_queries,
):
    import io

    from django.core.management import call_command

    call_command("seed_demo", mis_pupils=0, stdout=io.StringIO())
    with django_assert_max_num_queries(4):
        response = _get()
    html = response.content.decode()
    assert _headings(html) == ["Demo sites", "Trusts"]  # 60 of the 4,000 and more, a page
    assert _names(html)[:3] == ["Oak Ridge Trust", "Northshire", DEMO_HEAD_SCHOOL]
    assert len(_names(html)) == 3 + SITE_LIST_PAGE_SIZE
    print(f"site list, first page: {len(response.content):,} bytes")
    assert len(response.content) < 80_000  # it was 1.27 MB: every site on one page
