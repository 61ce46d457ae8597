"""Browse Institutions costs the same queries for a group of 5 schools and of 600.

The issue's "done when": query counts equal for a page of a group of 5 and of 600 schools.
The 600 are written with ``bulk_create`` (a few hundred milliseconds), as a local
authority's register would give them: open schools of several phases, types and Ofsted
grades, six clusters of about 60 with some schools in two, a third in none.
"""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from institutions.models import (
    Cluster,
    ClusterMembership,
    GroupMembership,
    Institution,
    InstitutionKind,
    Status,
)
from tests.factories import LocalAuthorityFactory, TrustFactory
from tests.institutions.factories import group_staff

pytestmark = pytest.mark.django_db

URL = "/institutions/"
API = "/api/v1/institutions/"

# Each school takes the next of each cycle, so the first school of any group is an open
# primary school rated good with "Primary" in its name: the search below finds it in both.
NAMES = ("Primary School", "Academy", "Infant School", "High School", "Primary Academy")
PHASES = ("Primary", "Secondary", "Primary", "All-through", "Nursery", "Primary", "16 plus")
GRADES = ("good", "outstanding", "", "requires_improvement", "good", "inadequate")
TYPES = ("Academy converter", "Community school", "Academy sponsor led", "Foundation school")
STATUSES = (Status.OPEN,) * 9 + (Status.OPEN_PROPOSED_TO_CLOSE,)
TOWNS = ("Leeds", "Bradford", "York", "Wakefield")

FILTERED = {"q": "primary", "phase": "Primary", "ofsted": ["good", "outstanding"]}
FILTERED_BY_CLUSTER = {**FILTERED, "sort": "cluster"}

_urns = itertools.count(700_000)


def build_group(group: Institution, size: int, *, clusters: int) -> Institution:
    """``size`` current schools of ``group``, in ``clusters`` clusters, all in a few queries."""
    schools = []
    for n in range(size):
        urn = f"{next(_urns):06d}"
        schools.append(
            Institution(
                kind=InstitutionKind.SCHOOL,
                name=f"{TOWNS[n % len(TOWNS)]} {n:03d} {NAMES[n % len(NAMES)]}",
                slug=f"scale-school-{urn}",
                urn=urn,
                status=STATUSES[n % len(STATUSES)],
                phase=PHASES[n % len(PHASES)],
                type_name=TYPES[n % len(TYPES)],
                ofsted_grade=GRADES[n % len(GRADES)],
                town=TOWNS[n % len(TOWNS)],
                postcode=f"LS{1 + n % 20} {n % 10}AB",
                pupils=100 + n,
            )
        )
    Institution.objects.bulk_create(schools)
    GroupMembership.objects.bulk_create(
        GroupMembership(group=group, school=school) for school in schools
    )
    made = Cluster.objects.bulk_create(
        Cluster(group=group, name=f"Area {chr(ord('A') + k)}") for k in range(clusters)
    )
    links = set()
    slots = clusters + clusters // 2  # a third of the schools in no cluster
    for n, school in enumerate(schools):
        if n % slots < clusters:
            links.add((made[n % slots].pk, school.pk))
        if n % 7 == 0:  # and some in a second one
            links.add((made[(n // 7) % clusters].pk, school.pk))
    ClusterMembership.objects.bulk_create(
        ClusterMembership(group=group, cluster_id=cluster, school_id=school)
        for cluster, school in sorted(links)
    )
    return group


@pytest.fixture
def groups():
    """A local authority of 600 schools and a trust of 5, each with a staff member."""
    large = build_group(LocalAuthorityFactory(), 600, clusters=6)
    small = build_group(TrustFactory(), 5, clusters=2)
    return [(large, group_staff(large)), (small, group_staff(small))]


def queries(client, url: str, params: dict):
    """The number of queries of the second request (the first settles the session's
    two-factor check), and its response."""
    client.get(url, params)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, response.content[:500]
    return len(captured), response


def measure(site_client, groups, url: str, params: dict, **headers) -> list[int]:
    """Queries of the same request for each group, asked by its staff member."""
    counts = []
    for group, staff in groups:
        client = site_client(group, staff)
        client.defaults.update(headers)
        count, response = queries(client, url, params)
        if headers.get("HTTP_HX_REQUEST") == "true":
            assert "HX-Push-Url" in response, "not the htmx partial"
        counts.append(count)
    return counts


def test_the_groups_are_what_they_claim(groups):
    from institutions.selectors import current_schools, group_school_list

    (large, _), (small, _) = groups
    assert current_schools(group=large).count() == 600
    assert current_schools(group=small).count() == 5
    # The filtered page matches several pages of the large group and a row of the small.
    assert group_school_list(group=large, search="primary", phases=["Primary"]).count() > 50
    found = group_school_list(
        group=small, search="primary", phases=["Primary"], ofsted=["good", "outstanding"]
    )
    assert found.count() >= 1


@pytest.mark.parametrize(
    "params",
    [{}, FILTERED_BY_CLUSTER, {**FILTERED, "page": "2"}],
    ids=["no-filters", "search-2-filters-sort-cluster", "search-2-filters-page-2"],
)
def test_the_page_costs_the_same_queries_for_5_and_600_schools(site_client, groups, params):
    large, small = measure(site_client, groups, URL, params)
    assert large == small, f"600 schools: {large} queries, 5 schools: {small}"


def test_the_htmx_partial_costs_the_same_queries_for_5_and_600_schools(site_client, groups):
    large, small = measure(site_client, groups, URL, FILTERED_BY_CLUSTER, HTTP_HX_REQUEST="true")
    assert large == small, f"600 schools: {large} queries, 5 schools: {small}"


@pytest.mark.parametrize("params", [{}, FILTERED_BY_CLUSTER], ids=["no-filters", "filtered"])
def test_the_api_list_costs_the_same_queries_for_5_and_600_schools(site_client, groups, params):
    large, small = measure(site_client, groups, API, params)
    assert large == small, f"600 schools: {large} queries, 5 schools: {small}"


# Browse reads its group in one pass: the clusters, the pass over the schools, the page's
# rows and their sharing status; the rest is the session, the person and the site. It ran
# 17 queries before the pass (types, clusters, count, rows, prefetch, two facet queries).
BROWSE_QUERIES = 13


def test_the_page_runs_fewer_queries_than_before_the_one_pass(site_client, groups):
    assert measure(site_client, groups, URL, FILTERED) == [BROWSE_QUERIES] * 2
    assert (
        measure(site_client, groups, URL, FILTERED, HTTP_HX_REQUEST="true") == [BROWSE_QUERIES] * 2
    )
