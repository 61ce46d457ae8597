"""Roll-up arithmetic against hand-computed fixtures, refresh correctness and idempotence.

Each fixture's expected figures are worked out by hand in its comments, from the rules in
``mis/rollups.py``: possible = present + authorised + unauthorised (not-possible codes
count for nothing); a persistent absentee missed 10% or more of their own possible
sessions; suspensions count from the academic year's start; the roll is the day's.
"""

import datetime

import pytest
from django.db.models import Sum

from mis.models import AttendanceRollup, RollupState
from mis.rollups import (
    records_changed,
    rollups_due_school_ids,
    rollups_refresh_due,
    rollups_refresh_school,
    school_rollups_replace,
)
from mis.tasks import refresh_due_rollups, refresh_school_rollups
from tests.institutions.factories import SchoolFactory
from tests.mis.factories import (
    PupilFactory,
    exclude_permanently,
    in_site,
    mark_days,
    school_days,
    suspend,
)

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 25)  # a Wednesday of the autumn term 2026
WEEK = school_days(datetime.date(2026, 11, 16), datetime.date(2026, 11, 20))  # Mon-Fri
FIELDS = (
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


def totals(school) -> dict:
    return AttendanceRollup.objects.filter(school=school).aggregate(
        **{name: Sum(name) for name in FIELDS}
    )


def cells(school) -> dict:
    return {
        (row["year_group"], row["disadvantaged"], row["sen_provision"]): {
            name: row[name] for name in FIELDS
        }
        for row in AttendanceRollup.objects.filter(school=school).values()
    }


PRESENT_WEEK = ["/", "\\"] * 5


def test_not_possible_sessions_count_for_nothing():
    school = SchoolFactory()
    full = PupilFactory(site=school)
    mark_days(full, WEEK, PRESENT_WEEK)
    # 10 sessions: 2 closure (#), 1 non-compulsory (X), 1 illness (I), 6 present.
    # possible 7, absent 1 of 7 = 14.3% -> persistent absentee.
    closures = PupilFactory(site=school)
    mark_days(closures, WEEK, ["#", "#", "X", "I", "/", "\\", "/", "\\", "/", "\\"])
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    assert totals(school) == {
        "pupils_on_roll": 2,
        "pupils_with_sessions": 2,
        "possible_sessions": 10 + 7,
        "present_sessions": 10 + 6,
        "authorised_sessions": 1,
        "unauthorised_sessions": 0,
        "persistent_absentees": 1,
        "suspensions": 0,
        "permanent_exclusions": 0,
    }


def test_ten_percent_exactly_is_persistent_and_just_under_is_not():
    school = SchoolFactory()
    days = school_days(datetime.date(2026, 11, 2), datetime.date(2026, 11, 13))  # 10 days
    exactly = PupilFactory(site=school)  # 2 of 20 missed = 10% -> persistent
    mark_days(exactly, days, ["O", "N"] + ["/", "\\"] * 9)
    under = PupilFactory(site=school)  # 1 missed of 11 possible (9 not possible) = 9.1%
    mark_days(under, days, ["O"] + ["#"] * 9 + ["/"] * 10)
    late_arrival = PupilFactory(site=school)  # U is unauthorised: 2 of 20 -> persistent
    mark_days(late_arrival, days, ["U", "U"] + ["L", "\\"] * 9)
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    result = totals(school)
    assert result["persistent_absentees"] == 2
    assert result["possible_sessions"] == 20 + 11 + 20
    assert result["unauthorised_sessions"] == 2 + 1 + 2
    assert result["present_sessions"] == 18 + 10 + 18


def test_pupils_joining_and_leaving_mid_term():
    school = SchoolFactory()
    # Joined on Wednesday 18 November: marks only from then (3 days = 6 sessions), one
    # of them unauthorised: 1/6 = 16.7% -> persistent; on roll today.
    joiner = PupilFactory(site=school, enrolled_on=datetime.date(2026, 11, 18))
    mark_days(joiner, WEEK[2:], ["G", "\\", "/", "\\", "/", "\\"])
    # Left on Tuesday 17 November: 2 days = 4 sessions, all present. Counts in the term's
    # attendance and as a pupil with sessions, not on today's roll.
    leaver = PupilFactory(
        site=school, enrolled_on=datetime.date(2022, 9, 1), left_on=datetime.date(2026, 11, 17)
    )
    mark_days(leaver, WEEK[:2], ["/", "\\", "/", "\\"])
    # Joins next week: on no roll today and no marks: not counted at all.
    PupilFactory(site=school, enrolled_on=datetime.date(2026, 11, 30))
    # Left last year: nothing this term.
    PupilFactory(
        site=school, enrolled_on=datetime.date(2020, 9, 1), left_on=datetime.date(2025, 7, 20)
    )
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    assert totals(school) == {
        "pupils_on_roll": 1,
        "pupils_with_sessions": 2,
        "possible_sessions": 6 + 4,
        "present_sessions": 5 + 4,
        "authorised_sessions": 0,
        "unauthorised_sessions": 1,
        "persistent_absentees": 1,
        "suspensions": 0,
        "permanent_exclusions": 0,
    }


def test_empty_school_has_a_state_and_no_cells():
    school = SchoolFactory()
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    assert not AttendanceRollup.objects.filter(school=school).exists()
    state = RollupState.objects.get(school=school)
    assert state.refreshed_for == TODAY
    assert state.term_start == datetime.date(2026, 9, 1)
    assert state.year_start == datetime.date(2026, 9, 1)


def test_only_this_term_and_up_to_the_day():
    school = SchoolFactory()
    pupil = PupilFactory(site=school)
    # Summer term 2026 (last academic year) and a day after TODAY: neither counts.
    mark_days(pupil, [datetime.date(2026, 7, 1)], ["O", "O"])
    mark_days(pupil, [datetime.date(2026, 11, 26)], ["O", "O"])
    mark_days(pupil, [datetime.date(2026, 9, 2)], ["/", "\\"])
    suspend(pupil, datetime.date(2026, 6, 1))  # last academic year
    suspend(pupil, datetime.date(2026, 9, 10))
    suspend(pupil, datetime.date(2026, 12, 1))  # after the day
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    result = totals(school)
    assert result["possible_sessions"] == 2
    assert result["present_sessions"] == 2
    assert result["persistent_absentees"] == 0
    assert result["suspensions"] == 1


def test_spring_term_counts_attendance_from_january_and_exclusions_from_september():
    school = SchoolFactory()
    pupil = PupilFactory(site=school)
    mark_days(pupil, [datetime.date(2026, 11, 2)], ["O", "O"])  # autumn: not this term
    mark_days(pupil, [datetime.date(2027, 1, 5)], ["/", "I"])
    suspend(pupil, datetime.date(2026, 10, 1))  # autumn: still this academic year
    rollups_refresh_school(school_id=school.pk, today=datetime.date(2027, 1, 6))
    result = totals(school)
    assert result["possible_sessions"] == 2
    assert result["authorised_sessions"] == 1
    assert result["persistent_absentees"] == 1
    assert result["suspensions"] == 1
    state = RollupState.objects.get(school=school)
    assert state.term_start == datetime.date(2027, 1, 1)
    assert state.year_start == datetime.date(2026, 9, 1)


def test_cells_split_by_year_group_disadvantage_and_sen_and_add_up():
    school = SchoolFactory()
    a = PupilFactory(site=school, year_group=3, disadvantaged=True, sen_provision="K")
    b = PupilFactory(site=school, year_group=3, disadvantaged=True, sen_provision="K")
    c = PupilFactory(site=school, year_group=4, disadvantaged=False, sen_provision="E")
    mark_days(a, WEEK, PRESENT_WEEK)
    mark_days(b, WEEK, ["I"] * 10)
    mark_days(c, WEEK, ["/", "O"] * 5)
    suspend(c, datetime.date(2026, 10, 5))
    exclude_permanently(c, datetime.date(2026, 11, 20))
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    found = cells(school)
    assert set(found) == {(3, True, "K"), (4, False, "E")}
    assert found[(3, True, "K")]["possible_sessions"] == 20
    assert found[(3, True, "K")]["authorised_sessions"] == 10
    assert found[(3, True, "K")]["persistent_absentees"] == 1
    assert found[(4, False, "E")]["unauthorised_sessions"] == 5
    assert found[(4, False, "E")]["suspensions"] == 1
    assert found[(4, False, "E")]["permanent_exclusions"] == 1
    assert totals(school)["possible_sessions"] == 30


def test_other_schools_records_never_count():
    school, other = SchoolFactory(), SchoolFactory()
    mark_days(PupilFactory(site=school), WEEK, PRESENT_WEEK)
    mark_days(PupilFactory(site=other), WEEK, ["O"] * 10)
    suspend(PupilFactory(site=other), datetime.date(2026, 10, 1))
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    result = totals(school)
    assert result["possible_sessions"] == 10
    assert result["unauthorised_sessions"] == 0
    assert result["suspensions"] == 0
    assert not AttendanceRollup.objects.filter(school=other).exists()


def test_refresh_is_idempotent_and_replaces_old_figures():
    school = SchoolFactory()
    pupil = PupilFactory(site=school)
    mark_days(pupil, WEEK, PRESENT_WEEK)
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    first = cells(school)
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    assert cells(school) == first
    assert AttendanceRollup.objects.filter(school=school).count() == 1
    # The pupil moves year group: the old cell goes, never doubled.
    pupil.year_group = 4
    with in_site(school):
        pupil.save()
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    assert set(cells(school)) == {(4, False, "N")}
    assert totals(school)["possible_sessions"] == 10


def test_due_schools_and_the_sweep():
    fresh, changed, never, stale = (SchoolFactory() for _ in range(4))
    for school in (fresh, changed, stale):
        rollups_refresh_school(school_id=school.pk, today=TODAY)
    RollupState.objects.filter(school=stale).update(refreshed_for=TODAY - datetime.timedelta(1))
    # A change recorded after the refresh: a later transaction in real life; here the
    # refresh time is moved back to stand for it.
    records_changed(school_ids=[changed.pk, never.pk])
    RollupState.objects.filter(school=changed).update(
        refreshed_at=RollupState.objects.get(school=changed).changed_at
        - datetime.timedelta(seconds=1)
    )
    due = rollups_due_school_ids(today=TODAY)
    assert due == sorted([changed.pk, never.pk, stale.pk])
    assert rollups_refresh_due(today=TODAY) == 3
    assert rollups_due_school_ids(today=TODAY) == []
    # Tomorrow, every school is due again (the roll is the day's).
    assert len(rollups_due_school_ids(today=TODAY + datetime.timedelta(1))) == 4


def test_the_beat_task_refreshes_due_schools(settings, django_capture_on_commit_callbacks):
    school = SchoolFactory()
    mark_days(PupilFactory(site=school), WEEK, PRESENT_WEEK)
    records_changed(school_ids=[school.pk])
    assert "mis.rollups_refresh_due" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    # Beat runs outside a transaction: its per-school tasks are published at once.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert refresh_due_rollups.apply().get() == 1
    assert len(callbacks) == 1  # one task per school that is due
    assert RollupState.objects.get(school=school).refreshed_at is not None
    assert totals(school)["pupils_on_roll"] == 1  # counted with the school bound
    assert refresh_due_rollups.apply().get() == 0


def test_a_school_refresh_task_runs_bound_to_its_school_and_only_when_due():
    school = SchoolFactory()
    mark_days(PupilFactory(site=school), WEEK, PRESENT_WEEK)
    records_changed(school_ids=[school.pk])
    refresh_school_rollups.apply(kwargs={"site_id": school.pk}).get()
    assert totals(school)["pupils_on_roll"] == 1  # the pupil was seen: the school was bound
    refreshed_at = RollupState.objects.get(school=school).refreshed_at
    refresh_school_rollups.apply(kwargs={"site_id": school.pk}).get()  # queued twice
    assert RollupState.objects.get(school=school).refreshed_at == refreshed_at


def test_replacing_a_schools_figures_outside_its_binding_is_refused():
    school = SchoolFactory()
    mark_days(PupilFactory(site=school), WEEK, PRESENT_WEEK)
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    other = SchoolFactory()
    with pytest.raises(RuntimeError, match="bound to site"):
        school_rollups_replace(school_id=school.pk, today=TODAY)
    with pytest.raises(RuntimeError, match="bound to site"), in_site(other):
        school_rollups_replace(school_id=school.pk, today=TODAY)
    assert totals(school)["possible_sessions"] == 10  # untouched
