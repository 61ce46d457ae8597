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
