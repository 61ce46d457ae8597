"""Migration 0007 moves every attendance mark into the partitioned table without loss,
seeds the pupils' weekly totals from them, and goes back again."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from matmis.db_roles import grant_app_role, owner_role
from mis.models import AttendanceRollup
from mis.rollups import rollups_recount_school, rollups_refresh_school
from tests.institutions.factories import SchoolFactory
from tests.mis.factories import PupilFactory, in_site

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("mis", "0006_pupil_sex")]
AFTER = None  # every app at its latest migration, as the rest of the suite expects
CODES = ["/", "\\", "I", "O", "X", "#", "M", "L"]


def _migrate(targets):
    with owner_role():
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets if targets is not None else executor.loader.graph.leaf_nodes())
        grant_app_role()  # as migrate does after every run


def _all_marks() -> list[tuple]:
    with owner_role(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT site_id, pupil_id, date, session, code, category FROM mis_attendancemark "
            "ORDER BY 1, 2, 3, 4"
        )
        return cursor.fetchall()


def test_every_mark_moves_into_its_academic_years_partition_and_back():
    schools = [SchoolFactory(), SchoolFactory()]
    pupils = [PupilFactory(site=school) for school in schools for _ in range(3)]
    # Marks over two academic years and a day after today's (still waiting for its day).
    days = [datetime.date(2025, 7, 14), datetime.date(2026, 11, 2), datetime.date(2026, 11, 3)]
    future = datetime.date.today() + datetime.timedelta(days=3)
    _migrate(BEFORE)
    try:
        with owner_role(), connection.cursor() as cursor:
            rows = [
                (pupil.site_id, pupil.pk, day, session, CODES[(i + j) % len(CODES)])
                for i, pupil in enumerate(pupils)
                for j, (day, session) in enumerate(
                    (day, session) for day in [*days, future] for session in ("AM", "PM")
                )
            ]
            cursor.executemany(
                "INSERT INTO mis_attendancemark (site_id, pupil_id, date, session, code) "
                "VALUES (%s, %s, %s, %s, %s)",
                rows,
            )
        before = _all_marks()
        assert len(before) == len(pupils) * 8
    finally:
        _migrate(AFTER)

    assert _all_marks() == before
    with owner_role(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text, count(*) FROM mis_attendancemark GROUP BY 1"
        )
        by_partition = dict(cursor.fetchall())
        cursor.execute("SELECT count(*) FROM mis_attendancechange")
        waiting = cursor.fetchone()[0]
    assert by_partition["mis_attendancemark_y2024"] == len(pupils) * 2
    assert sum(by_partition.values()) == len(before)
    assert waiting >= 1  # the future day's marks wait for their day

    # The seeded totals give the figures a full recount gives.
    for school in schools:
        rollups_refresh_school(school_id=school.pk, today=datetime.date(2026, 11, 4))
        with in_site(school):
            expected = rollups_recount_school(school_id=school.pk, today=datetime.date(2026, 11, 4))
            assert AttendanceRollup.objects.filter(school=school).count() == len(expected)

    # And back: the unpartitioned table with the old key holds the same marks.
    _migrate(BEFORE)
    try:
        assert _all_marks() == before
    finally:
        _migrate(AFTER)
    assert _all_marks() == before
