"""The generated MIS records (bench.mis): the same rows for the same seed, valid UPNs,
marks only where a register has them, plausible figures, and roll-ups that agree with a
count made here from the marks."""

import datetime
from collections import Counter, defaultdict
from contextlib import contextmanager

import pytest
from django.db import connection, transaction

from bench.mis import generate_group_mis, generate_school_mis, holidays, school_days
from matmis.tenancy import site_scope
from mis.calendar import academic_year_start
from mis.codes import ExclusionKind, MarkCategory, mark_category, upn_problem
from mis.models import AttendanceMark, AttendanceRollup, Exclusion, Pupil, RollupState
from mis.rollups import rollups_refresh_school
from tests.institutions.factories import SchoolFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 25)  # a Wednesday, late in the autumn term
TERM_START = datetime.date(2026, 9, 1)
HALF_TERM = {datetime.date(2026, 10, 26) + datetime.timedelta(days=n) for n in range(5)}
PUPILS = 300


@pytest.fixture(autouse=True)
def constraints_checked_at_once():
    """The test's transaction never commits: check the deferred foreign keys per statement."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@contextmanager
def scoped(school):
    with transaction.atomic(), site_scope(school.pk):
        yield


def generate(school, *, seed=7, pupils=PUPILS, today=TODAY, **options):
    return generate_school_mis(
        school_id=school.pk,
        la_code=school.la_code,
        establishment_number=school.establishment_number,
        pupils=pupils,
        phase=school.phase,
        today=today,
        seed=seed,
        **options,
    )


def records(school):
    """The school's rows, without the database's ids."""
    with scoped(school):
        pupils = sorted(
            Pupil.objects.filter(site=school).values_list(
                "upn",
                "legal_first_name",
                "legal_last_name",
                "preferred_first_name",
                "date_of_birth",
                "year_group",
                "enrolled_on",
                "left_on",
                "fsm_eligible",
                "disadvantaged",
                "sen_provision",
            )
        )
        marks = sorted(
            AttendanceMark.objects.filter(site=school).values_list(
                "pupil__upn", "date", "session", "code"
            )
        )
        exclusions = sorted(
            Exclusion.objects.filter(site=school).values_list(
                "pupil__upn", "kind", "starts_on", "sessions", "reason"
            )
        )
    return pupils, marks, exclusions


def test_the_same_seed_makes_the_same_rows_and_another_seed_others():
    school = SchoolFactory(phase="Secondary", establishment_number="4123")
    counts = generate(school)
    first = records(school)
    assert PUPILS * 0.95 < len(first[0]) <= PUPILS  # less those joining later this term
    assert counts == {
        "pupils": len(first[0]),
        "marks": len(first[1]),
        "suspensions": sum(e[1] == ExclusionKind.SUSPENSION for e in first[2]),
        "permanent_exclusions": sum(e[1] == ExclusionKind.PERMANENT for e in first[2]),
        "written": 1,
    }
    generate(school)  # replaces the records with the same ones
    assert records(school) == first
    generate(school, seed=8)
    other = records(school)
    assert other[0] != first[0] and other[1] != first[1]


def pupil_ids(school):
    with scoped(school):
        return dict(Pupil.objects.filter(site=school).values_list("upn", "id"))


def test_records_already_current_are_kept():
    school = SchoolFactory()
    generate(school)
    ids = pupil_ids(school)
    kept = generate(school, keep_current=True)
    assert kept["written"] == 0
    assert pupil_ids(school) == ids
    with scoped(school):
        assert AttendanceMark.objects.filter(site=school).count() == kept["marks"]
    # Records that differ are made again.
    with scoped(school):
        AttendanceMark.objects.filter(site=school, code="I").update(code="O")
    assert generate(school, keep_current=True)["written"] == 1
    assert generate(school, keep_current=True)["written"] == 0


@pytest.mark.parametrize("phase", ["Primary", "Secondary"])
def test_a_later_day_adds_to_the_records_of_an_earlier_one(phase):
    school = SchoolFactory(phase=phase)
    days = [datetime.date(2026, 9, 4), datetime.date(2026, 10, 14), TODAY]
    generate(school, today=days[0], seed=12)
    first_ids = pupil_ids(school)
    for day in days[1:]:
        counts = generate(school, today=day, seed=12, keep_current=True)
        assert counts["written"] == 1
    grown = records(school)
    later_ids = pupil_ids(school)
    assert {upn: later_ids[upn] for upn in first_ids} == first_ids  # the same pupils
    assert len(later_ids) > len(first_ids)  # and some who joined since
    generate(school, today=TODAY, seed=12)  # made afresh for the last day
    assert records(school) == grown
    assert counts["marks"] == len(grown[1])


def test_upns_are_valid_and_unique():
    school = SchoolFactory(la_code="383", establishment_number="2417")
    generate(school)
    pupils, _, _ = records(school)
    upns = [p[0] for p in pupils]
    assert len(set(upns)) == len(upns) > PUPILS * 0.95
    assert [upn for upn in upns if upn_problem(upn)] == []
    # A primary school issued most of its pupils' UPNs itself.
    own = sum(upn[1:8] == "3832417" for upn in upns)
    assert own > PUPILS * 0.8


def test_year_groups_follow_the_phase():
    primary, secondary = SchoolFactory(phase="Primary"), SchoolFactory(phase="Secondary")
    generate(primary)
    generate(secondary)
    primary_years = Counter(p[5] for p in records(primary)[0])
    secondary_years = Counter(p[5] for p in records(secondary)[0])
    assert set(range(7)) <= set(primary_years) <= set(range(-1, 7))
    assert set(range(7, 12)) <= set(secondary_years) <= set(range(7, 14))
    assert max(primary_years.values()) < 2 * min(primary_years[y] for y in range(7))


def test_marks_fall_on_school_days_within_each_pupils_enrolment():
    # A fixed school number: the factory's depend on the tests run before, and a few draw
    # no leaver by the day.
    school = SchoolFactory(phase="Primary", establishment_number="2417")
    generate(school)
    pupils, marks, _ = records(school)
    enrolment = {p[0]: (p[6], p[7]) for p in pupils}
    days = {day for _, day, _, _ in marks}
    assert min(days) >= TERM_START and max(days) == TODAY
    assert all(day.weekday() < 5 for day in days)
    assert not days & HALF_TERM
    assert days == set(school_days(TERM_START, TODAY))
    sessions = defaultdict(set)
    for upn, day, session, _ in marks:
        enrolled_on, left_on = enrolment[upn]
        assert enrolled_on <= day and (left_on is None or day <= left_on), (upn, day)
        sessions[(upn, day)].add(session)
    assert set(map(frozenset, sessions.values())) == {frozenset({"AM", "PM"})}
    # Every pupil on roll has a mark for every school day since joining.
    for upn, (enrolled_on, left_on) in enrolment.items():
        expected = [d for d in days if d >= enrolled_on and (left_on is None or d <= left_on)]
        assert sum((upn, d) in sessions for d in expected) == len(expected)
    # Some joined this term, some left it.
    assert any(enrolled_on > TERM_START for enrolled_on, _ in enrolment.values())
    assert any(left_on is not None for _, left_on in enrolment.values())
    # One planned closure day, marked # for everyone.
    closures = {day for _, day, _, code in marks if code == "#"}
    assert len(closures) == 1
    (closure,) = closures
    assert {code for _, day, _, code in marks if day == closure} == {"#"}


def test_the_calendar_has_the_usual_holidays():
    off = holidays(datetime.date(2026, 9, 1))  # 2026/27
    assert off >= HALF_TERM
    assert datetime.date(2026, 12, 25) in off and datetime.date(2027, 1, 1) in off
    assert datetime.date(2026, 12, 18) not in off  # breaking up on a Friday
    assert datetime.date(2027, 1, 4) not in off
    assert {datetime.date(2027, 2, 15), datetime.date(2027, 2, 19)} <= off
    assert {datetime.date(2027, 3, 26), datetime.date(2027, 3, 29)} <= off  # Easter 2027
    assert {datetime.date(2027, 5, 3), datetime.date(2027, 5, 31)} <= off  # bank holidays
    assert datetime.date(2027, 7, 26) in off and datetime.date(2027, 7, 21) not in off
    assert datetime.date(2027, 10, 25) in holidays(datetime.date(2027, 9, 1))


def test_the_figures_are_plausible():
    schools = [SchoolFactory(phase="Primary"), SchoolFactory(phase="Secondary")]
    totals = generate_group_mis(schools, today=TODAY, seed=3, pupils_per_school=PUPILS)
    assert totals["schools"] == 2 and 2 * PUPILS * 0.95 < totals["pupils"] <= 2 * PUPILS
    assert totals["suspensions"] > 0
    absence, persistent, fsm, disadvantaged, sen = [], [], [], [], Counter()
    codes = Counter()
    for school in schools:
        pupils, marks, _ = records(school)
        codes.update(code for *_, code in marks)
        per_pupil = defaultdict(Counter)
        for upn, _, _, code in marks:
            per_pupil[upn][mark_category(code)] += 1
        for counts in per_pupil.values():
            possible = sum(n for cat, n in counts.items() if cat != MarkCategory.NOT_POSSIBLE)
            missed = counts[MarkCategory.AUTHORISED] + counts[MarkCategory.UNAUTHORISED]
            if possible:
                absence.append((missed, possible))
                persistent.append(10 * missed >= possible)
        fsm += [p[8] for p in pupils if p[5] >= 0]
        disadvantaged += [p[9] for p in pupils if p[5] >= 0]
        sen.update(p[10] for p in pupils)
    overall = sum(m for m, _ in absence) / sum(p for _, p in absence)
    assert 0.03 <= overall <= 0.12
    assert 0.08 <= sum(persistent) / len(persistent) <= 0.3
    assert 0.1 <= sum(fsm) / len(fsm) <= 0.4
    assert 0.12 <= sum(disadvantaged) / len(disadvantaged) <= 0.42
    assert 0.07 <= sen["K"] / sen.total() <= 0.2 and 0.003 <= sen["E"] / sen.total() <= 0.06
    # Mostly present; illness the commonest absence.
    assert (codes["/"] + codes["\\"]) / codes.total() > 0.8
    absences = {c: n for c, n in codes.items() if mark_category(c) in (2, 3) and c != "E"}
    assert max(absences, key=absences.get) == "I"
    assert {"I", "M", "O", "G", "N", "U", "L", "#"} <= set(codes)


def test_suspended_sessions_are_marked_e():
    school = SchoolFactory(phase="Secondary")
    generate(school, seed=11)
    _, marks, exclusions = records(school)
    suspensions = [e for e in exclusions if e[1] == ExclusionKind.SUSPENSION]
    assert suspensions
    year_start = academic_year_start(TODAY)
    assert all(year_start <= e[2] <= TODAY for e in exclusions)
    assert all(e[3] >= 1 for e in suspensions)
    e_marks = Counter(upn for upn, _, _, code in marks if code == "E")
    this_term = [e for e in suspensions if e[2] >= TERM_START]
    for upn, _, starts_on, sessions, _ in this_term:
        assert e_marks[upn] >= 1, (upn, starts_on, sessions)
    assert set(e_marks) <= {e[0] for e in exclusions}


def test_the_rollups_agree_with_a_count_of_the_marks():
    # A fixed school number: the generator draws from it, and about one number in seventy
    # draws no suspension by the day (the factory's numbers depend on the tests run before).
    school = SchoolFactory(phase="Secondary", establishment_number="4000")
    generate(school, seed=5)
    assert RollupState.objects.get(school=school).refreshed_at is None  # due
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    pupils, marks, exclusions = records(school)
    per_pupil = defaultdict(Counter)
    for upn, _, _, code in marks:
        per_pupil[upn][mark_category(code)] += 1
    expected = Counter()
    for upn, *_rest, enrolled_on, left_on, _fsm, _disadvantaged, _sen in pupils:
        counts = per_pupil[upn]
        possible = sum(n for cat, n in counts.items() if cat != MarkCategory.NOT_POSSIBLE)
        missed = counts[MarkCategory.AUTHORISED] + counts[MarkCategory.UNAUTHORISED]
        expected["pupils_on_roll"] += enrolled_on <= TODAY and (left_on is None or left_on >= TODAY)
        expected["pupils_with_sessions"] += possible > 0
        expected["possible_sessions"] += possible
        expected["present_sessions"] += counts[MarkCategory.PRESENT]
        expected["authorised_sessions"] += counts[MarkCategory.AUTHORISED]
        expected["unauthorised_sessions"] += counts[MarkCategory.UNAUTHORISED]
        expected["persistent_absentees"] += possible > 0 and 10 * missed >= possible
    expected["suspensions"] = sum(e[1] == ExclusionKind.SUSPENSION for e in exclusions)
    expected["permanent_exclusions"] = sum(e[1] == ExclusionKind.PERMANENT for e in exclusions)
    got = Counter()
    for cell in AttendanceRollup.objects.filter(school=school).values(*expected):
        got.update(cell)
    assert got == expected
    assert expected["persistent_absentees"] > 0 and expected["suspensions"] > 0
