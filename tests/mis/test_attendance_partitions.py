"""The attendance marks' layout for a national year: keyed (site, date, session, pupil),
partitioned by academic year with Row-Level Security on the parent and every partition,
and the next year's partition made ahead of time by a beat job the application may run."""

import datetime

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from mis.models import AttendanceMark
from mis.partitions import attendance_partitions, attendance_partitions_ensure
from mis.tasks import ensure_attendance_partitions
from tests.institutions.factories import SchoolFactory
from tests.mis.factories import PupilFactory, in_site, mark

pytestmark = pytest.mark.django_db


def _key_columns(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT a.attname FROM pg_index i
               JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
               WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY k.n""",
            [table],
        )
        return [name for (name,) in cursor.fetchall()]


def test_marks_are_keyed_by_site_date_session_pupil_in_the_database_and_the_orm():
    assert _key_columns("mis_attendancemark") == ["site_id", "date", "session", "pupil_id"]
    assert [f.attname for f in AttendanceMark._meta.pk_fields] == [
        "site_id",
        "date",
        "session",
        "pupil_id",
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = 'mis_attendancemark'::regclass")
        assert cursor.fetchone()[0] == "p"  # partitioned
        cursor.execute("SELECT pg_get_partkeydef('mis_attendancemark'::regclass)")
        assert cursor.fetchone()[0] == "RANGE (date)"


def test_each_partition_is_one_academic_year_with_row_level_security_forced():
    partitions = attendance_partitions()
    assert partitions
    for name, first, after in partitions:
        assert (first.month, first.day, after - first >= datetime.timedelta(365)) == (9, 1, True)
        assert name == f"mis_attendancemark_y{first.year}"
        assert after == first.replace(year=first.year + 1)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = %s",
                [name],
            )
            assert cursor.fetchone() == (True, True)
            cursor.execute("SELECT polname FROM pg_policy WHERE polrelid = %s::regclass", [name])
            assert [row[0] for row in cursor.fetchall()] == ["site_isolation"]


def test_the_application_reaches_marks_only_through_the_parent():
    (name, _first, _after) = attendance_partitions()[-1]
    with (
        pytest.raises(DatabaseError, match="permission denied"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"SELECT count(*) FROM {name}")  # noqa: S608 - a partition's name


def test_partitions_are_made_ahead_of_the_next_academic_year():
    # On the first day of the autumn term 2027, the 2028/29 partition is made a year ahead.
    day = datetime.date(2027, 9, 1)
    before = {name for name, _first, _after in attendance_partitions()}
    made = attendance_partitions_ensure(today=day)
    after = {name for name, _first, _after in attendance_partitions()}
    wanted = {"mis_attendancemark_y2027", "mis_attendancemark_y2028"}
    assert wanted <= after
    assert made == len(wanted - before) == len(after - before)
    assert attendance_partitions_ensure(today=day) == 0  # nothing more to make

    # A register of the next year's first day is then accepted, bound to its school.
    school = SchoolFactory()
    pupil = PupilFactory(site=school)
    mark(pupil, datetime.date(2028, 9, 4), "AM", "/")
    with in_site(school):
        assert AttendanceMark.objects.filter(site=school, date__year=2028).count() == 1


def test_the_beat_job_makes_next_years_partition_and_runs_daily():
    assert ensure_attendance_partitions.apply().get() >= 0
    today = datetime.date.today()
    after = max(after for _name, _first, after in attendance_partitions())
    # Next academic year's partition exists: it ends a year after next September at least.
    next_september = datetime.date(today.year + (today.month >= 9), 9, 1)
    assert after >= next_september.replace(year=next_september.year + 1)
    schedule = settings.CELERY_BEAT_SCHEDULE["mis-attendance-partitions-ensure"]
    assert schedule["task"] == "mis.attendance_partitions_ensure"
    assert schedule["schedule"] <= 86400


def test_the_partition_function_refuses_a_span_beyond_a_few_years():
    with (
        pytest.raises(DatabaseError, match="refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "SELECT mis_attendancemark_partitions_ensure(%s, %s)",
            [datetime.date(2026, 9, 1), datetime.date(2099, 9, 1)],
        )
