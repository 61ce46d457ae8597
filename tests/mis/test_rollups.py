"""Roll-up arithmetic against hand-computed fixtures."""

import datetime

import pytest
from django.db.models import Sum

from mis.models import AttendanceRollup, RollupState
from mis.rollups import records_changed, rollups_due_school_ids, rollups_refresh_school
from tests.institutions.factories import SchoolFactory
from tests.mis.factories import PupilFactory, mark_days, school_days, suspend

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 25)  # a Wednesday of the autumn term


def _totals(school):
    return AttendanceRollup.objects.filter(school=school).aggregate(
        **{
            name: Sum(name)
            for name in (
                "pupils_on_roll",
                "pupils_with_sessions",
                "possible_sessions",
                "present_sessions",
                "authorised_sessions",
                "unauthorised_sessions",
                "persistent_absentees",
                "suspensions",
                "permanent_exclusions",
            )
        }
    )


def test_smoke_two_pupils():
    school = SchoolFactory()
    days = school_days(datetime.date(2026, 11, 16), datetime.date(2026, 11, 20))  # 5 days
    a = PupilFactory(site=school)
    b = PupilFactory(site=school)
    mark_days(a, days, ["/", "\\"] * 5)
    # b: 1 illness, 1 unauthorised, 1 closure (not possible) in 10 sessions
    mark_days(b, days, ["/", "\\", "I", "O", "#", "#", "/", "\\", "/", "\\"])
    suspend(b, datetime.date(2026, 10, 1))
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    totals = _totals(school)
    assert totals["possible_sessions"] == 10 + 8
    assert totals["present_sessions"] == 10 + 6
    assert totals["authorised_sessions"] == 1
    assert totals["unauthorised_sessions"] == 1
    assert totals["persistent_absentees"] == 1  # b missed 2 of 8
    assert totals["pupils_on_roll"] == 2
    assert totals["suspensions"] == 1
    state = RollupState.objects.get(school=school)
    assert state.refreshed_for == TODAY
    assert rollups_due_school_ids(today=TODAY) == []
    records_changed(school_ids=[school.pk])
    # changed in the same transaction as the refresh (a test): now() is equal, not later
    assert rollups_due_school_ids(today=TODAY + datetime.timedelta(days=1)) == [school.pk]
