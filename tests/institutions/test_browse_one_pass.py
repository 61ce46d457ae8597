"""Browse reads its group's schools in one pass (``group_school_browse``) and must answer
exactly as the selectors the other pages use (``group_school_list``, ``group_school_facets``,
``group_school_type_names``) did: the same schools in the same order, the same total and
the same facet counts, on the sample register, for searches, filters and every sort."""

import itertools
from pathlib import Path

import pytest
from django.db.models import Count

from institutions.models import Cluster, ClusterMembership, GroupMembership, Institution
from institutions.register_import import register_import
from institutions.selectors import (
    RELEVANCE,
    SORTS,
    SchoolFilters,
    current_schools,
    group_school_browse,
    group_school_facets,
    group_school_list,
    group_school_type_names,
)
from matmis.db_roles import owner_role

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "gias-sample.csv"
SEARCHES = (None, "primary", "prmary scool", "st", "100", "Leeds", "LS1", "o'", "%", "zzzz")


@pytest.fixture
def sample_groups():
    """The sample register imported; its two largest groups, each with three clusters (a
    school in none, some in two)."""
    with SAMPLE.open("rb") as stream, owner_role():
        register_import(stream=stream)
    groups = list(
        Institution.objects.filter(kind__in=["la", "trust"])
        .annotate(n=Count("member_links"))
        .order_by("-n", "pk")[:2]
    )
    for group in groups:
        schools = list(current_schools(group=group).order_by("urn"))
        clusters = [Cluster.objects.create(group=group, name=n) for n in ("b", "A", "c")]
        ClusterMembership.objects.bulk_create(
            ClusterMembership(group=group, cluster=cluster, school=school)
            for n, school in enumerate(schools)
            for k, cluster in enumerate(clusters)
            if n % 4 == k or (n % 7 == 0 and k == 2)
        )
    return groups


def today_answer(group, filters: SchoolFilters, sort: str):
    schools = group_school_list(group=group, sort=sort, **filters.__dict__)
    return (
        [(s.pk, [c.pk for c in s.group_clusters]) for s in schools],
        schools.count(),
        group_school_facets(group=group, **filters.__dict__),
        group_school_type_names(group=group),
    )


def one_pass_answer(group, filters: SchoolFilters, sort: str):
    browse = group_school_browse(group=group, search=filters.search, sort=sort)
    matching = browse.matching(filters)
    rows = browse.page_schools(matching)
    return (
        [(s.pk, [c.pk for c in s.group_clusters]) for s in rows],
        len(matching),
        browse.facets(filters),
        browse.type_names,
    )


def test_the_one_pass_answers_as_the_selectors_did(sample_groups):
    checked = 0
    for group in sample_groups:
        assert GroupMembership.objects.filter(group=group).count() >= 5
        clusters = tuple(Cluster.objects.filter(group=group).values_list("pk", flat=True))
        types = tuple(group_school_type_names(group=group))[:2]
        filter_sets = [
            SchoolFilters(),
            SchoolFilters(phases=("Primary",)),
            SchoolFilters(phases=("Primary", "Secondary"), ofsted=("good", "none")),
            SchoolFilters(types=types, clusters=clusters[:1]),
            SchoolFilters(ofsted=("outstanding",), clusters=clusters[1:]),
        ]
        sorts = ["name", RELEVANCE, *SORTS]
        for search, base, sort in itertools.product(SEARCHES, filter_sets, sorts):
            filters = SchoolFilters(search, base.phases, base.types, base.ofsted, base.clusters)
            assert one_pass_answer(group, filters, sort) == today_answer(group, filters, sort), (
                group.name,
                filters,
                sort,
            )
            checked += 1
    assert checked == 2 * len(SEARCHES) * 5 * (2 + len(SORTS))


def test_the_search_is_computed_in_one_statement(sample_groups, django_assert_num_queries):
    """The pass: the group's clusters, then one statement over its schools."""
    with django_assert_num_queries(2):
        browse = group_school_browse(group=sample_groups[0], search="prmary", sort=RELEVANCE)
    assert browse.schools
