"""Browse Institutions: selectors (search, filters, facets, sort) and the page."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from institutions.models import GroupMembership, Status
from institutions.selectors import group_school_facets, group_school_list
from tests.conftest import SITE_SCOPE_QUERIES
from tests.factories import StaffProfileFactory, TrustFactory
from tests.institutions.factories import (
    ClusterFactory,
    add_school,
    group_staff,
    outsider,
    put_in_cluster,
)

pytestmark = pytest.mark.django_db

URL = "/institutions/"


@pytest.fixture
def schools(trust):
    """Five current schools of the trust, two clusters, and schools that must never show:
    a closed one, one that left, and another trust's (with its own cluster)."""
    st_marys = add_school(
        trust,
        name="St Mary’s Church of England Primary School",
        urn="100001",
        phase="Primary",
        type_name="Voluntary aided school",
        ofsted_grade="good",
        ofsted_rating_published="Good",
        town="Leeds",
        postcode="LS1 4AB",
    )
    oak_ridge = add_school(
        trust,
        name="Oak Ridge Primary School",
        urn="100002",
        phase="Primary",
        type_name="Academy converter",
        ofsted_grade="outstanding",
        town="Leeds",
        postcode="LS10 2CD",
    )
    westbrook = add_school(
        trust,
        name="Westbrook Academy",
        urn="100003",
        phase="Secondary",
        type_name="Academy converter",
        ofsted_grade="",
        ofsted_last_inspection=datetime.date(2025, 12, 3),
        ofsted_report_card={"Quality of education": "Strong standard", "Safeguarding": "Met"},
        town="Bradford",
        postcode="BD1 1AA",
    )
    hazelwood = add_school(
        trust,
        name="Hazelwood Infant School",
        urn="100004",
        phase="Primary",
        type_name="Academy sponsor led",
        town="York",
        postcode="YO1 7HH",
    )
    millbrook = add_school(
        trust,
        name="Millbrook High School",
        urn="100005",
        phase="Secondary",
        type_name="Academy sponsor led",
        ofsted_grade="requires_improvement",
        town="Wakefield",
        postcode="WF1 2AB",
    )
    north = ClusterFactory(group=trust, name="North")
    south = ClusterFactory(group=trust, name="South")
    put_in_cluster(north, st_marys, oak_ridge)
    put_in_cluster(south, oak_ridge, westbrook)

    add_school(trust, name="St Mary’s Closed Primary", urn="100006", status=Status.CLOSED)
    gone = add_school(trust, name="St Mary’s Departed Primary", urn="100007")
    GroupMembership.objects.filter(school=gone).update(left_on=datetime.date(2025, 8, 31))
    other_trust = TrustFactory(name="Elsewhere Trust")
    foreign = add_school(
        other_trust, name="St Mary’s Elsewhere Primary", urn="200001", postcode="LS1 4AB"
    )
    foreign_cluster = ClusterFactory(group=other_trust, name="Elsewhere cluster")
    put_in_cluster(foreign_cluster, foreign)
    return {
        "st_marys": st_marys,
        "oak_ridge": oak_ridge,
        "westbrook": westbrook,
        "hazelwood": hazelwood,
        "millbrook": millbrook,
        "north": north,
        "south": south,
        "foreign": foreign,
        "foreign_cluster": foreign_cluster,
    }


def urns(queryset) -> list[str]:
    return [school.urn for school in queryset]


def row_urns(html: str) -> list[str]:
    """The URNs of the table rows, in order."""
    return re.findall(r'<th scope="row">\s*<a href="/institutions/(\d{6})/">', html)


# --- Search --------------------------------------------------------------------------------


class TestSearch:
    @pytest.mark.parametrize("query", ["st marys", "St Mary's", "ST MARY’S", "  st   marys "])
    def test_finds_a_name_whatever_the_apostrophe_and_case(self, trust, schools, query):
        assert urns(group_school_list(group=trust, search=query)) == ["100001"]

    def test_tolerates_typos_and_ranks_the_best_match_first(self, trust, schools):
        found = urns(group_school_list(group=trust, search="oak rdge", sort="relevance"))
        assert found[0] == "100002"
        assert urns(group_school_list(group=trust, search="hazelwod")) == ["100004"]

    def test_ranking_by_similarity(self, trust, schools):
        found = urns(group_school_list(group=trust, search="primary school", sort="relevance"))
        # Each name containing the words matches; an exact word match ranks high.
        assert set(found) >= {"100001", "100002"}

    def test_by_urn(self, trust, schools):
        assert urns(group_school_list(group=trust, search="100003")) == ["100003"]

    @pytest.mark.parametrize("query", ["LS1 4AB", "ls14ab", "ls1 4ab", " LS1  4AB "])
    def test_by_full_postcode_ignoring_spaces_and_case(self, trust, schools, query):
        assert urns(group_school_list(group=trust, search=query)) == ["100001"]

    def test_by_postcode_prefix(self, trust, schools):
        assert urns(group_school_list(group=trust, search="ls1")) == ["100002", "100001"]
        assert urns(group_school_list(group=trust, search="bd1")) == ["100003"]

    @pytest.mark.parametrize("query", ["bradford", "BRADFORD", "Bradford"])
    def test_by_town_ignoring_case(self, trust, schools, query):
        assert urns(group_school_list(group=trust, search=query)) == ["100003"]

    def test_never_finds_other_groups_closed_or_departed_schools(self, trust, schools):
        found = urns(group_school_list(group=trust, search="st marys"))
        assert "200001" not in found  # another trust's St Mary's
        assert "100006" not in found  # closed
        assert "100007" not in found  # left the trust
        assert urns(group_school_list(group=trust, search="200001")) == []

    def test_nothing_found(self, trust, schools):
        assert urns(group_school_list(group=trust, search="zzzz qqqq")) == []


# --- Filters, facets, sort ----------------------------------------------------------------


class TestFilters:
    def test_phase(self, trust, schools):
        found = group_school_list(group=trust, phases=["Secondary"])
        assert urns(found) == ["100005", "100003"]

    def test_type(self, trust, schools):
        found = group_school_list(group=trust, types=["Academy sponsor led"])
        assert urns(found) == ["100004", "100005"]

    def test_ofsted_grade(self, trust, schools):
        assert urns(group_school_list(group=trust, ofsted=["outstanding", "good"])) == [
            "100002",
            "100001",
        ]

    def test_ofsted_none_means_no_single_grade(self, trust, schools):
        # The report-card school and the never-inspected one: neither has a single grade.
        assert urns(group_school_list(group=trust, ofsted=["none"])) == ["100004", "100003"]

    def test_cluster_any_of(self, trust, schools):
        north, south = schools["north"], schools["south"]
        assert urns(group_school_list(group=trust, clusters=[north.pk])) == ["100002", "100001"]
        both = group_school_list(group=trust, clusters=[north.pk, south.pk])
        assert urns(both) == ["100002", "100001", "100003"]  # Oak Ridge once

    def test_another_groups_cluster_matches_nothing(self, trust, schools):
        assert urns(group_school_list(group=trust, clusters=[schools["foreign_cluster"].pk])) == []

    def test_filters_combine(self, trust, schools):
        found = group_school_list(
            group=trust, phases=["Primary"], clusters=[schools["south"].pk], search="oak"
        )
        assert urns(found) == ["100002"]


def counts(options) -> dict[str, int]:
    return {option.label: option.count for option in options}


class TestFacets:
    def test_counts_without_filters(self, trust, schools):
        facets = group_school_facets(group=trust)
        assert counts(facets["phase"]) == {"Primary": 3, "Secondary": 2}
        assert counts(facets["type"]) == {
            "Academy converter": 2,
            "Academy sponsor led": 2,
            "Voluntary aided school": 1,
        }
        assert counts(facets["ofsted"]) == {
            "Outstanding": 1,
            "Good": 1,
            "Requires improvement": 1,
            "No single grade (not inspected or report card)": 2,
        }
        assert counts(facets["cluster"]) == {"North": 2, "South": 2}  # never another group's

    def test_each_facet_counts_with_the_other_filters(self, trust, schools):
        facets = group_school_facets(group=trust, phases=["Primary"])
        assert counts(facets["phase"]) == {"Primary": 3, "Secondary": 2}  # its own: unchanged
        assert counts(facets["type"]) == {
            "Academy converter": 1,
            "Academy sponsor led": 1,
            "Voluntary aided school": 1,
        }
        assert counts(facets["ofsted"])["Requires improvement"] == 0
        assert counts(facets["ofsted"])["No single grade (not inspected or report card)"] == 1
        assert counts(facets["cluster"]) == {"North": 2, "South": 1}

        facets = group_school_facets(
            group=trust, phases=["Primary"], clusters=[schools["south"].pk]
        )
        assert counts(facets["phase"]) == {"Primary": 1, "Secondary": 1}
        assert counts(facets["type"]) == {
            "Academy converter": 1,
            "Academy sponsor led": 0,
            "Voluntary aided school": 0,
        }
        assert counts(facets["cluster"]) == {"North": 2, "South": 1}
        selected = [option.label for option in facets["cluster"] if option.selected]
        assert selected == ["South"]

    def test_counts_follow_the_search(self, trust, schools):
        facets = group_school_facets(group=trust, search="leeds")
        assert counts(facets["phase"]) == {"Primary": 2, "Secondary": 0}

    def test_in_a_constant_number_of_queries(self, trust, schools, django_assert_num_queries):
        with django_assert_num_queries(2):
            group_school_facets(group=trust, search="st", phases=["Primary"], ofsted=["none"])


class TestSort:
    def test_by_name_both_ways(self, trust, schools):
        by_name = ["100004", "100005", "100002", "100001", "100003"]
        assert urns(group_school_list(group=trust, sort="name")) == by_name
        assert urns(group_school_list(group=trust, sort="-name")) == by_name[::-1]

    def test_by_phase_in_school_order(self, trust, schools):
        assert urns(group_school_list(group=trust, sort="phase")) == [
            "100004",
            "100002",
            "100001",
            "100005",
            "100003",
        ]
        assert urns(group_school_list(group=trust, sort="-phase")) == [
            "100005",
            "100003",
            "100004",
            "100002",
            "100001",
        ]

    def test_by_cluster_with_schools_in_none_last(self, trust, schools):
        # Oak Ridge is in North and South: it sorts by North, its first.
        assert urns(group_school_list(group=trust, sort="cluster")) == [
            "100002",
            "100001",
            "100003",
            "100004",
            "100005",
        ]
        assert urns(group_school_list(group=trust, sort="-cluster")) == [
            "100003",
            "100002",
            "100001",
            "100004",
            "100005",
        ]


# --- The page ----------------------------------------------------------------------------------


class TestPermissionLadder:
    def test_anonymous_goes_to_sign_in(self, site_client, trust, schools):
        response = site_client(trust).get(URL)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/sign-in/")

    def test_staff_of_another_trust_get_not_found(self, site_client, trust, schools):
        response = site_client(trust, outsider()).get(URL)
        assert response.status_code == 404
        assert "St Mary’s" not in response.content.decode()

    def test_staff_of_the_group_without_any_role_browse(self, site_client, trust, schools):
        response = site_client(trust, group_staff(trust)).get(URL)
        assert response.status_code == 200
        assert row_urns(response.content.decode()) == [
            "100004",
            "100005",
            "100002",
            "100001",
            "100003",
        ]

    def test_a_school_site_has_no_such_page(self, site_client, schools):
        school = schools["st_marys"]
        head = StaffProfileFactory(site=school).user
        assert site_client(school, head).get(URL).status_code == 404


class TestPage:
    def test_table_shows_each_schools_facts(self, site_client, trust, schools):
        html = site_client(trust, group_staff(trust)).get(URL).content.decode()
        assert '<a href="/institutions/100001/">St Mary’s Church of England Primary School</a>' in (
            html
        )
        row = html[html.index("/institutions/100003/") :]
        row = row[: row.index("</tr>")]
        assert "Westbrook Academy" in row
        assert "Bradford, BD1 1AA" in row
        assert "Secondary" in row
        assert "Academy converter" in row
        assert "No single grade" in row  # a report card: no pretend single grade
        assert '<span class="mm-cluster-tag">South</span>' in row
        assert "No agreement" in row  # data sharing status (sharing.selectors)
        hazelwood = html[html.index("/institutions/100004/") :]
        assert "Not inspected" in hazelwood[: hazelwood.index("</tr>")]
        oak = html[html.index("/institutions/100002/") :]
        oak = oak[: oak.index("</tr>")]
        assert "Outstanding" in oak
        assert oak.index(">North<") < oak.index(">South<")
        assert "Elsewhere" not in html
        assert "<strong>5</strong> schools" in html

    def test_works_without_javascript(self, site_client, trust, schools):
        response = site_client(trust, group_staff(trust)).get(URL)
        html = response.content.decode()
        assert (
            '<form class="mm-browse__form" id="browse-form" method="get" action="/institutions/"'
            in (html)
        )
        assert 'name="q" type="search" form="browse-form"' in html
        assert '<button type="submit" form="browse-form"' in html
        assert 'name="sort" value="" form="browse-form" disabled' in html
        assert "<fieldset" in html and "<legend" in html
        assert 'aria-live="polite"' in html
        assert "<script>" not in html and ' style="' not in html
        assert "unsafe-inline" not in response["Content-Security-Policy"]

    def test_search_filters_and_sort_come_from_the_query_string(self, site_client, trust, schools):
        client = site_client(trust, group_staff(trust))
        html = client.get(URL, {"q": "st marys"}).content.decode()
        assert row_urns(html) == ["100001"]
        assert "matching “st marys”" in html
        html = client.get(URL, {"phase": "Secondary", "sort": "-name"}).content.decode()
        assert row_urns(html) == ["100003", "100005"]
        assert 'aria-sort="descending"' in html
        assert 'value="Secondary" checked' in html
        html = client.get(URL, {"ofsted": "none"}).content.decode()
        assert row_urns(html) == ["100004", "100003"]
        html = client.get(URL, {"cluster": schools["north"].pk}).content.decode()
        assert row_urns(html) == ["100002", "100001"]
        html = client.get(URL, {"type": "Voluntary aided school"}).content.decode()
        assert row_urns(html) == ["100001"]

    def test_facet_counts_on_the_page(self, site_client, trust, schools):
        html = site_client(trust, group_staff(trust)).get(URL, {"phase": "Primary"}).content
        html = html.decode()
        chip = html[html.index('value="Voluntary aided school"') :]
        assert re.match(
            r'[^<]*>\s*<span class="mm-chip__label">Voluntary aided school</span>\s*'
            r'<span class="mm-chip__count">1<',
            chip,
        )
        secondary = html[html.index('value="Secondary"') :]
        assert '<span class="mm-chip__count">2<' in secondary[:300]

    def test_sort_links_toggle_and_keep_filters(self, site_client, trust, schools):
        html = (
            site_client(trust, group_staff(trust))
            .get(URL, {"phase": "Primary", "sort": "name"})
            .content.decode()
        )
        assert 'href="?phase=Primary&amp;sort=-name"' in html
        assert 'href="?phase=Primary&amp;sort=phase"' in html
        assert 'aria-sort="ascending"' in html

    def test_unrecognised_values_are_reported_and_left_out(self, site_client, trust, schools):
        client = site_client(trust, group_staff(trust))
        response = client.get(
            URL,
            {
                "phase": ["Primary", "Bogus"],
                "ofsted": "brilliant",
                "cluster": [str(schools["foreign_cluster"].pk), "not-a-number"],
                "sort": "shoe-size",
            },
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert "“Bogus” is not a phase of education." in html
        assert "These parts were left out" in html
        assert "“brilliant” is not an Ofsted grade" in html
        assert f"“{schools['foreign_cluster'].pk}” is not one of this group’s clusters" in html
        assert "“not-a-number” is not one of this group’s clusters" in html
        assert "That is not a way to sort this list." in html
        # Primary still applies; nothing of the other trust shows.
        assert row_urns(html) == ["100004", "100002", "100001"]
        assert "Elsewhere" not in html
        # Links from here leave the unrecognised values behind.
        assert "Bogus" not in html[html.index('id="browse-results"') :]

    def test_a_long_search_is_refused_politely(self, site_client, trust, schools):
        html = site_client(trust, group_staff(trust)).get(URL, {"q": "x" * 101}).content
        assert "Search for 100 characters or fewer." in html.decode()
        assert len(row_urns(html.decode())) == 5

    def test_htmx_gets_the_results_and_out_of_band_updates(self, site_client, trust, schools):
        response = site_client(trust, group_staff(trust)).get(
            URL, {"q": "leeds"}, HTTP_HX_REQUEST="true"
        )
        html = response.content.decode()
        assert "<html" not in html and "<header" not in html
        assert html.lstrip().startswith('<div class="mm-browse__results" id="browse-results">')
        assert row_urns(html) == ["100002", "100001"]
        assert '<div class="mm-filters" id="browse-filters" hx-swap-oob="true">' in html
        assert '<span id="browse-count" hx-swap-oob="innerHTML">' in html
        assert "HX-Request" in response["Vary"]
        assert response["HX-Push-Url"] == "/institutions/?q=leeds"

    def test_htmx_pushes_the_view_as_understood(self, site_client, trust, schools):
        response = site_client(trust, group_staff(trust)).get(
            URL, {"q": "", "phase": ["Primary", "Bogus"], "page": "1"}, HTTP_HX_REQUEST="true"
        )
        assert response["HX-Push-Url"] == "/institutions/?phase=Primary"
        response = site_client(trust, group_staff(trust)).get(
            URL, {"q": ""}, HTTP_HX_REQUEST="true"
        )
        assert response["HX-Push-Url"] == "/institutions/"

    def test_htmx_history_restore_gets_the_whole_page(self, site_client, trust, schools):
        html = (
            site_client(trust, group_staff(trust))
            .get(URL, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
            .content.decode()
        )
        assert "<html" in html

    def test_form_is_wired_for_htmx(self, site_client, trust, schools):
        html = site_client(trust, group_staff(trust)).get(URL).content.decode()
        wrapper = html[html.index('<div class="mm-browse"') :]
        wrapper = wrapper[: wrapper.index(">")]
        assert 'hx-target="#browse-results"' in wrapper
        assert 'hx-push-url="true"' in wrapper
        form = html[html.index('<form class="mm-browse__form"') :]
        form = form[: form.index(">")]
        assert 'hx-get="/institutions/"' in form
        assert "input changed delay:400ms from:#browse-q" in form
        assert 'role="search"' in html

    def test_menu_marks_only_the_current_page(self, site_client, trust, schools):
        html = site_client(trust, group_staff(trust)).get(URL).content.decode()
        assert ">Institutions</a>" in html
        assert re.search(r'href="/institutions/" aria-current="page">Browse Institutions', html)
        assert re.search(r'href="/institutions/clusters/">Clusters', html)


class TestPagination:
    @pytest.fixture
    def many(self, trust):
        for n in range(55):
            add_school(trust, name=f"Primary {n:02d}", phase="Primary")
        for n in range(3):
            add_school(trust, name=f"Secondary {n:02d}", phase="Secondary")

    def test_fifty_a_page_and_links_keep_the_filters(self, site_client, trust, many):
        client = site_client(trust, group_staff(trust))
        html = client.get(URL, {"phase": "Primary"}).content.decode()
        assert len(row_urns(html)) == 50
        assert "Showing <strong>1</strong> to <strong>50</strong> of <strong>55</strong>" in html
        assert 'href="?phase=Primary&amp;page=2" rel="next"' in html
        assert 'class="govuk-pagination' in html
        html = client.get(URL, {"phase": "Primary", "page": "2"}).content.decode()
        assert len(row_urns(html)) == 5
        assert "Primary 54" in html
        assert "Secondary 00" not in html
        assert 'aria-current="page"' in html
        assert 'href="?phase=Primary" rel="prev"' in html

    def test_a_page_out_of_range_shows_the_last(self, site_client, trust, many):
        html = site_client(trust, group_staff(trust)).get(URL, {"page": "99"}).content.decode()
        assert len(row_urns(html)) == 8
        html = site_client(trust, group_staff(trust)).get(URL, {"page": "x"}).content.decode()
        assert len(row_urns(html)) == 50


# --- Query counts do not grow with the group --------------------------------------------------


def build_group(size: int):
    group = TrustFactory()
    clusters = [ClusterFactory(group=group, name=f"Area {n}") for n in range(3)]
    phases = ["Primary", "Secondary", "All-through"]
    grades = ["good", "outstanding", "", "requires_improvement"]
    for n in range(size):
        school = add_school(
            group,
            name=f"School {n:03d} of {group.slug}",
            phase=phases[n % 3],
            ofsted_grade=grades[n % 4],
            type_name=f"Type {n % 5}",
        )
        put_in_cluster(clusters[n % 3], school)
        if n % 4 == 0:
            put_in_cluster(clusters[(n + 1) % 3], school)
    return group, clusters, group_staff(group)


def count_queries(client, url, params) -> int:
    client.get(url, params)  # warm: session and site look-ups settle
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": "school", "phase": ["Primary", "Secondary"], "ofsted": ["good", "none"]},
        {"cluster": "CLUSTER", "sort": "cluster"},
        {"sort": "-phase", "page": "2"},
    ],
)
def test_the_page_costs_the_same_queries_for_5_and_60_schools(site_client, params):
    measured = []
    for size in (5, 60):
        group, clusters, staff = build_group(size)
        query = {k: (str(clusters[0].pk) if v == "CLUSTER" else v) for k, v in params.items()}
        measured.append(count_queries(site_client(group, staff), URL, query))
    assert measured[0] == measured[1], measured
    assert measured[0] <= 14 + SITE_SCOPE_QUERIES, measured


def test_htmx_fragment_costs_the_same_queries_for_5_and_60_schools(site_client):
    measured = []
    for size in (5, 60):
        group, _clusters, staff = build_group(size)
        client = site_client(group, staff)
        client.defaults["HTTP_HX_REQUEST"] = "true"
        measured.append(count_queries(client, URL, {"q": "school"}))
    assert measured[0] == measured[1], measured


def test_clear_search_and_filters_goes_back_to_browse(site_client, trust, trust_staff):
    html = site_client(trust, trust_staff).get("/institutions/", {"q": "zzz"}).content.decode()
    assert 'mm-filters__clear" href="/institutions/"' in html
