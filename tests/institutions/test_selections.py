"""The readers of a bulk selection (ticked schools by URN, clusters by id): the pages and
the API ask the same ones, so an id that is not the group's is the same 404 everywhere."""

import pytest
from django.http import Http404

from institutions.selectors import clusters_for_selection, malformed_urns, schools_for_selection
from tests.accounts.factories import another_trust, closed_school, departed_school
from tests.institutions.factories import ClusterFactory, add_school

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(trust):
    other = another_trust()
    return {
        "ash": add_school(trust, name="Ash Primary", urn="100001"),
        "beech": add_school(trust, name="Beech Primary", urn="100002"),
        "closed": closed_school(trust, name="Closed Primary", urn="100003"),
        "departed": departed_school(trust, name="Departed Primary", urn="100004"),
        "foreign": add_school(other, name="Elsewhere Primary", urn="200001"),
        "north": ClusterFactory(group=trust, name="North"),
        "east": ClusterFactory(group=trust, name="east"),
        "their": ClusterFactory(group=other, name="Theirs"),
    }


def test_the_groups_current_schools_by_name_once_each(trust, world):
    chosen = schools_for_selection(group=trust, urns=["100002", "100001", "100002"])
    assert chosen == [world["ash"], world["beech"]]
    assert schools_for_selection(group=trust, urns=[]) == []


@pytest.mark.parametrize("urn", ["200001", "100003", "100004", "999999", "10001", "oak", None])
def test_any_other_urn_is_a_404(trust, world, urn):
    with pytest.raises(Http404) as raised:
        schools_for_selection(group=trust, urns=["100001", urn])
    assert str(raised.value) == "No such school in this group."


def test_malformed_urns_are_told_apart_from_foreign_ones():
    assert malformed_urns(["100001", "200001", "10001", "1000011", "oak", 100001]) == [
        "10001",
        "1000011",
        "oak",
        "100001",
    ]


def test_the_groups_clusters_by_name_once_each(trust, world):
    ids = [world["north"].pk, world["east"].pk, world["north"].pk]
    assert clusters_for_selection(group=trust, cluster_ids=ids) == [world["east"], world["north"]]
    assert clusters_for_selection(group=trust, cluster_ids=[]) == []


@pytest.mark.parametrize("other", ["their", "missing", "junk"])
def test_any_other_cluster_is_a_404(trust, world, other):
    cluster_id = {"their": world["their"].pk, "missing": 0, "junk": "x"}[other]
    with pytest.raises(Http404) as raised:
        clusters_for_selection(group=trust, cluster_ids=[world["north"].pk, cluster_id])
    assert str(raised.value) == "No such cluster in this group."
