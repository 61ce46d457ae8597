"""The weekly snapshots the roll-up refresh keeps (``mis.WeeklyAttendance``): counts by
week and year group from the marks, recounted when marks are added or amended later, a
backfill of earlier weeks on a school's first refresh, and writes bound to the school."""

import datetime

import pytest
from django.db import connection, transaction

from matmis.tenancy import site_scope
from mis.models import AttendanceMark, WeeklyAttendance
from mis.rollups import rollups_refresh_school
from tests.institutions.factories import SchoolFactory
from tests.mis.factories import PupilFactory, in_site, mark, mark_days, school_days

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 25)  # a Wednesday of the autumn term 2026
WEEK_1 = school_days(datetime.date(2026, 11, 9), datetime.date(2026, 11, 13))
WEEK_2 = school_days(datetime.date(2026, 11, 16), datetime.date(2026, 11, 20))
MONDAY_1, MONDAY_2 = datetime.date(2026, 11, 9), datetime.date(2026, 11, 16)


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


def test_counts_by_week_and_year_group():
    school = SchoolFactory()
    year_3 = PupilFactory(site=school, year_group=3)
    other_3 = PupilFactory(site=school, year_group=3)
    year_5 = PupilFactory(site=school, year_group=5)
    # Week 1, year 3: 20 sessions; one illness (I), one unauthorised (O), two closure (#,
    # not a possible session): possible 10 + 8 = 18, present 16.
    mark_days(year_3, WEEK_1, ["/", "\\"] * 5)
    mark_days(other_3, WEEK_1, ["I", "O", "#", "#"] + ["/", "\\"] * 3)
    # Week 2, year 3: all present; year 5: half the week authorised absence (M).
    mark_days(year_3, WEEK_2, ["/", "\\"] * 5)
    mark_days(year_5, WEEK_2, ["M"] * 5 + ["/", "\\", "/", "\\", "/"])
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    assert weeks(school) == {
        (MONDAY_1, 3): (18, 16, 1, 1),
        (MONDAY_2, 3): (10, 10, 0, 0),
        (MONDAY_2, 5): (10, 5, 5, 0),
    }


def test_a_week_of_only_sessions_that_are_not_possible_is_not_kept():
    school = SchoolFactory()
    pupil = PupilFactory(site=school)
    mark_days(pupil, WEEK_1, ["#"] * 10)
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    assert weeks(school) == {}


def test_marks_after_the_day_wait_for_their_day():
    school = SchoolFactory()
    pupil = PupilFactory(site=school)
    mark_days(pupil, [datetime.date(2026, 11, 24), datetime.date(2026, 11, 26)], ["/"] * 4)
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    assert weeks(school) == {(datetime.date(2026, 11, 23), 3): (2, 2, 0, 0)}


def test_a_mark_amended_or_added_later_updates_its_week_on_the_next_refresh():
    school = SchoolFactory()
    pupil = PupilFactory(site=school)
    mark_days(pupil, WEEK_1, ["/", "\\"] * 5)
    mark_days(pupil, WEEK_2, ["/", "\\"] * 5)
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    before = weeks(school)
    assert before[(MONDAY_1, 3)] == (10, 10, 0, 0)

    # Monday of week 1 corrected to illness; a forgotten register added in week 2's...
    with in_site(school):
        AttendanceMark.objects.filter(
            site=school, pupil=pupil, date=WEEK_1[0], session="AM"
        ).update(code="I")
    late = PupilFactory(site=school, year_group=4)
    mark(late, WEEK_2[4], "PM", "O")
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    assert weeks(school) == {
        (MONDAY_1, 3): (10, 9, 1, 0),
        (MONDAY_2, 3): (10, 10, 0, 0),
        (MONDAY_2, 4): (1, 0, 0, 1),
    }

    # ... and a week whose marks were all deleted goes.
    with in_site(school):
        AttendanceMark.objects.filter(site=school, pupil=late).delete()
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    assert (MONDAY_2, 4) not in weeks(school)


def test_the_first_refresh_backfills_every_earlier_week_and_later_ones_keep_them():
    school = SchoolFactory()
    pupil = PupilFactory(site=school)
    last_year = datetime.date(2025, 11, 10)  # the same week a year earlier (a Monday)
    mark_days(pupil, school_days(last_year, last_year + datetime.timedelta(days=4)), ["O"] * 10)
    mark_days(pupil, WEEK_1, ["/", "\\"] * 5)
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    assert weeks(school) == {(last_year, 3): (10, 0, 0, 10), (MONDAY_1, 3): (10, 10, 0, 0)}
    # The next refresh recounts this academic year only; last year's week stays as counted.
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    assert weeks(school)[(last_year, 3)] == (10, 0, 0, 10)


def test_another_schools_weeks_are_untouched():
    school, other = SchoolFactory(), SchoolFactory()
    for site in (school, other):
        mark_days(PupilFactory(site=site), WEEK_1, ["/", "\\"] * 5)
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    rollups_refresh_school(school_id=other.pk, today=TODAY)
    with in_site(school):
        AttendanceMark.objects.filter(site=school).delete()
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    assert weeks(school) == {}
    assert weeks(other) == {(MONDAY_1, 3): (10, 10, 0, 0)}


def test_only_a_transaction_bound_to_the_school_may_write_its_weeks():
    school, other = SchoolFactory(), SchoolFactory()
    mark_days(PupilFactory(site=school), WEEK_1, ["/", "\\"] * 5)
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    row = WeeklyAttendance.objects.get(site=school)
    for binding in (None, other.pk):
        with transaction.atomic(), site_scope(binding):
            # Reading is open (the group's selectors gate it); changing is not.
            assert WeeklyAttendance.objects.filter(pk=row.pk).exists()
            assert WeeklyAttendance.objects.filter(pk=row.pk).update(present_sessions=0) == 0
            assert WeeklyAttendance.objects.filter(pk=row.pk).delete()[0] == 0
            with pytest.raises(Exception, match="row-level security"), transaction.atomic():
                WeeklyAttendance.objects.create(
                    site=school,
                    week_start=MONDAY_2,
                    year_group=3,
                    possible_sessions=1,
                    present_sessions=1,
                    authorised_sessions=0,
                    unauthorised_sessions=0,
                )
    assert weeks(school) == {(MONDAY_1, 3): (10, 10, 0, 0)}
    assert connection.vendor == "postgresql"
