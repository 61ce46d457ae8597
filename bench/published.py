"""Published (DfE) figures, generated: Explore Education Statistics data files for the bench,
the demo and the tests. Deterministic: the same arguments always give the same text.

``absence_csv(schools, years=..., seed=1)`` and ``suspensions_csv(...)`` return the text of
the two releases' school-level "tidy" files: one row per school per academic year, plus a
``National`` (England) row per year, in the EES layout (``time_period``, ``time_identifier``,
``geographic_level``, country columns, ``school_urn``, ``education_phase``, then the
indicators, and a few indicators matmis does not import). ``schools`` are
``(urn, pupils, phase)`` with the register's phase names; pupils may be None.

Values are plausible and consistent: primary overall absence about 4-6%, secondary 7-9%;
persistent absence (10% or more of sessions missed) 10-18% of primary pupils, 16-25% of
secondary; suspensions per 100 pupils up to about 15 in secondary schools, under 2 in
primary; permanent exclusions rare. Rates are the counts' rates rounded half up to 2
decimal places (``sess_overall / sess_possible * 100`` is ``sess_overall_percent``).
As in real files, a few values are markers: nursery schools are ``z`` (not collected), some
small exclusion counts ``c`` (confidential), some persistent-absence figures ``x``.

A school's values depend only on the seed, its URN, the year and its own size and phase, so
adding schools to the list leaves the others' figures as they were.
``national_values(years=..., seed=1)`` gives England's rows (the values written, as text).
``write_files(directory, schools, years=..., seed=1)`` writes both files (UTF-8) for
``manage.py import_published``.
"""

import csv
import io
import random
from collections.abc import Callable, Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

School = tuple[str, int | None, str]  # (urn, pupils, register phase)

GEOGRAPHY_COLUMNS = (
    "time_period",
    "time_identifier",
    "geographic_level",
    "country_code",
    "country_name",
    "school_urn",
    "education_phase",
)
ABSENCE_INDICATORS = (
    "enrolments",
    "sess_possible",
    "sess_overall",
    "sess_authorised",
    "sess_unauthorised",
    "sess_overall_percent",
    "enrolments_pa_10_exact",
    "enrolments_pa_10_exact_percent",
)
SUSPENSIONS_INDICATORS = (
    "headcount",
    "perm_excl",
    "perm_excl_rate",
    "susp",
    "susp_rate",
    "one_plus_susp",
    "one_plus_susp_rate",
)
ABSENCE_COLUMNS = (*GEOGRAPHY_COLUMNS, *ABSENCE_INDICATORS)
SUSPENSIONS_COLUMNS = (*GEOGRAPHY_COLUMNS, *SUSPENSIONS_INDICATORS)

ACADEMIC_YEAR = "Academic year"
ENGLAND = ("E92000001", "England")
PRIMARY_PHASES = frozenset(("Primary", "Middle deemed primary"))
EDUCATION_PHASE = {
    "Primary": "State-funded primary",
    "Middle deemed primary": "State-funded primary",
    "Secondary": "State-funded secondary",
    "Middle deemed secondary": "State-funded secondary",
    "All-through": "State-funded secondary",
    "16 plus": "State-funded secondary",
    "Nursery": "State-funded nursery",
    "Not applicable": "Special",
}
NURSERY = "Nursery"
NOT_COLLECTED, CONFIDENTIAL, UNAVAILABLE = "z", "c", "x"

_HUNDREDTH = Decimal("0.01")


def academic_years(last: str, count: int) -> list[str]:
    """``count`` academic years up to ``last``, oldest first: ("202425", 3) -> 202223,
    202324, 202425."""
    start = int(last[:4])
    return [f"{year}{(year + 1) % 100:02d}" for year in range(start - count + 1, start + 1)]


def rate(part: int, whole: int) -> str:
    """``part`` per 100 of ``whole``, rounded half up to 2 places, as text."""
    return str((Decimal(part) * 100 / Decimal(whole)).quantize(_HUNDREDTH, ROUND_HALF_UP))


def _rng(seed: int, release: str, year: str, key: str) -> random.Random:
    return random.Random(f"published/{seed}/{release}/{year}/{key}")  # noqa: S311


def _default_pupils(phase: str) -> int:
    return 240 if phase in PRIMARY_PHASES or phase == NURSERY else 950


# --- Absence ---------------------------------------------------------------------------


def _absence(rng: random.Random, pupils: int, overall_rate: float, pa_rate: float) -> dict:
    enrolments = max(1, round(pupils * rng.uniform(1.0, 1.06)))
    # Pupils who joined or left during the year have fewer possible sessions.
    possible = round(enrolments * rng.uniform(300, 325))
    overall = round(possible * overall_rate / 100)
    authorised = round(overall * rng.uniform(0.6, 0.8))
    persistent = round(enrolments * pa_rate / 100)
    return {
        "enrolments": str(enrolments),
        "sess_possible": str(possible),
        "sess_overall": str(overall),
        "sess_authorised": str(authorised),
        "sess_unauthorised": str(overall - authorised),
        "sess_overall_percent": rate(overall, possible),
        "enrolments_pa_10_exact": str(persistent),
        "enrolments_pa_10_exact_percent": rate(persistent, enrolments),
    }


def _school_absence(school: School, year: str, seed: int) -> dict:
    urn, pupils, phase = school
    if phase == NURSERY:
        return dict.fromkeys(ABSENCE_INDICATORS, NOT_COLLECTED)
    rng = _rng(seed, "absence", year, urn)
    if phase in PRIMARY_PHASES:
        overall_rate, pa_rate = rng.uniform(4.0, 6.0), rng.uniform(10, 18)
    else:
        overall_rate, pa_rate = rng.uniform(7.0, 9.0), rng.uniform(16, 25)
    values = _absence(rng, pupils or _default_pupils(phase), overall_rate, pa_rate)
    if rng.random() < 0.02:
        values["enrolments_pa_10_exact"] = UNAVAILABLE
        values["enrolments_pa_10_exact_percent"] = UNAVAILABLE
    return values


def _national_absence(year: str, seed: int) -> dict:
    # England's rates sit between primary's and secondary's.
    rng = _rng(seed, "absence", year, "England")
    pupils, overall_rate, pa_rate = (
        rng.randint(7_250_000, 7_450_000),
        rng.uniform(6.5, 7.6),
        rng.uniform(17.5, 22.5),
    )
    return _absence(rng, pupils, overall_rate, pa_rate)


# --- Suspensions and permanent exclusions -------------------------------------------------


def _suspensions(headcount: int, susp_rate: float, perm: int, rng: random.Random) -> dict:
    suspensions = round(headcount * susp_rate / 100)
    # Some pupils are suspended more than once.
    one_plus = min(suspensions, round(suspensions * rng.uniform(0.45, 0.7))) if suspensions else 0
    return {
        "headcount": str(headcount),
        "perm_excl": str(perm),
        "perm_excl_rate": rate(perm, headcount),
        "susp": str(suspensions),
        "susp_rate": rate(suspensions, headcount),
        "one_plus_susp": str(one_plus),
        "one_plus_susp_rate": rate(one_plus, headcount),
    }


def _school_suspensions(school: School, year: str, seed: int) -> dict:
    urn, pupils, phase = school
    if phase == NURSERY:
        return dict.fromkeys(SUSPENSIONS_INDICATORS, NOT_COLLECTED)
    rng = _rng(seed, "suspensions", year, urn)
    headcount = max(1, round((pupils or _default_pupils(phase)) * rng.uniform(0.97, 1.03)))
    if phase in PRIMARY_PHASES:
        susp_rate = rng.triangular(0, 2, 0.2)
        perm = 1 if rng.random() < 0.03 else 0
    else:
        susp_rate = rng.triangular(0, 15, 5)
        perm = rng.choices((0, 1, 2, 3, 4), weights=(62, 20, 10, 5, 3))[0]
    values = _suspensions(headcount, susp_rate, perm, rng)
    if 0 < perm < 3 and rng.random() < 0.3:
        values["perm_excl"] = CONFIDENTIAL
        values["perm_excl_rate"] = CONFIDENTIAL
    return values


def _national_suspensions(year: str, seed: int) -> dict:
    rng = _rng(seed, "suspensions", year, "England")
    headcount = rng.randint(8_300_000, 8_500_000)
    perm = round(headcount * rng.uniform(0.09, 0.14) / 100)
    return _suspensions(headcount, rng.uniform(8.0, 11.0), perm, rng)


# --- Files -----------------------------------------------------------------------------


def _csv(
    columns: Sequence[str],
    schools: Iterable[School],
    years: Sequence[str],
    national: Callable[[str, int], dict],
    per_school: Callable[[School, str, int], dict],
    seed: int,
) -> str:
    schools = list(schools)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    code, name = ENGLAND
    for year in years:
        head = (year, ACADEMIC_YEAR)
        values = national(year, seed)
        writer.writerow((*head, "National", code, name, "", "Total", *values.values()))
        for school in schools:
            urn, _, phase = school
            values = per_school(school, year, seed)
            level = (*head, "School", code, name, urn, EDUCATION_PHASE.get(phase, "Special"))
            writer.writerow((*level, *values.values()))
    return out.getvalue()


def absence_csv(schools: Iterable[School], *, years: Sequence[str], seed: int = 1) -> str:
    """The absence release's school-level file for ``schools`` over ``years``."""
    return _csv(ABSENCE_COLUMNS, schools, years, _national_absence, _school_absence, seed)


def suspensions_csv(schools: Iterable[School], *, years: Sequence[str], seed: int = 1) -> str:
    """The suspensions and permanent exclusions release's school-level file."""
    return _csv(
        SUSPENSIONS_COLUMNS, schools, years, _national_suspensions, _school_suspensions, seed
    )


def national_values(*, years: Sequence[str], seed: int = 1) -> dict[str, dict[str, str]]:
    """England's values in the files of the same ``years`` and ``seed``: academic year ->
    EES column -> the text written (both releases' indicators)."""
    return {
        year: {**_national_absence(year, seed), **_national_suspensions(year, seed)}
        for year in years
    }


def write_files(
    directory: Path, schools: Iterable[School], *, years: Sequence[str], seed: int = 1
) -> tuple[Path, Path]:
    """Write the absence and the suspensions file into ``directory``; return their paths."""
    schools = list(schools)
    span = f"{years[0]}-{years[-1]}" if years else "none"
    absence = Path(directory) / f"published-absence-{span}-seed{seed}.csv"
    suspensions = Path(directory) / f"published-suspensions-{span}-seed{seed}.csv"
    absence.write_text(absence_csv(schools, years=years, seed=seed), encoding="utf-8")
    suspensions.write_text(suspensions_csv(schools, years=years, seed=seed), encoding="utf-8")
    return absence, suspensions


# --- Census and performance (level 1) ----------------------------------------------------
#
# The school-level files of "Schools, pupils and their characteristics" (the census: its
# URN column is ``urn`` and its figures are named in words), the SEN release's school file,
# "Key stage 2 attainment" (primary schools) and "Key stage 4 performance" (secondary
# schools): one ``Total`` line per school and year, plus one breakdown line per school the
# importer skips. FSM 5-45%, EAL 2-40%, SEN support 9-18%, EHC plans 1-5% of pupils; key
# stage 2 expected standard 45-85%; Attainment 8 35-60 with Progress 8 from -0.8 to +0.8
# and its 95% confidence limits. Nurseries have no performance figures (``z``).

CENSUS_INDICATORS = (
    "headcount of pupils",
    "number of pupils known to be eligible for free school meals",
    "% of pupils known to be eligible for free school meals",
    "number of pupils whose first language is known or believed to be other than English",
    "% of pupils whose first language is known or believed to be other than English",
)
SEN_INDICATORS = (
    "total_pupils",
    "sen_support",
    "sen_support_percent",
    "ehc_plan",
    "ehc_plan_percent",
)
KS2_INDICATORS = (
    "t_rwm_eligible_pupils",
    "pt_rwm_met_expected_standard",
    "pt_rwm_met_higher_standard",
    "avg_read_scaled_score",
    "avg_mat_scaled_score",
    "avg_read_progress_score",
    "avg_writta_progress_score",
    "avg_mat_progress_score",
)
KS4_INDICATORS = (
    "pupil_count",
    "attainment8_average",
    "progress8_average",
    "progress8_lower_95_ci",
    "progress8_upper_95_ci",
    "engmath_95_percent",
    "ebacc_entering_percent",
    "ebacc_aps_average",
)
_TENTH = Decimal("0.1")


def _one_place(value: float) -> str:
    return str(Decimal(str(value)).quantize(_TENTH, ROUND_HALF_UP))


def _two_places(value: float) -> str:
    return str(Decimal(str(value)).quantize(_HUNDREDTH, ROUND_HALF_UP))


def _census(rng: random.Random, pupils: int) -> dict:
    fsm = round(pupils * rng.uniform(0.05, 0.45))
    eal = round(pupils * rng.uniform(0.02, 0.40))
    return {
        "headcount of pupils": str(pupils),
        CENSUS_INDICATORS[1]: str(fsm),
        CENSUS_INDICATORS[2]: _one_place(fsm * 100 / pupils),
        CENSUS_INDICATORS[3]: str(eal),
        CENSUS_INDICATORS[4]: _one_place(eal * 100 / pupils),
    }


def _sen(rng: random.Random, pupils: int) -> dict:
    support = round(pupils * rng.uniform(0.09, 0.18))
    plans = round(pupils * rng.uniform(0.01, 0.05))
    values = {
        "total_pupils": str(pupils),
        "sen_support": str(support),
        "sen_support_percent": _one_place(support * 100 / pupils),
        "ehc_plan": str(plans),
        "ehc_plan_percent": _one_place(plans * 100 / pupils),
    }
    if plans < 5 and rng.random() < 0.5:
        values["ehc_plan"] = values["ehc_plan_percent"] = CONFIDENTIAL
    return values


def _ks2(rng: random.Random, cohort: int) -> dict:
    expected = rng.uniform(45, 85)
    return {
        "t_rwm_eligible_pupils": str(cohort),
        "pt_rwm_met_expected_standard": str(round(expected)),
        "pt_rwm_met_higher_standard": str(round(expected * rng.uniform(0.08, 0.2))),
        "avg_read_scaled_score": str(rng.randint(101, 108)),
        "avg_mat_scaled_score": str(rng.randint(101, 108)),
        "avg_read_progress_score": _one_place(rng.uniform(-3, 3)),
        "avg_writta_progress_score": _one_place(rng.uniform(-3, 3)),
        "avg_mat_progress_score": _one_place(rng.uniform(-3, 3)),
    }


def _ks4(rng: random.Random, cohort: int) -> dict:
    progress = rng.uniform(-0.8, 0.8)
    width = 1.96 * 1.25 / max(cohort, 1) ** 0.5  # the DfE's interval narrows with the cohort
    attainment = 46 + progress * 10 + rng.uniform(-4, 4)
    return {
        "pupil_count": str(cohort),
        "attainment8_average": _one_place(attainment),
        "progress8_average": _two_places(progress),
        "progress8_lower_95_ci": _two_places(progress - width),
        "progress8_upper_95_ci": _two_places(progress + width),
        "engmath_95_percent": _one_place(min(95.0, max(5.0, attainment * 1.1 - 5))),
        "ebacc_entering_percent": _one_place(rng.uniform(10, 60)),
        "ebacc_aps_average": _two_places(attainment / 11.5),
    }


def _level1_csv(
    key: str,
    indicators: Sequence[str],
    schools: Iterable[School],
    years: Sequence[str],
    values: Callable[[School, str, int], dict | None],
    national: Callable[[str, int], dict],
    *,
    urn_column: str = "school_urn",
    breakdown: bool = False,
    seed: int,
) -> str:
    """One release's school-level file: England's line and each school's ``Total`` line
    per year (schools ``values`` gives None for are left out), and, with ``breakdown``, a
    ``Sex``/``Boys`` line per school that the importer skips."""
    schools = list(schools)
    filters = ("breakdown_topic", "breakdown") if breakdown else ()
    columns = (
        "time_period",
        "time_identifier",
        "geographic_level",
        "country_code",
        "country_name",
        urn_column,
        *filters,
        *indicators,
    )
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    code, name = ENGLAND
    total = ("Total", "Total") if breakdown else ()
    for year in years:
        head = (year, ACADEMIC_YEAR)
        writer.writerow((*head, "National", code, name, "", *total, *national(year, seed).values()))
        for school in schools:
            row = values(school, year, seed)
            if row is None:
                continue
            line = (*head, "School", code, name, school[0])
            writer.writerow((*line, *total, *row.values()))
            if breakdown:
                boys = _rng(seed, key, year, f"{school[0]}/boys")
                half = {k: v if not v.isdigit() else str(int(v) // 2) for k, v in row.items()}
                if boys.random() < 0.5:
                    writer.writerow((*line, "Sex", "Boys", *half.values()))
    return out.getvalue()


def _pupils(school: School) -> int:
    return school[1] or _default_pupils(school[2])


def census_csv(schools: Iterable[School], *, years: Sequence[str], seed: int = 1) -> str:
    """The census's school-level file ("Schools, pupils and their characteristics")."""
    return _level1_csv(
        "census",
        CENSUS_INDICATORS,
        schools,
        years,
        lambda school, year, seed: _census(_rng(seed, "census", year, school[0]), _pupils(school)),
        lambda year, seed: _census(_rng(seed, "census", year, "England"), 9_089_322),
        urn_column="urn",
        seed=seed,
    )


def sen_csv(schools: Iterable[School], *, years: Sequence[str], seed: int = 1) -> str:
    """The SEN release's school-level file (SEN support and EHC plans)."""
    return _level1_csv(
        "sen",
        SEN_INDICATORS,
        schools,
        years,
        lambda school, year, seed: _sen(_rng(seed, "sen", year, school[0]), _pupils(school)),
        lambda year, seed: _sen(_rng(seed, "sen", year, "England"), 9_089_322),
        urn_column="urn",
        seed=seed,
    )


def ks2_csv(schools: Iterable[School], *, years: Sequence[str], seed: int = 1) -> str:
    """Key stage 2 attainment, school level: the primary schools (a year 6 of about a
    seventh of the pupils)."""

    def values(school: School, year: str, seed: int) -> dict | None:
        if school[2] not in PRIMARY_PHASES:
            return None
        rng = _rng(seed, "ks2", year, school[0])
        return _ks2(rng, max(1, round(_pupils(school) / 7 * rng.uniform(0.9, 1.1))))

    return _level1_csv(
        "ks2",
        KS2_INDICATORS,
        schools,
        years,
        values,
        lambda year, seed: {
            **_ks2(_rng(seed, "ks2", year, "England"), 664_000),
            **dict.fromkeys(KS2_INDICATORS[5:], NOT_COLLECTED),  # progress is relative: z
        },
        breakdown=True,
        seed=seed,
    )


def ks4_csv(schools: Iterable[School], *, years: Sequence[str], seed: int = 1) -> str:
    """Key stage 4 performance, school level: the secondary schools (a year 11 of about a
    sixth of the pupils)."""

    def values(school: School, year: str, seed: int) -> dict | None:
        if EDUCATION_PHASE.get(school[2]) != "State-funded secondary":
            return None
        rng = _rng(seed, "ks4", year, school[0])
        return _ks4(rng, max(1, round(_pupils(school) / 6 * rng.uniform(0.9, 1.1))))

    return _level1_csv(
        "ks4",
        KS4_INDICATORS,
        schools,
        years,
        values,
        lambda year, seed: {
            **_ks4(_rng(seed, "ks4", year, "England"), 598_000),
            "progress8_lower_95_ci": NOT_COLLECTED,
            "progress8_upper_95_ci": NOT_COLLECTED,
        },
        breakdown=True,
        seed=seed,
    )
