"""The incremental roll-up refresh: every writer's changes are noted by the marks' triggers,
the refresh reads only those (never the marks), and what it keeps always equals a full
recount from the marks, after inserts, amendments, deletions and COPY alike."""

import datetime
import random

import pytest
from django.db import connection

from matmis.db_roles import owner_role
from mis.codes import Session
from mis.models import AttendanceChange, AttendanceMark, AttendanceRollup, WeeklyAttendance
from mis.rollups import (
    CELL_FIELDS,
    rollups_recount_school,
    rollups_refresh_school,
    school_rollups_replace,
)
from mis.selectors import pupil_list, term_attendance
from tests.institutions.factories import SchoolFactory
from tests.mis.factories import PupilFactory, in_site, mark_days, school_days

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 25)  # a Wednesday of the autumn term 2026
# Three school weeks of November.
DAYS = school_days(datetime.date(2026, 11, 2), datetime.date(2026, 11, 20))
CODES = ["/", "\\", "L", "I", "M", "O", "G", "X", "#", "C"]


def pending(school, **filters) -> int:
    """The school's changes not yet taken by a refresh (read bound to the school)."""
    with in_site(school):
        return AttendanceChange.objects.filter(site=school, **filters).count()


def incremental_cells(school) -> list[tuple]:
    rows = AttendanceRollup.objects.filter(school=school).order_by(
        "year_group", "disadvantaged", "sen_provision"
    )
    return [
        (
            school.pk,
            row.year_group,
            row.disadvantaged,
            row.sen_provision,
            *(getattr(row, name) for name in CELL_FIELDS[3:]),
        )
        for row in rows
    ]


def weeks(school) -> dict:
    return {
        (row.week_start, row.year_group): (
            row.possible_sessions,
            row.present_sessions,
            row.authorised_sessions,
            row.unauthorised_sessions,
        )
        for row in WeeklyAttendance.objects.filter(site=school)
    }


def recounted_weeks(school, today) -> dict:
    """The school's weeks counted from its marks up to the day: the reference."""
    with in_site(school), connection.cursor() as cursor:
        cursor.execute(
            """SELECT m.date - (extract(isodow FROM m.date)::int - 1), p.year_group,
                      count(*) FILTER (WHERE m.category <> 4),
                      count(*) FILTER (WHERE m.category = 1),
                      count(*) FILTER (WHERE m.category = 2),
                      count(*) FILTER (WHERE m.category = 3)
               FROM mis_attendancemark m JOIN mis_pupil p ON p.id = m.pupil_id
               WHERE m.site_id = %s AND m.date <= %s GROUP BY 1, 2
               HAVING count(*) FILTER (WHERE m.category <> 4) > 0""",
            [school.pk, today],
        )
        return {(row[0], row[1]): tuple(row[2:]) for row in cursor.fetchall()}


def assert_matches_a_full_recount(school, today=TODAY):
    with in_site(school):
        expected = rollups_recount_school(school_id=school.pk, today=today)
    assert incremental_cells(school) == expected
    assert weeks(school) == recounted_weeks(school, today)


def _school_with_a_term(rng):
    school = SchoolFactory()
    pupils = [
        PupilFactory(
            site=school,
            year_group=rng.choice([3, 4]),
            disadvantaged=rng.random() < 0.3,
        )
        for _ in range(6)
    ]
    for pupil in pupils:
        mark_days(pupil, DAYS, [rng.choice(CODES) for _ in range(len(DAYS) * 2)])
    return school, pupils


def test_after_inserts_amendments_deletions_and_copy_the_figures_equal_a_full_recount():
    rng = random.Random(18)
    school, pupils = _school_with_a_term(rng)
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    assert_matches_a_full_recount(school)

    # Amendments (UPDATE of the code, one by one and in bulk), some with the same category.
    with in_site(school):
        for pupil in pupils[:3]:
            AttendanceMark.objects.filter(
                site=school, pupil=pupil, date=DAYS[0], session=Session.AM
            ).update(code="N")
        AttendanceMark.objects.filter(site=school, date__in=DAYS[5:7]).update(code="/")
        AttendanceMark.objects.filter(site=school, date=DAYS[8], code="/").update(code="B")
        # Deletions: a pupil's whole week, and every mark of one day.
        AttendanceMark.objects.filter(site=school, pupil=pupils[4], date__in=DAYS[10:]).delete()
        AttendanceMark.objects.filter(site=school, date=DAYS[2]).delete()
    # Marks put back for the deleted day by COPY, as the register import writes them (the
    # tables' owner: COPY FROM is refused to a role that Row-Level Security binds).
    with (
        owner_role(),
        connection.cursor() as cursor,
        cursor.copy(
            "COPY mis_attendancemark (site_id, pupil_id, date, session, code) FROM STDIN"
        ) as copy,
    ):
        for pupil in pupils:
            for session in ("AM", "PM"):
                copy.write_row((school.pk, pupil.pk, DAYS[2], session, rng.choice(CODES)))
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    assert_matches_a_full_recount(school)

    # A pupil's marks all deleted, then the pupil: their weeks and figures go.
    with in_site(school):
        AttendanceMark.objects.filter(site=school, pupil=pupils[5]).delete()
        pupils[5].delete()
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    assert_matches_a_full_recount(school)


def test_marks_dated_after_the_day_wait_and_count_on_their_day():
    rng = random.Random(7)
    school, pupils = _school_with_a_term(rng)
    later = datetime.date(2026, 11, 30)
    mark_days(pupils[0], [later], ["I", "I"])
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    assert_matches_a_full_recount(school)
    assert pending(school, date=later) == 1
    rollups_refresh_school(school_id=school.pk, today=later)
    assert_matches_a_full_recount(school, today=later)
    assert pending(school) == 0


def test_a_refresh_for_an_earlier_day_counts_that_day_from_the_marks():
    rng = random.Random(3)
    school, _pupils = _school_with_a_term(rng)
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    earlier = DAYS[6]
    rollups_refresh_school(school_id=school.pk, today=earlier)
    with in_site(school):
        assert incremental_cells(school) == rollups_recount_school(
            school_id=school.pk, today=earlier
        )


def _marks_read() -> int:
    """Rows of the marks' partitions read in this transaction so far."""
    with owner_role(), connection.cursor() as cursor:
        cursor.execute(
            """SELECT coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)
                                   + coalesce(seq_scan, 0) + coalesce(idx_scan, 0)), 0)
               FROM pg_stat_xact_user_tables WHERE relname LIKE 'mis_attendancemark%%'"""
        )
        return cursor.fetchone()[0]


def test_the_refresh_reads_only_the_changes_never_the_marks():
    rng = random.Random(11)
    school, pupils = _school_with_a_term(rng)
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    # One more day of registers for two pupils: 2 pupils x 1 day, AM and PM alike.
    day = datetime.date(2026, 11, 23)
    for pupil in pupils[:2]:
        mark_days(pupil, [day], ["/", "/"])
    assert pending(school) == 2

    before = _marks_read()
    with in_site(school):
        taken = school_rollups_replace(school_id=school.pk, today=TODAY)
    assert _marks_read() == before, "the refresh read the marks"
    assert taken == 2
    assert pending(school) == 0
    assert_matches_a_full_recount(school)


def test_an_amendment_to_the_same_category_leaves_no_change_to_count():
    school = SchoolFactory()
    pupil = PupilFactory(site=school)
    mark_days(pupil, DAYS[:1], ["/", "/"])
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    with in_site(school):
        AttendanceMark.objects.filter(site=school, pupil=pupil).update(code="L")  # present too
    assert pending(school) == 0


def test_the_students_page_counts_include_changes_not_yet_refreshed():
    school = SchoolFactory()
    pupil = PupilFactory(site=school)
    mark_days(pupil, DAYS[:2], ["/", "/", "/", "O"])
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    mark_days(pupil, DAYS[2:3], ["I", "I"])  # not refreshed yet
    with in_site(school):
        (read,) = pupil_list(site=school, today=TODAY)
        attendance = term_attendance(read)
    assert (attendance.present, attendance.authorised, attendance.unauthorised) == (3, 2, 1)
