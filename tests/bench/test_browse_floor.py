"""The Browse bench's floor (hand-written SQL through psycopg) fetches exactly the data the
page's selectors give, so the ratio it reports compares like with like; and the scenario
keeps working as the schema and the selectors change."""

import pytest
from django.db import connection

from bench.scenarios import browse
from tests.factories import LocalAuthorityFactory
from tests.institutions.test_browse_scale import build_group

pytestmark = pytest.mark.django_db


def test_the_raw_sql_returns_what_the_selectors_return():
    group = build_group(LocalAuthorityFactory(), 120, clusters=4)
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:  # psycopg's own, in the test transaction
        floor = browse.fetch_floor(cursor, browse.floor_parameters(group.pk))
    orm = browse.orm_page_data(group)

    assert 0 < len(floor.rows) == min(floor.total, browse.PAGE_SIZE)
    assert any(clusters for _urn, clusters in floor.rows)
    assert set(floor.facets["cluster"].values()) != {0}
    browse.check_same_data(floor, orm)


def test_a_difference_is_an_error():
    same = browse.PageData(rows=[("100001", ["North"])], total=1, facets={"phase": {"P": 1}})
    browse.check_same_data(same, same)
    other = browse.PageData(rows=[("100001", [])], total=1, facets={"phase": {"P": 1}})
    with pytest.raises(AssertionError):
        browse.check_same_data(other, same)
