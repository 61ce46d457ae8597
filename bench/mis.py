"""A school's MIS records, generated: pupils, a term of attendance marks, suspensions and
permanent exclusions. Deterministic, realistic, and set-based so that it is fast.

``generate_school_mis(...)`` makes one school's records what the arguments give: the same
arguments always give the same rows (only the database's ids differ). Used by the demo
(``portal.demo``: the Oak Ridge Trust's schools) and by the bench (300 schools x 300
pupils x a term, about 10 million marks); ``generate_group_mis`` does it for many schools.

The records are drawn for the whole term (``plan_school``), and ``today`` only decides
how much of it is on the records yet: pupils who have joined, leaving dates that have
passed, exclusions that have started, marks up to the day. So a later day's records add to
an earlier day's, and ``keep_current=True`` adds only the new days' marks to records made
on an earlier day of the term (what the demo does each day) instead of making them again.

What is decided in Python, per pupil (a few hundred per school): names, a valid UPN, date
of birth, year group for the school's phase, enrolment (about 3% join during the term, 2%
leave), free school meals, disadvantage, SEN provision, an absence propensity, and the
school's suspensions and permanent exclusions. What is decided in SQL, per mark (tens of
thousands per school): each session's code, by ONE ``INSERT ... SELECT`` over the pupils
x the term's school days x AM/PM, the code drawn from ``hashint8extended`` of (pupil, day,
session) with the school's salt, so nothing per mark crosses the wire. Writing the marks
costs about what inserting the same rows from a table does (the table's constraints, index
and Row-Level Security checks are most of it): about 0.3 s for a school of 300 pupils at
the end of November.

The figures it aims at (England, autumn term): overall absence about 6% (mostly illness),
about 18% of pupils persistently absent (10% or more of their sessions missed), FSM about
23%, disadvantaged about 26%, SEN support 13% and EHC plans 2.5% (special schools: mostly
EHC plans), suspensions 2 to 10 per 100 pupils a year in secondary schools (few in
primary) and a rare permanent exclusion.

The term's school days are its weekdays from ``mis.calendar.term_of(today).start`` without
the half-term week (autumn: the last full week of October) and the other usual holidays
(``school_days``); one day in the first half of the term is a planned whole-school closure
(code ``#`` for everyone). Nursery pupils attend mornings only, and reception pupils for
their first two weeks (afternoons ``X``, not a possible session).
"""

import datetime
import itertools
import math
import random
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import connection, connections, transaction

from mis.calendar import academic_year_start, term_of
from mis.codes import ExclusionKind, ExclusionReason, SenProvision, upn_check_letter

# --- Names ------------------------------------------------------------------------------------

FIRST_NAMES = (
    "Oliver", "Amelia", "George", "Olivia", "Muhammad", "Isla", "Noah", "Ava", "Arthur",
    "Lily", "Leo", "Freya", "Harry", "Ivy", "Oscar", "Florence", "Archie", "Mia", "Henry",
    "Sophia", "Theodore", "Isabella", "Jack", "Evie", "Charlie", "Grace", "Freddie", "Ella",
    "Alfie", "Poppy", "Thomas", "Emily", "Jacob", "Ruby", "Finley", "Daisy", "Joshua", "Chloe",
    "Samuel", "Charlotte", "Isaac", "Zara", "Aarav", "Aisha", "Ibrahim", "Maryam", "Yusuf",
    "Fatima", "Kai", "Priya", "Rohan", "Amara", "Kofi", "Nia", "Dylan", "Megan", "Callum",
    "Niamh", "Rhys", "Erin", "Jamie", "Eilidh", "Alexander", "Elizabeth", "William", "Hannah",
    "Benjamin", "Katherine", "Matthew", "Jessica", "Ethan", "Layla", "Mason", "Sienna",
    "Reuben", "Harriet", "Zain", "Imogen", "Tobias", "Maja", "Jakub", "Zofia", "Tomasz", "Ayla",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
    "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood",
    "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King",
    "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis",
    "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter",
    "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Khan", "Ali", "Hussain",
    "Begum", "Ahmed", "Singh", "Kaur", "Nowak", "Kowalski", "Okafor", "Mensah", "Adeyemi",
    "O’Brien", "Campbell", "Stewart", "Murray", "Fletcher", "Marsh", "Chapman", "Lloyd",
)  # fmt: skip
# Some pupils go by a shorter name than their legal one.
PREFERRED_NAMES = {
    "Alexander": "Alex", "Elizabeth": "Beth", "William": "Will", "Thomas": "Tom",
    "Benjamin": "Ben", "Katherine": "Kate", "Matthew": "Matt", "Samuel": "Sam",
    "Charlotte": "Lottie", "Isabella": "Bella", "Joshua": "Josh", "Oliver": "Ollie",
    "Theodore": "Teddy", "Jessica": "Jess", "Harriet": "Hattie", "Tobias": "Toby",
}  # fmt: skip
PREFERRED_NAME_SHARE = 0.4

# --- The school's profile, by phase -----------------------------------------------------------


@dataclass(frozen=True)
class PhaseProfile:
    years: dict[int, float]  # year group -> relative size
    suspensions: tuple[float, float]  # per 100 pupils a year, the range schools spread over
    permanent: float  # permanent exclusions per 100 pupils a year
    ehc_plans: float
    sen_support: float
    nursery_class: float = 0.0  # share of schools with a nursery class (year group -1)
    sixth_form: float = 0.0  # share of schools with years 12 and 13


_PRIMARY_YEARS = dict.fromkeys(range(7), 1.0)
_SECONDARY_YEARS = dict.fromkeys(range(7, 12), 1.0)
_SIXTH_FORM = {12: 0.55, 13: 0.5}
PRIMARY = PhaseProfile(
    _PRIMARY_YEARS, (0.3, 1.5), 0.02, ehc_plans=0.025, sen_support=0.13, nursery_class=0.3
)
SECONDARY = PhaseProfile(
    _SECONDARY_YEARS, (2.0, 10.0), 0.15, ehc_plans=0.025, sen_support=0.13, sixth_form=0.6
)
PROFILES = {
    "Nursery": PhaseProfile({-2: 0.5, -1: 1.0}, (0.0, 0.0), 0.0, ehc_plans=0.01, sen_support=0.06),
    "Primary": PRIMARY,
    "Middle deemed primary": PRIMARY,
    "Secondary": SECONDARY,
    "Middle deemed secondary": SECONDARY,
    "16 plus": PhaseProfile({12: 1.0, 13: 0.9}, (0.5, 2.0), 0.02, ehc_plans=0.02, sen_support=0.1),
    "All-through": PhaseProfile(
        {**_PRIMARY_YEARS, **_SECONDARY_YEARS, **_SIXTH_FORM},
        (1.5, 6.0),
        0.1,
        ehc_plans=0.025,
        sen_support=0.13,
    ),
    # Special schools and alternative provision: most pupils have an EHC plan.
    "Not applicable": PhaseProfile(
        dict.fromkeys(range(1, 12), 1.0), (2.0, 8.0), 0.1, ehc_plans=0.85, sen_support=0.1
    ),
}

# --- Attendance -------------------------------------------------------------------------------
# A pupil's absence propensity: the share of sessions they miss, drawn by tier.
TYPICAL_MEAN, TYPICAL_CAP = 0.032, 0.09
PERSISTENT_SHARE, PERSISTENT_RANGE = 0.11, (0.10, 0.22)
SEVERE_SHARE, SEVERE_RANGE = 0.025, (0.25, 0.6)
DISADVANTAGED_FACTOR, SEN_FACTOR = 1.3, 1.2
# Older pupils miss more: (up to this year group, factor).
YEAR_GROUP_FACTORS = ((6, 0.85), (8, 1.1), (11, 1.3), (14, 1.15))
WHOLE_DAY_SHARE = 0.85  # absence is mostly whole days (both sessions, one code)
# Codes, by the share of their branch. Authorised and unauthorised whole-day absence are
# split by the pupil's own authorised share.
AUTHORISED_DAY_CODES = {"I": 0.86, "C": 0.06, "R": 0.04, "M": 0.04}
UNAUTHORISED_DAY_CODES = {"O": 0.45, "G": 0.35, "N": 0.2}
PART_DAY_CODES = {"M": 0.55, "I": 0.1, "C": 0.05, "U": 0.2, "O": 0.1}
PRESENT_CODES = {"L": 0.025, "V": 0.006, "B": 0.003}  # the rest: / in the morning, \ after
# Reception pupils start part-time: mornings only for the first two weeks of September.
RECEPTION_SETTLING_DAYS = 14
JOINED_THIS_TERM, LEFT_THIS_TERM, JOINED_IN_YEAR = 0.03, 0.02, 0.08

# --- Suspensions and permanent exclusions -----------------------------------------------------
SUSPENSION_SESSIONS = {1: 15, 2: 45, 3: 6, 4: 15, 5: 3, 6: 8, 10: 6, 20: 2}
EXCLUSION_REASONS = {
    ExclusionReason.WILFUL_DEFIANCE: 45,
    ExclusionReason.VERBAL_ADULT: 12,
    ExclusionReason.PHYSICAL_PUPIL: 10,
    ExclusionReason.VERBAL_PUPIL: 8,
    ExclusionReason.PHYSICAL_ADULT: 6,
    ExclusionReason.DRUGS: 4,
    ExclusionReason.DAMAGE: 3,
    ExclusionReason.BULLYING: 2,
    ExclusionReason.DISCRIMINATION: 2,
    ExclusionReason.WEAPON: 2,
    ExclusionReason.ONLINE: 2,
    ExclusionReason.OTHER: 2,
    ExclusionReason.THEFT: 1,
    ExclusionReason.SEXUAL: 1,
}
# A permanently excluded pupil stays on roll (marked E) until the governors confirm it.
PERMANENT_EXCLUSION_SCHOOL_DAYS = 15


# --- The calendar -----------------------------------------------------------------------------


_DAY = datetime.timedelta(days=1)


def _easter(year: int) -> datetime.date:
    """Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday) // 451
    month, day = divmod(h + weekday - 7 * m + 114, 31)
    return datetime.date(year, month, day + 1)


def _week_of(monday: datetime.date) -> set[datetime.date]:
    return {monday + datetime.timedelta(days=n) for n in range(5)}


def _last_full_week_of_october(year: int) -> datetime.date:
    """Its Monday."""
    day = datetime.date(year, 10, 27)
    return day - datetime.timedelta(days=day.weekday())


def holidays(academic_year: datetime.date) -> set[datetime.date]:
    """The usual weekday holidays of an English school year starting 1 September: half
    terms (autumn: the last full week of October; spring: the week of the third Monday in
    February; summer: the week of the last Monday in May), Christmas, Easter (the week before and
    the week after), the early May bank holiday and the summer from 23 July."""
    autumn, spring = academic_year.year, academic_year.year + 1
    days = _week_of(_last_full_week_of_october(autumn))
    last_of_may = datetime.date(spring, 5, 31)
    days |= _week_of(last_of_may - datetime.timedelta(days=last_of_may.weekday()))
    third_monday = datetime.date(spring, 2, 15)
    days |= _week_of(third_monday + datetime.timedelta(days=-third_monday.weekday() % 7))
    easter = _easter(spring)
    days |= _week_of(easter - datetime.timedelta(days=6)) | _week_of(easter + _DAY)
    may_day = datetime.date(spring, 5, 1)
    days.add(may_day + datetime.timedelta(days=-may_day.weekday() % 7))
    # Christmas: from the Monday after the last Friday on or before 20 December to the
    # weekday before 4 January.
    break_up = datetime.date(autumn, 12, 20)
    break_up -= datetime.timedelta(days=(break_up.weekday() - 4) % 7)
    days |= set(_dates(break_up + _DAY, datetime.date(spring, 1, 3)))
    days |= set(_dates(datetime.date(spring, 7, 23), datetime.date(spring, 8, 31)))
    return days


def _dates(first: datetime.date, last: datetime.date) -> Iterable[datetime.date]:
    day = first
    while day <= last:
        yield day
        day += _DAY


def school_days(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """Weekdays from ``first`` to ``last`` that are not holidays (``holidays``)."""
    off: set[datetime.date] = set()
    for year in range(academic_year_start(first).year, academic_year_start(last).year + 1):
        off |= holidays(datetime.date(year, 9, 1))
    return [day for day in _dates(first, last) if day.weekday() < 5 and day not in off]


# --- The plan (Python) ------------------------------------------------------------------------


@dataclass
class _Pupil:
    key: int  # 0..n-1 in the school: what the marks' hashes are drawn from
    upn: str
    first_name: str
    last_name: str
    preferred_name: str
    date_of_birth: datetime.date
    year_group: int
    enrolled_on: datetime.date
    leaves_on: datetime.date | None  # on the records once the day has passed
    fsm: bool
    disadvantaged: bool
    sen: str
    absence: float  # the share of sessions missed, roughly
    authorised_share: float

    def left_on(self, today: datetime.date) -> datetime.date | None:
        return self.leaves_on if self.leaves_on is not None and self.leaves_on < today else None

    def row(self, today: datetime.date) -> tuple:
        """The pupil's columns on ``today``, in ``_STORED_PUPILS_SQL``'s order."""
        return (
            self.upn,
            self.first_name,
            self.last_name,
            self.preferred_name,
            self.date_of_birth,
            self.year_group,
            self.enrolled_on,
            self.left_on(today),
            self.fsm,
            self.disadvantaged,
            self.sen,
        )


@dataclass
class _Exclusion:
    pupil: _Pupil
    kind: str
    starts_on: datetime.date
    sessions: int | None
    reason: str


@dataclass
class SchoolPlan:
    """A school's records for the term, as they stand on ``today``.

    Everything is drawn for the whole term (and the exclusions for the whole academic
    year) whatever ``today`` is; ``today`` only decides what is on the records yet: pupils
    who have joined, leaving dates that have passed, exclusions that have started, marks
    up to the day. So the records of a later day of the term add to an earlier day's."""

    today: datetime.date
    term_pupils: list[_Pupil]
    year_exclusions: list[_Exclusion]
    term_days: list[datetime.date]  # all the term's school days
    closure: datetime.date | None
    reception_settled_on: datetime.date
    salt: int
    # (pupil key, day, session) of each session a pupil is excluded from
    excluded_sessions: set[tuple[int, datetime.date, str]] = field(default_factory=set)

    @property
    def pupils(self) -> list[_Pupil]:
        return [p for p in self.term_pupils if p.enrolled_on <= self.today]

    @property
    def exclusions(self) -> list[_Exclusion]:
        return [e for e in self.year_exclusions if e.starts_on <= self.today]

    @property
    def days(self) -> list[datetime.date]:
        return [day for day in self.term_days if day <= self.today]


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's; the means here are small)."""
    limit, count, product = math.exp(-min(mean, 500.0)), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _apportion(total: int, weights: dict[int, float]) -> dict[int, int]:
    """``total`` split in proportion to ``weights`` (largest remainders)."""
    scale = total / sum(weights.values())
    shares = {key: weight * scale for key, weight in weights.items()}
    counts = {key: int(share) for key, share in shares.items()}
    by_remainder = sorted(weights, key=lambda key: (counts[key] - shares[key], key))
    for key in by_remainder[: total - sum(counts.values())]:
        counts[key] += 1
    return counts


def _profile(phase: str) -> PhaseProfile:
    return PROFILES.get(phase, PRIMARY)


def _year_sizes(rng: random.Random, profile: PhaseProfile, pupils: int) -> dict[int, int]:
    years = dict(profile.years)
    if rng.random() < profile.nursery_class:
        years[-1] = 0.8
    if rng.random() < profile.sixth_form:
        years |= _SIXTH_FORM
    return _apportion(pupils, {year: w * rng.uniform(0.9, 1.1) for year, w in years.items()})


def _absence(rng: random.Random, *, disadvantaged: bool, sen: str, year_group: int):
    """A pupil's propensity to miss a session, and the share of it that is authorised."""
    tier = rng.random()
    if tier < SEVERE_SHARE:
        rate, authorised = rng.uniform(*SEVERE_RANGE), 0.45
    elif tier < SEVERE_SHARE + PERSISTENT_SHARE:
        rate, authorised = rng.uniform(*PERSISTENT_RANGE), 0.6
    else:
        rate, authorised = min(TYPICAL_CAP, rng.expovariate(1 / TYPICAL_MEAN)), 0.8
    if disadvantaged:
        rate, authorised = rate * DISADVANTAGED_FACTOR, authorised - 0.08
    if sen != SenProvision.NONE:
        rate *= SEN_FACTOR
    rate *= next(factor for last, factor in YEAR_GROUP_FACTORS if year_group <= last)
    return min(rate, 0.7), authorised


class _Upns:
    """Valid UPNs: a check letter, the issuing LA and establishment, the year of issue
    and a serial unique per (LA, establishment, year)."""

    def __init__(self) -> None:
        self._serials: dict[str, itertools.count] = {}

    def issue(self, la_code: str, establishment: str, year: int) -> str:
        prefix = f"{la_code}{establishment}{year % 100:02d}"
        serial = next(self._serials.setdefault(prefix, itertools.count()))
        if serial > 999:
            raise ValueError(f"More than 1,000 UPNs issued by {prefix}")
        body = f"{prefix}{serial:03d}"
        return upn_check_letter(body) + body


def _plan_pupils(
    rng: random.Random,
    *,
    la_code: str,
    establishment_number: str,
    pupils: int,
    profile: PhaseProfile,
    term_days: list[datetime.date],
    year_start: datetime.date,
) -> list[_Pupil]:
    sizes = _year_sizes(rng, profile, pupils)
    first_year = min(sizes)
    fsm_rate = rng.uniform(0.13, 0.33)
    # Pupils who joined after reception got their UPN at a primary school near by.
    feeders = [(la_code, f"{rng.randrange(2000, 4000):04d}") for _ in range(8)]
    feeders += [(f"{rng.randrange(201, 939):03d}", f"{rng.randrange(2000, 4000):04d}")]
    upns = _Upns()
    # Joining and leaving this term happen on a school day other than the first or last.
    join_days = leave_days = term_days[1:-1]
    result = []
    for year_group in sorted(sizes):
        born_from = datetime.date(year_start.year - 5 - year_group, 9, 1)
        for _ in range(sizes[year_group]):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            preferred = ""
            if first in PREFERRED_NAMES and rng.random() < PREFERRED_NAME_SHARE:
                preferred = PREFERRED_NAMES[first]
            entry_year = year_start.year - (year_group - first_year)
            enrolled_on = datetime.date(entry_year, 9, 1)
            moved = rng.random()
            leaves_on = None
            if moved < JOINED_THIS_TERM and join_days:
                enrolled_on = rng.choice(join_days)
            elif moved < JOINED_THIS_TERM + LEFT_THIS_TERM and leave_days:
                leaves_on = rng.choice(leave_days)
            elif moved < JOINED_THIS_TERM + LEFT_THIS_TERM + JOINED_IN_YEAR and entry_year < (
                year_start.year
            ):
                joined = rng.randrange(entry_year, year_start.year)
                enrolled_on = datetime.date(joined, 9, 1) + datetime.timedelta(rng.randrange(300))
            # A pupil who started school here got their UPN here; others brought theirs.
            if first_year <= 0 and enrolled_on == datetime.date(entry_year, 9, 1):
                issuer = (la_code, establishment_number)
            else:
                issuer = rng.choice(feeders)
            upn = upns.issue(*issuer, year_start.year - max(year_group, 0))
            compulsory = year_group >= 0
            fsm = compulsory and rng.random() < fsm_rate
            disadvantaged = fsm or (compulsory and rng.random() < 0.045)
            sen_draw = rng.random()
            if sen_draw < profile.ehc_plans:
                sen = SenProvision.EHC_PLAN
            elif sen_draw < profile.ehc_plans + profile.sen_support:
                sen = SenProvision.SEN_SUPPORT
            else:
                sen = SenProvision.NONE
            absence, authorised = _absence(
                rng, disadvantaged=disadvantaged, sen=sen, year_group=year_group
            )
            result.append(
                _Pupil(
                    key=len(result),
                    upn=upn,
                    first_name=first,
                    last_name=last,
                    preferred_name=preferred,
                    date_of_birth=born_from + datetime.timedelta(days=rng.randrange(365)),
                    year_group=year_group,
                    enrolled_on=enrolled_on,
                    leaves_on=leaves_on,
                    fsm=fsm,
                    disadvantaged=disadvantaged,
                    sen=str(sen.value),
                    absence=absence,
                    authorised_share=authorised,
                )
            )
    return result


def _plan_exclusions(
    rng: random.Random,
    *,
    pupils: list[_Pupil],
    profile: PhaseProfile,
    year_days: list[datetime.date],
) -> list[_Exclusion]:
    """The academic year's suspensions and permanent exclusions (``year_days``: its school
    days). A permanently excluded pupil leaves the roll after
    ``PERMANENT_EXCLUSION_SCHOOL_DAYS`` more school days (marked E until then)."""
    candidates = [p for p in pupils if p.year_group >= 1 and p.leaves_on is None]
    if not year_days or not candidates:
        return []
    weights = [
        p.absence * (2.0 if p.disadvantaged else 1.0) * (1.5 if p.sen != "N" else 1.0)
        for p in candidates
    ]
    rate = rng.uniform(*profile.suspensions)
    exclusions = []

    def a_day_on_roll(pupil: _Pupil) -> datetime.date | None:
        days = [day for day in year_days if day >= pupil.enrolled_on]
        return rng.choice(days) if days else None

    for _ in range(_poisson(rng, rate / 100 * len(pupils))):
        pupil = rng.choices(candidates, weights=weights)[0]
        if (day := a_day_on_roll(pupil)) is not None:
            sessions = _weighted(rng, SUSPENSION_SESSIONS)
            kind, reason = ExclusionKind.SUSPENSION, _weighted(rng, EXCLUSION_REASONS)
            exclusions.append(_Exclusion(pupil, kind, day, sessions, reason))
    # Permanent exclusions fall mostly on pupils suspended before.
    suspended = {e.pupil.key for e in exclusions}
    weights = [
        w * (4 if p.key in suspended else 1) for p, w in zip(candidates, weights, strict=True)
    ]
    for _ in range(_poisson(rng, profile.permanent / 100 * len(pupils))):
        pupil = rng.choices(candidates, weights=weights)[0]
        if pupil.leaves_on is not None or (day := a_day_on_roll(pupil)) is None:
            continue
        later = [d for d in year_days if d > day][:PERMANENT_EXCLUSION_SCHOOL_DAYS]
        if len(later) == PERMANENT_EXCLUSION_SCHOOL_DAYS:
            pupil.leaves_on = later[-1]
        reason = _weighted(rng, EXCLUSION_REASONS)
        exclusions.append(_Exclusion(pupil, ExclusionKind.PERMANENT, day, None, reason))
    # Nothing after a pupil has left.
    exclusions = [
        e for e in exclusions if e.pupil.leaves_on is None or e.starts_on <= e.pupil.leaves_on
    ]
    return sorted(exclusions, key=lambda e: (e.starts_on, e.pupil.key, e.kind))


def _excluded_sessions(plan: SchoolPlan) -> set[tuple[int, datetime.date, str]]:
    """(pupil key, day, session) of every session this term a pupil is excluded from: the
    suspension's length from its first morning; a permanent exclusion's until the pupil
    leaves the roll. The closure day does not count."""
    days = [day for day in plan.term_days if day != plan.closure]
    sessions = [(day, session) for day in days for session in ("AM", "PM")]
    result = set()
    for exclusion in plan.year_exclusions:
        pupil = exclusion.pupil
        length = exclusion.sessions or 2 * PERMANENT_EXCLUSION_SCHOOL_DAYS
        taken = [s for s in sessions if s[0] >= exclusion.starts_on][:length]
        result |= {
            (pupil.key, day, session)
            for day, session in taken
            if pupil.leaves_on is None or day <= pupil.leaves_on
        }
    return result


def plan_school(
    *,
    la_code: str,
    establishment_number: str,
    pupils: int,
    phase: str,
    today: datetime.date,
    seed: int,
) -> SchoolPlan:
    """Everything decided per pupil, without the database (see ``SchoolPlan``)."""
    rng = random.Random(f"matmis.mis:{seed}:{la_code}:{establishment_number}")  # noqa: S311
    term = term_of(today)
    year_start = academic_year_start(today)
    term_days = school_days(term.start, term.end)
    # A planned closure (a training day, say) in the first half of the term.
    closure = rng.choice(term_days[5 : len(term_days) // 2]) if len(term_days) > 11 else None
    profile = _profile(phase)
    planned = _plan_pupils(
        rng,
        la_code=la_code,
        establishment_number=establishment_number,
        pupils=pupils,
        profile=profile,
        term_days=term_days,
        year_start=year_start,
    )
    year_end = datetime.date(year_start.year + 1, 8, 31)
    exclusions = _plan_exclusions(
        rng,
        pupils=planned,
        profile=profile,
        year_days=[d for d in school_days(year_start, year_end) if d != closure],
    )
    plan = SchoolPlan(
        today=today,
        term_pupils=planned,
        year_exclusions=exclusions,
        term_days=term_days,
        closure=closure,
        reception_settled_on=year_start + datetime.timedelta(days=RECEPTION_SETTLING_DAYS),
        salt=rng.getrandbits(62),
    )
    plan.excluded_sessions = _excluded_sessions(plan)
    return plan


# --- The rows (SQL) ---------------------------------------------------------------------------

_DELETE_SQL = (
    "DELETE FROM mis_markamendment WHERE site_id = %(school)s",
    "DELETE FROM mis_attendancemark WHERE site_id = %(school)s",
    "DELETE FROM mis_exclusion WHERE site_id = %(school)s",
    "DELETE FROM mis_pupil WHERE site_id = %(school)s",
)

_PUPILS_SQL = """
INSERT INTO mis_pupil (
    site_id, upn, legal_first_name, legal_last_name, preferred_first_name, date_of_birth,
    year_group, enrolled_on, left_on, fsm_eligible, disadvantaged, sen_provision)
SELECT %(school)s, p.*
FROM unnest(%(upn)s::text[], %(first)s::text[], %(last)s::text[], %(preferred)s::text[],
            %(born)s::date[], %(year)s::smallint[], %(enrolled)s::date[], %(left)s::date[],
            %(fsm)s::boolean[], %(disadvantaged)s::boolean[], %(sen)s::text[]) AS p
RETURNING id, upn
"""

_EXCLUSIONS_SQL = """
INSERT INTO mis_exclusion (site_id, pupil_id, kind, starts_on, sessions, reason)
SELECT %(school)s, e.*
FROM unnest(%(pupil)s::bigint[], %(kind)s::text[], %(starts)s::date[], %(sessions)s::int[],
            %(reason)s::text[]) AS e
"""

# Uniform numbers in [0, 1) from two 26-bit slices of one 64-bit hash.
_LOW = "(({h} & 67108863)::float8 / 67108864)"
_HIGH = "((({h} >> 26) & 67108863)::float8 / 67108864)"


def _pick(uniform: str, shares: dict[str, float], *, scale: str = "1", otherwise: str) -> str:
    """``CASE`` choosing a code by where ``uniform`` (in [0, ``scale``)) falls."""
    cases, total = [], 0.0
    for code, share in shares.items():
        total += share
        cases.append(f"WHEN {uniform} < {scale} * {total!r} THEN {_literal(code)}")
    return f"CASE {' '.join(cases)} ELSE {otherwise} END"


def _literal(code: str) -> str:
    return "'" + code.replace("'", "''") + "'"


def _marks_select() -> str:
    """(site_id, pupil_id, date, session, code) of every mark."""
    day_u, day_v = _LOW.format(h="m.day_hash"), _HIGH.format(h="m.day_hash")
    session_u, session_v = _LOW.format(h="m.session_hash"), _HIGH.format(h="m.session_hash")
    # A whole day's code: authorised below the pupil's authorised share, else unauthorised.
    authorised = _pick(day_v, AUTHORISED_DAY_CODES, scale="m.authorised", otherwise="'I'")
    unauthorised = _pick(
        f"(1 - {day_v})", UNAUTHORISED_DAY_CODES, scale="(1 - m.authorised)", otherwise="'O'"
    )
    whole_day = f"CASE WHEN {day_v} < m.authorised THEN {authorised} ELSE {unauthorised} END"
    part_day = _pick(session_v, PART_DAY_CODES, otherwise="'M'")
    present = _pick(
        session_v, PRESENT_CODES, otherwise="CASE m.session WHEN 'AM' THEN '/' ELSE '\\' END"
    )
    # Built from the constants above: no input reaches the text.
    return f"""
SELECT %(school)s AS site_id, m.pupil_id, m.day AS date, m.session,
       CASE
           WHEN m.day = %(closure)s THEN '#'
           WHEN m.excluded THEN 'E'
           WHEN m.session = 'PM' AND (m.year_group < 0
                OR (m.year_group = 0 AND m.day < %(reception_settled_on)s)) THEN 'X'
           WHEN {day_u} < m.day_rate THEN {whole_day}
           WHEN {session_u} < m.session_rate THEN {part_day}
           ELSE {present}
       END AS code
FROM (
    SELECT p.pupil_id, p.year_group, p.day_rate, p.session_rate, p.authorised,
           d.day, s.session, e.pupil_id IS NOT NULL AS excluded,
           hashint8extended(p.key * 100000 + (d.day - DATE '2000-01-01'), %(salt)s) AS day_hash,
           hashint8extended(p.key * 200000 + 2 * (d.day - DATE '2000-01-01') + s.n,
                            %(salt)s + 1) AS session_hash
    FROM unnest(%(pupil)s::bigint[], %(key)s::bigint[], %(year)s::int[], %(first)s::date[],
                %(last)s::date[], %(day_rate)s::float8[], %(session_rate)s::float8[],
                %(authorised)s::float8[])
         AS p(pupil_id, key, year_group, first_day, last_day, day_rate, session_rate,
              authorised)
    CROSS JOIN LATERAL (
        SELECT day FROM unnest(%(days)s::date[]) AS day
        WHERE day >= p.first_day AND (p.last_day IS NULL OR day <= p.last_day)
    ) AS d
    CROSS JOIN (VALUES ('AM', 0), ('PM', 1)) AS s(session, n)
    LEFT JOIN unnest(%(excluded_pupil)s::bigint[], %(excluded_day)s::date[],
                     %(excluded_session)s::text[]) AS e(pupil_id, day, session)
         ON e.pupil_id = p.pupil_id AND e.day = d.day AND e.session = s.session
    OFFSET 0  -- each row's hashes computed once
) AS m
"""  # noqa: S608


_MARKS_SELECT = _marks_select()
# In the primary key's order: each pupil's marks go in side by side.
_MARKS_SQL = f"""
INSERT INTO mis_attendancemark (site_id, pupil_id, date, session, code)
{_MARKS_SELECT}
ORDER BY pupil_id, date, session
"""
# A checksum of a school's marks, to compare what it holds with what would be made.
_CHECKSUM = """count(*), coalesce(sum(
    hashint8(pupil_id * 200000 + 2 * (date - DATE '2000-01-01') + (session = 'PM')::int)
    # hashtext(code)), 0)"""
_MARKS_CHECKSUM_SQL = f"SELECT {_CHECKSUM} FROM ({_MARKS_SELECT}) AS marks"  # noqa: S608
_STORED_MARKS_SQL = f"""
SELECT {_CHECKSUM}, max(date) FROM mis_attendancemark WHERE site_id = %(school)s
"""  # noqa: S608
_STORED_PUPILS_SQL = """
SELECT id, upn, legal_first_name, legal_last_name, preferred_first_name, date_of_birth,
       year_group, enrolled_on, left_on, fsm_eligible, disadvantaged, sen_provision
FROM mis_pupil WHERE site_id = %(school)s
"""
_STORED_EXCLUSIONS_SQL = """
SELECT pupil_id, kind, starts_on, sessions, reason FROM mis_exclusion WHERE site_id = %(school)s
"""
_LEFT_SQL = """
UPDATE mis_pupil SET left_on = v.left_on
FROM unnest(%(pupil)s::bigint[], %(left)s::date[]) AS v(id, left_on)
WHERE mis_pupil.site_id = %(school)s AND mis_pupil.id = v.id
"""


def _rates(pupil: _Pupil) -> tuple[float, float]:
    """Per day and per session: most absence is whole days, the rest single sessions."""
    day_rate = WHOLE_DAY_SHARE * pupil.absence
    return day_rate, (pupil.absence - day_rate) / (1 - day_rate)


def generate_school_mis(
    *,
    school_id: int,
    la_code: str,
    establishment_number: str,
    pupils: int,
    phase: str,
    today: datetime.date,
    seed: int,
    keep_current: bool = False,
) -> dict[str, int]:
    """Make one school's MIS records what ``plan_school`` gives for these arguments (the
    same rows for the same arguments, whatever was there before) and note that its figures
    are due. Returns what the school now holds, and ``written`` (0 when nothing changed).

    By default the school's records are replaced. With ``keep_current``, records made by
    the same arguments for an earlier day of the term (or for the same day) are kept and
    only what is new is added: pupils who joined, leaving dates that passed, exclusions,
    the marks of the days since (the marks so far are checked against a checksum first);
    records that differ in any other way are replaced."""
    # Imported here: bench modules load before Django is set up.
    from matmis.tenancy import site_scope
    from mis.rollups import records_changed

    plan = plan_school(
        la_code=la_code or "999",
        establishment_number=establishment_number or "9999",
        pupils=pupils,
        phase=phase,
        today=today,
        seed=seed,
    )
    with transaction.atomic(), site_scope(school_id), connection.cursor() as cursor:
        # Room to sort the school's marks in memory (until the transaction ends).
        cursor.execute("SET LOCAL work_mem = '64MB'")
        kept = _bring_up_to_date(cursor, school_id, plan) if keep_current else None
        marks, written = kept if kept is not None else (_replace(cursor, school_id, plan), True)
        if written:
            records_changed(school_ids=[school_id])
    kinds = [e.kind for e in plan.exclusions]
    return {
        "pupils": len(plan.pupils),
        "marks": marks,
        "suspensions": kinds.count(ExclusionKind.SUSPENSION),
        "permanent_exclusions": kinds.count(ExclusionKind.PERMANENT),
        "written": int(written),
    }


def _replace(cursor, school_id: int, plan: SchoolPlan) -> int:
    """Replace the school's records with the plan's; returns how many marks it wrote."""
    for statement in _DELETE_SQL:
        cursor.execute(statement, {"school": school_id})
    ids = _insert_pupils(cursor, school_id, plan.pupils, plan.today)
    cursor.execute(_MARKS_SQL, _marks_params(school_id, plan, plan.pupils, ids, plan.days))
    marks = cursor.rowcount
    _insert_exclusions(cursor, school_id, plan.exclusions, ids)
    return marks


def _bring_up_to_date(cursor, school_id: int, plan: SchoolPlan) -> tuple[int, bool] | None:
    """Add what the plan has and the school's records do not yet (see
    ``generate_school_mis``): returns the marks the school then holds and whether anything
    was written, or None when the records are not an earlier state of the plan's."""
    today = plan.today
    cursor.execute(_STORED_PUPILS_SQL, {"school": school_id})
    stored = {row[1]: (row[0], row[1:]) for row in cursor.fetchall()}
    if not stored:
        return None
    ids, joined, left = {}, [], []
    for pupil in plan.pupils:
        if pupil.upn not in stored:
            joined.append(pupil)
            continue
        pk, row = stored.pop(pupil.upn)
        wanted = pupil.row(today)
        ids[pupil.key] = pk
        if row == wanted:
            continue
        if row[7] is None and row[:7] + row[8:] == wanted[:7] + wanted[8:]:
            left.append((pk, wanted[7]))
            continue
        return None
    if stored:  # pupils the plan does not have
        return None
    cursor.execute(_STORED_EXCLUSIONS_SQL, {"school": school_id})
    stored_exclusions = Counter(cursor.fetchall())
    new_exclusions = []
    for e in plan.exclusions:
        row = (ids.get(e.pupil.key), str(e.kind), e.starts_on, e.sessions, str(e.reason))
        if stored_exclusions[row] > 0:
            stored_exclusions[row] -= 1
        else:
            new_exclusions.append(e)
    if +stored_exclusions:  # exclusions the plan does not have
        return None
    # The marks so far must be the plan's, up to the last day marked.
    cursor.execute(_STORED_MARKS_SQL, {"school": school_id})
    *marks_so_far, last_marked = cursor.fetchone()
    if last_marked is not None and last_marked > today:
        return None
    on_file = [p for p in plan.pupils if p.key in ids]
    expected = [0, 0]
    if last_marked is not None:
        marked_days = [day for day in plan.days if day <= last_marked]
        params = _marks_params(school_id, plan, on_file, ids, marked_days)
        cursor.execute(_MARKS_CHECKSUM_SQL, params)
        expected = list(cursor.fetchone())
    if expected != marks_so_far:
        return None
    # Then add what is new.
    if joined:
        ids |= _insert_pupils(cursor, school_id, joined, today)
    if left:
        params = {"school": school_id, "pupil": [p for p, _ in left], "left": [d for _, d in left]}
        cursor.execute(_LEFT_SQL, params)
    _insert_exclusions(cursor, school_id, new_exclusions, ids)
    new_days = [day for day in plan.days if last_marked is None or day > last_marked]
    added = 0
    if new_days or joined:
        # Pupils on file: the days since the last one marked; pupils who joined: all theirs.
        after = {p.key: last_marked + _DAY for p in on_file} if last_marked else {}
        cursor.execute(
            _MARKS_SQL, _marks_params(school_id, plan, plan.pupils, ids, plan.days, after)
        )
        added = cursor.rowcount
    written = bool(joined or left or new_exclusions or added)
    return marks_so_far[0] + added, written


def _insert_pupils(cursor, school_id: int, pupils: list[_Pupil], today) -> dict[int, int]:
    """The new pupils' ids, by their keys."""
    cursor.execute(
        _PUPILS_SQL,
        {
            "school": school_id,
            "upn": [p.upn for p in pupils],
            "first": [p.first_name for p in pupils],
            "last": [p.last_name for p in pupils],
            "preferred": [p.preferred_name for p in pupils],
            "born": [p.date_of_birth for p in pupils],
            "year": [p.year_group for p in pupils],
            "enrolled": [p.enrolled_on for p in pupils],
            "left": [p.left_on(today) for p in pupils],
            "fsm": [p.fsm for p in pupils],
            "disadvantaged": [p.disadvantaged for p in pupils],
            "sen": [p.sen for p in pupils],
        },
    )
    id_of = {upn: pk for pk, upn in cursor.fetchall()}
    return {p.key: id_of[p.upn] for p in pupils}


def _marks_params(
    school_id: int,
    plan: SchoolPlan,
    pupils: list[_Pupil],
    ids: dict[int, int],
    days: list[datetime.date],
    after: dict[int, datetime.date] | None = None,
) -> dict:
    """``_MARKS_SELECT``'s parameters: the marks of ``pupils`` on ``days`` within their
    enrolment (from ``after[key]`` instead of their first day, where given)."""
    rates = [_rates(p) for p in pupils]
    after = after or {}
    excluded = sorted(
        (ids[key], day, session)
        for key, day, session in plan.excluded_sessions
        if key in ids and day <= plan.today
    )
    return {
        "school": school_id,
        "salt": plan.salt,
        "closure": plan.closure,
        "reception_settled_on": plan.reception_settled_on,
        "days": days,
        "pupil": [ids[p.key] for p in pupils],
        "key": [p.key for p in pupils],
        "year": [p.year_group for p in pupils],
        "first": [max(p.enrolled_on, after.get(p.key, p.enrolled_on)) for p in pupils],
        "last": [p.left_on(plan.today) for p in pupils],
        "day_rate": [day for day, _ in rates],
        "session_rate": [session for _, session in rates],
        "authorised": [p.authorised_share for p in pupils],
        "excluded_pupil": [pupil for pupil, _, _ in excluded],
        "excluded_day": [day for _, day, _ in excluded],
        "excluded_session": [session for _, _, session in excluded],
    }


def _insert_exclusions(cursor, school_id, exclusions: list[_Exclusion], ids) -> None:
    if not exclusions:
        return
    cursor.execute(
        _EXCLUSIONS_SQL,
        {
            "school": school_id,
            "pupil": [ids[e.pupil.key] for e in exclusions],
            "kind": [str(e.kind) for e in exclusions],
            "starts": [e.starts_on for e in exclusions],
            "sessions": [e.sessions for e in exclusions],
            "reason": [str(e.reason) for e in exclusions],
        },
    )


def generate_group_mis(
    schools: Iterable,
    *,
    today: datetime.date,
    seed: int,
    pupils_per_school: int | None = None,
    max_pupils: int | None = None,
    keep_current: bool = False,
    workers: int = 1,
) -> dict[str, int]:
    """``generate_school_mis`` for each school (an ``Institution``), one transaction each.

    Each school gets ``pupils_per_school`` pupils, or else the register's figure
    (``Institution.pupils``; 200 when it has none), at most ``max_pupils``. With
    ``workers`` above 1 the schools are shared among that many threads, each on its own
    database connection (not inside a transaction: other connections could not see what it
    has not committed). Returns the sums of what each school returned, and ``schools``."""
    schools = list(schools)

    def generate(share: list) -> list[dict[str, int]]:
        results = []
        for school in share:
            pupils = pupils_per_school if pupils_per_school is not None else school.pupils
            pupils = pupils or 200
            if max_pupils is not None:
                pupils = min(pupils, max_pupils)
            results.append(
                generate_school_mis(
                    school_id=school.pk,
                    la_code=school.la_code,
                    establishment_number=school.establishment_number,
                    pupils=pupils,
                    phase=school.phase,
                    today=today,
                    seed=seed,
                    keep_current=keep_current,
                )
            )
        return results

    def generate_in_thread(share: list) -> list[dict[str, int]]:
        try:
            return generate(share)
        finally:
            connections.close_all()  # this thread's own

    if workers > 1 and not connection.in_atomic_block:
        with ThreadPoolExecutor(workers) as pool:
            shares = [schools[n::workers] for n in range(workers)]
            results = [r for share in pool.map(generate_in_thread, shares) for r in share]
    else:
        results = generate(schools)
    totals = dict.fromkeys(
        ("schools", "written", "pupils", "marks", "suspensions", "permanent_exclusions"), 0
    )
    totals["schools"] = len(results)
    for counts in results:
        for name, value in counts.items():
            totals[name] += value
    return totals
