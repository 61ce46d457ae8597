"""A national register of establishments, generated: deterministic, realistic, fast.

``write_register(stream, establishments=50_000, seed=1)`` writes what the national
register's establishment export looks like: its 140 columns in the official order, CRLF
line ends, cp1252 by default, ``dd-mm-yyyy`` dates, fields quoted only where needed, blank
cells where real files have them, ``SUPP`` now and then in ``PercentageFSM``, curly
apostrophes, Ofsted grades in varying capitalisation (and blank for schools never inspected
or inspected since single grades ended), and about half the rows closed. The same
arguments always give the same bytes.

``register_plan(...)`` says, without writing anything, which local authorities and trusts
the file holds and how many *current* schools (status Open, or Open but proposed to close)
each has, so a benchmark can pick "a group of 600" or "a group of 5".

Profiles:
- ``england``: at 50,000 establishments, about 24,500 current schools in the 153 English
  local authorities (the largest, Kent, has 600) and about 1,300 trusts (mostly 2 to 15
  schools, the largest 100). Other sizes scale these figures.
- ``demo``: about 4,000 establishments around the invented local authority Northshire
  (code 960, 300 current schools) and the Oak Ridge Trust (code 9001, 40 current schools,
  among them Oak Ridge Primary School), with neighbouring authorities and other trusts.
"""

import csv
import io
import random
import re
from bisect import bisect
from dataclasses import dataclass
from datetime import date
from itertools import accumulate
from typing import BinaryIO

from . import gias_reference as ref

COLUMNS = ref.COLUMNS
PROFILES = ("england", "demo")

# The day the generated register was extracted; every date in it is relative to this one.
REGISTER_DATE = date(2026, 11, 2)
CENSUS_DATE = "15-01-2026"
LEGACY_GRADES_ENDED = date(2024, 9, 1)

# At 50,000 establishments (england): current schools and groups.
ENGLAND_ESTABLISHMENTS = 50_000
ENGLAND_CURRENT_SCHOOLS = 24_500
ENGLAND_LARGEST_LA = 600
ENGLAND_TRUSTS = 1_300
ENGLAND_LARGEST_TRUST = 100

DEMO_ESTABLISHMENTS = 4_000
DEMO_LA_CODE, DEMO_LA_NAME = ref.DEMO_LOCAL_AUTHORITY[0], ref.DEMO_LOCAL_AUTHORITY[1]
DEMO_LA_SCHOOLS = 300
DEMO_TRUST_CODE, DEMO_TRUST_NAME = "9001", "Oak Ridge Trust"
DEMO_TRUST_SCHOOLS = 40
DEMO_HEAD_SCHOOL = "Oak Ridge Primary School"
# Named demo schools, all open in Northshire: (name, type code, phase code, in the trust).
DEMO_NAMED_SCHOOLS = (
    (DEMO_HEAD_SCHOOL, "34", "2", True),
    ("St Mary’s Church of England Primary School", "34", "2", True),
    ("Hollins Park Academy", "28", "4", True),
    ("Westbrook Secondary School", "34", "4", True),
    ("Northshire Nursery School", "15", "1", False),
    ("Fenwick Community Primary School", "1", "2", False),
    ("Ashdown Infant School", "1", "2", False),
)

CURRENT_SHARE = ENGLAND_CURRENT_SCHOOLS / ENGLAND_ESTABLISHMENTS
OPEN_PROPOSED_TO_CLOSE_SHARE = 0.006
PROPOSED_TO_OPEN_SHARE = 0.005
# Of current schools: independent schools, colleges and other establishments outside trusts.
OTHER_SHARE = 0.11
# Of all establishments (england): schools overseas, in no local authority; current, closed.
OVERSEAS_CURRENT_SHARE = 0.0035
OVERSEAS_CLOSED_SHARE = 0.002
# At most this share of a local authority's maintained-or-academy schools join trusts.
TRUST_TAKE_UP = 0.75

ACADEMY, MAINTAINED, OTHER, OVERSEAS = "academy", "maintained", "other", "overseas"


@dataclass(frozen=True)
class Group:
    """A local authority or trust of the register, with its number of current schools."""

    code: str
    name: str
    current_schools: int


@dataclass(frozen=True)
class RegisterPlan:
    profile: str
    establishments: int
    seed: int
    current_schools: int
    local_authorities: tuple[Group, ...]
    trusts: tuple[Group, ...]

    def largest_local_authority(self) -> Group:
        return _largest(self.local_authorities)

    def largest_trust(self) -> Group:
        return _largest(self.trusts)

    def local_authority_of_size(self, size: int) -> Group:
        """The local authority whose current schools number ``size``, or the nearest."""
        return _nearest(self.local_authorities, size)

    def trust_of_size(self, size: int) -> Group:
        """The trust whose current schools number ``size``, or the nearest."""
        return _nearest(self.trusts, size)


def _largest(groups: tuple[Group, ...]) -> Group:
    return min(groups, key=lambda g: (-g.current_schools, g.code))


def _nearest(groups: tuple[Group, ...], size: int) -> Group:
    return min(groups, key=lambda g: (abs(g.current_schools - size), g.code))


def register_plan(*, establishments: int, seed: int, profile: str = "england") -> RegisterPlan:
    """The groups of the register that ``write_register`` writes for the same arguments."""
    return _layout(establishments, seed, profile).plan


def write_register(
    stream: BinaryIO,
    *,
    establishments: int,
    seed: int,
    encoding: str = "cp1252",
    profile: str = "england",
) -> RegisterPlan:
    """Write the register to the binary ``stream`` (left open); returns its plan.

    ``encoding`` is ``cp1252`` like many real downloads, or e.g. ``utf-8-sig``.
    """
    layout = _layout(establishments, seed, profile)
    rows = _RowMaker(layout, seed)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="", write_through=False)
    try:
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows.values(layout.rows[i], urn) for urn, i in layout.urn_order)
        text.flush()
    finally:
        text.detach()
    return layout.plan


# --- Layout: statuses, local authorities and trusts of every row ---------------------------


class _Weighted:
    """Picks one of ``pairs`` (value, weight) with one draw of ``rng.random()``."""

    __slots__ = ("cumulative", "last", "total", "values")

    def __init__(self, pairs) -> None:
        self.values = [value for value, _ in pairs]
        self.cumulative = list(accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1]
        self.last = len(self.values) - 1

    def pick(self, rng: random.Random):
        return self.values[min(bisect(self.cumulative, rng.random() * self.total), self.last)]


@dataclass(slots=True)
class _LocalAuthority:
    code: str
    name: str
    region: str
    kind: str  # L London borough, M metropolitan district, U unitary, C county
    weight: float
    county: str


@dataclass(slots=True)
class _Trust:
    code: str
    name: str
    wanted: int
    current: int = 0


@dataclass(slots=True)
class _Row:
    status: str
    la: int
    kind: str
    trust: int = -1
    named: tuple[str, str, str] | None = None  # name, type code, phase code


@dataclass(slots=True)
class _Layout:
    las: list[_LocalAuthority]
    trusts: list[_Trust]
    rows: list[_Row]
    urn_order: list[tuple[int, int]]  # (URN, row index), URNs ascending
    plan: RegisterPlan
    reserved_names: frozenset[str]
    junk_names: bool


def _layout(establishments: int, seed: int, profile: str) -> _Layout:
    if profile not in PROFILES:
        raise ValueError(f"Unknown profile {profile!r}; choose one of {', '.join(PROFILES)}.")
    if establishments < 1:
        raise ValueError("A register needs at least one establishment.")
    rng = random.Random(f"matmis-register/{profile}/{establishments}/{seed}/layout")  # noqa: S311
    n = establishments
    n_current = max(1, round(n * CURRENT_SHARE))
    n_proposed_to_close = round(n * OPEN_PROPOSED_TO_CLOSE_SHARE)
    n_proposed_to_open = min(n - n_current, round(n * PROPOSED_TO_OPEN_SHARE))
    n_closed = n - n_current - n_proposed_to_open
    n_overseas_current = n_overseas_closed = 0

    if profile == "england":
        n_overseas_current = round(n * OVERSEAS_CURRENT_SHARE)
        n_overseas_closed = min(n_closed, round(n * OVERSEAS_CLOSED_SHARE))
        las = [_LocalAuthority(*row) for row in ref.LOCAL_AUTHORITIES]
        largest = max(range(len(las)), key=lambda i: las[i].weight)
        fixed = {largest: round(ENGLAND_LARGEST_LA * n_current / ENGLAND_CURRENT_SCHOOLS)}
    else:
        by_code = {row[0]: row for row in ref.LOCAL_AUTHORITIES}
        las = [_LocalAuthority(*ref.DEMO_LOCAL_AUTHORITY)]
        las += [_LocalAuthority(*by_code[code]) for code in ref.DEMO_NEIGHBOURS]
        wanted = round(DEMO_LA_SCHOOLS * n / DEMO_ESTABLISHMENTS)
        fixed = {0: min(n_current, max(len(DEMO_NAMED_SCHOOLS), wanted))}
    current_per_la = _apportion(n_current - n_overseas_current, [la.weight for la in las], fixed)

    statuses = ["3"] * n_proposed_to_close + ["1"] * (n_current - n_proposed_to_close)
    rng.shuffle(statuses)
    rows: list[_Row] = []
    pools: list[list[int]] = []  # per local authority: current rows that may join a trust
    for la_index, count in enumerate(current_per_la):
        pool = []
        for _ in range(count):
            kind = OTHER if rng.random() < OTHER_SHARE else MAINTAINED
            if kind == MAINTAINED:
                pool.append(len(rows))
            rows.append(_Row(statuses[len(rows)], la_index, kind))
        pools.append(pool)

    overseas = len(las)
    for _ in range(n_overseas_current):
        rows.append(_Row(statuses[len(rows)], overseas, OVERSEAS))

    trusts = _trusts(rng, profile, n)
    if profile == "demo":
        _place_demo_schools(rows, pools, trusts[0])
    _fill_trusts(rng, rows, pools, trusts, las)

    la_picker = _Weighted([(i, la.weight) for i, la in enumerate(las)])
    for _ in range(n_overseas_closed):
        rows.append(_Row("2", overseas, OVERSEAS))
    for status, count in (("2", n_closed - n_overseas_closed), ("4", n_proposed_to_open)):
        for _ in range(count):
            row = _Row(status, la_picker.pick(rng), MAINTAINED)
            r = rng.random()
            if status == "2":
                row.kind = MAINTAINED if r < 0.55 else ACADEMY if r < 0.75 else OTHER
                with_trust = 0.7
            else:
                row.kind = ACADEMY if r < 0.7 else MAINTAINED if r < 0.8 else OTHER
                with_trust = 0.8
            if row.kind == ACADEMY and trusts and rng.random() < with_trust:
                row.trust = rng.randrange(len(trusts))
            rows.append(row)

    # URNs: six digits, unique, ascending through the file; academies (which got their URN
    # when they converted or opened) have the later ones.
    span = min(900_000, max(3 * n, 60_000))
    urns = sorted(rng.sample(range(100_000, 100_000 + span), n))
    keys = [(row.kind == ACADEMY, rng.random()) for row in rows]
    order = sorted(range(n), key=keys.__getitem__)
    urn_order = list(zip(urns, order, strict=True))

    plan = RegisterPlan(
        profile=profile,
        establishments=n,
        seed=seed,
        current_schools=n_current,
        local_authorities=tuple(
            sorted(
                (
                    Group(la.code, la.name, count)
                    for la, count in zip(las, current_per_la, strict=True)
                ),
                key=lambda g: g.code,
            )
        ),
        trusts=tuple(sorted((Group(t.code, t.name, t.current) for t in trusts), key=_code)),
    )
    reserved = frozenset(_name_key(name) for name, *_ in DEMO_NAMED_SCHOOLS)
    return _Layout(
        las=[*las, _LocalAuthority(*ref.OVERSEAS)],
        trusts=trusts,
        rows=rows,
        urn_order=urn_order,
        plan=plan,
        reserved_names=reserved if profile == "demo" else frozenset(),
        junk_names=profile == "england",
    )


def _code(group: Group) -> str:
    return group.code


def _name_key(name: str) -> str:
    """What a name's site slug would be made of: lower-case letters and digits."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower().replace("’", "").replace("'", "")).strip("-")


def _apportion(total: int, weights: list[float], fixed: dict[int, int]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainders), some counts fixed."""
    counts = [0] * len(weights)
    free = [i for i in range(len(weights)) if i not in fixed]
    rest = max(0, total - sum(fixed.values()))
    weight_sum = sum(weights[i] for i in free)
    quotas = {i: rest * weights[i] / weight_sum for i in free}
    for i in free:
        counts[i] = int(quotas[i])
    left = rest - sum(counts[i] for i in free)
    for i in sorted(free, key=lambda i: (counts[i] - quotas[i], i))[:left]:
        counts[i] += 1
    for i, count in fixed.items():
        counts[i] = count
    return counts


def _trusts(rng: random.Random, profile: str, n: int) -> list[_Trust]:
    count = max(1, round(ENGLAND_TRUSTS * n / ENGLAND_ESTABLISHMENTS))
    largest = max(2, round(ENGLAND_LARGEST_TRUST * n / ENGLAND_ESTABLISHMENTS))
    if profile == "demo":
        own = max(len(DEMO_NAMED_SCHOOLS), round(DEMO_TRUST_SCHOOLS * n / DEMO_ESTABLISHMENTS))
        largest = max(2, own * 3 // 4)
    sizes = [largest] + [_trust_size(rng, largest) for _ in range(count - 1)]
    codes = rng.sample(range(1000, 10_000 if count < 8000 else 100_000), count + 1)
    codes = [str(code) for code in codes if str(code) != DEMO_TRUST_CODE][:count]
    names = _trust_names(rng, count, duplicates=profile == "england")
    trusts = [
        _Trust(code, name, size) for code, name, size in zip(codes, names, sizes, strict=True)
    ]
    if profile == "demo":
        trusts.insert(0, _Trust(DEMO_TRUST_CODE, DEMO_TRUST_NAME, own))
        trusts.pop()
    return trusts


def _trust_size(rng: random.Random, largest: int) -> int:
    r = rng.random()
    if r < 0.08:
        size = 1  # a single-academy trust
    elif r < 0.88:
        size = 2 + int(14 * rng.random() ** 1.7)
    elif r < 0.98:
        size = rng.randint(16, 39)
    else:
        size = rng.randint(40, 99)
    return min(size, largest)


def _trust_names(rng: random.Random, count: int, *, duplicates: bool) -> list[str]:
    names = [f"{word} {ending}" for word in ref.TRUST_WORDS for ending in ref.TRUST_ENDINGS]
    names += [f"Diocese of {diocese} Academy Trust" for diocese in ref.DIOCESES]
    names += [f"{diocese} Catholic Academy Trust" for diocese in ref.DIOCESES]
    rng.shuffle(names)
    if count > len(names):
        more = [
            f"{start}{end} {kind}"
            for start in ref.TOWN_STARTS
            for end in ref.TOWN_ENDS
            for kind in ("Learning Trust", "Academy Trust", "Schools Trust")
        ]
        rng.shuffle(more)
        names += more
    chosen = names[:count]
    if duplicates:
        # Now and then two trusts share a name (the register allows it; codes differ).
        for i in range(10, count):
            if rng.random() < 0.005:
                chosen[i] = chosen[rng.randrange(i)]
    return chosen


def _place_demo_schools(rows: list[_Row], pools: list[list[int]], trust: _Trust) -> None:
    """The demo's named schools: open, in Northshire, the first four in the trust."""
    northshire = pools[0]
    for name, type_code, phase, in_trust in DEMO_NAMED_SCHOOLS:
        row = rows[northshire.pop()]
        row.status, row.named = "1", (name, type_code, phase)
        if in_trust:
            row.kind, row.trust = ACADEMY, 0
            trust.current += 1
    # The rest of the trust: mostly Northshire, a fifth in the next authority.
    elsewhere = min(len(pools[1]), (trust.wanted - trust.current) // 5) if len(pools) > 1 else 0
    for pool, count in (
        (pools[0], trust.wanted - trust.current - elsewhere),
        (pools[1], elsewhere),
    ):
        for _ in range(min(count, len(pool))):
            row = rows[pool.pop()]
            row.kind, row.trust = ACADEMY, 0
            trust.current += 1
    trust.wanted = trust.current


def _fill_trusts(
    rng: random.Random,
    rows: list[_Row],
    pools: list[list[int]],
    trusts: list[_Trust],
    las: list[_LocalAuthority],
) -> None:
    """Give each trust its schools, near one another: a home authority, then its region."""
    capacity = [int(len(pool) * TRUST_TAKE_UP) for pool in pools]
    for pool in pools:
        rng.shuffle(pool)
    order = sorted(range(len(trusts)), key=lambda t: (-trusts[t].wanted, t))
    for t in order:
        trust = trusts[t]
        needed = trust.wanted - trust.current
        if needed <= 0 or not any(capacity):
            continue
        home = rng.choices(range(len(pools)), weights=[max(c, 0) for c in capacity])[0]
        region = las[home].region
        nearby = [i for i in range(len(las)) if las[i].region == region and i != home]
        rng.shuffle(nearby)
        rest = [i for i in range(len(las)) if las[i].region != region]
        chunk = needed if needed <= 15 else max(8, -(-needed // 3))
        for i in [home, *nearby, *rest]:
            take = min(chunk, needed, capacity[i], len(pools[i]))
            for _ in range(max(take, 0)):
                row = rows[pools[i].pop()]
                row.kind, row.trust = ACADEMY, t
            if take > 0:
                capacity[i] -= take
                needed -= take
                trust.current += take
            if needed == 0:
                break


# --- Rows: every column of one establishment -----------------------------------------------


def _dmy(day: date) -> str:
    return f"{day.day:02d}-{day.month:02d}-{day.year}"


_PHASES = {
    "school": _Weighted((("2", 76), ("4", 18), ("7", 2.5), ("3", 1.5), ("5", 2))),
    "free": _Weighted((("2", 45), ("4", 40), ("7", 12), ("6", 3))),
    "special": _Weighted((("0", 92), ("2", 4), ("4", 4))),
    "independent": _Weighted((("0", 70), ("2", 15), ("4", 10), ("7", 5))),
    "ap": _Weighted((("0", 85), ("4", 15))),
}
_PHASE_OF_TYPE = {
    "15": "1",
    "18": "6",
    "31": "6",
    "32": "6",
    "39": "6",
    "45": "6",
    "46": "6",
    "40": "4",
    "41": "4",
    "10": "0",
    "24": "0",
    "25": "0",
    "37": "0",
    "27": "0",
    "29": "0",
    "49": "0",
    "56": "0",
}
_AGES = {
    "1": _Weighted((((2, 5), 50), ((3, 5), 40), ((2, 4), 10))),
    "2": _Weighted((((4, 11), 60), ((3, 11), 25), ((2, 11), 10), ((5, 11), 5))),
    "3": _Weighted((((8, 12), 50), ((9, 12), 50))),
    "4": _Weighted((((11, 16), 45), ((11, 18), 50), ((11, 19), 3), ((13, 18), 2))),
    "5": _Weighted((((9, 13), 70), ((10, 13), 30))),
    "6": _Weighted((((16, 19), 80), ((16, 18), 20))),
    "7": _Weighted((((4, 18), 50), ((3, 18), 25), ((4, 16), 15), ((2, 19), 10))),
    "special": _Weighted(
        (((2, 19), 30), ((3, 19), 20), ((4, 19), 20), ((11, 19), 15), ((5, 16), 15))
    ),
    "ap": _Weighted((((5, 16), 30), ((11, 16), 60), ((11, 18), 10))),
    "independent": _Weighted(
        (((3, 18), 40), ((4, 18), 20), ((2, 13), 15), ((11, 18), 15), ((3, 11), 10))
    ),
    "college": _Weighted((((16, 99), 70), ((14, 99), 30))),
    "other": _Weighted((((10, 17), 50), ((11, 18), 50))),
}  # fmt: skip
_CAPACITY = {
    "1": (40, 130),
    "3": (300, 700),
    "4": (500, 2000),
    "5": (300, 700),
    "6": (200, 2000),
    "7": (1000, 2400),
}
_PRIMARY_CAPACITIES = (90, 105, 140, 210, 210, 240, 315, 420, 420, 480, 630, 840)
_OPENED_REASONS = _Weighted(
    (
        (("00", "Not applicable"), 75),
        (("01", "Result of Amalgamation"), 8),
        (("02", "Result of Closure"), 2),
        (("03", "New Provision"), 8),
        (("04", "Change in status"), 4),
        (("05", "Fresh Start"), 3),
    )
)
_CLOSED_REASONS = _Weighted(
    (
        (("10", "Academy Converter"), 40),
        (("11", "Academy Sponsor Led"), 10),
        (("01", "Result of Amalgamation/Merger"), 15),
        (("02", "Closure"), 25),
        (("04", "Change in status"), 10),
    )
)
_ACADEMY_CLOSED_REASONS = _Weighted(
    (
        (("21", "Academy Trust Transfer"), 50),
        (("01", "Result of Amalgamation/Merger"), 20),
        (("02", "Closure"), 30),
    )
)
_FREE_SCHOOL_TYPES = ("35", "36", "38", "39", "40", "41")
_GRADES = _Weighted(ref.OFSTED_GRADES)
_TITLES = _Weighted(ref.HEAD_TITLES)
_JOB_TITLES = _Weighted(ref.HEAD_JOB_TITLES)
_ACADEMY_TYPES = _Weighted(ref.ACADEMY_TYPES)
_NEW_ACADEMY_TYPES = _Weighted(ref.NEW_ACADEMY_TYPES)
_MAINTAINED_TYPES = _Weighted(ref.MAINTAINED_TYPES)
_OTHER_TYPES = _Weighted(ref.OTHER_TYPES)
_OVERSEAS_TYPES = _Weighted(ref.OVERSEAS_TYPES)


@dataclass(slots=True)
class _Area:
    """What the schools of one local authority share: towns, postcodes, geography."""

    towns: list[str]
    postcode_areas: list[str]
    easting: int
    northing: int
    gss: str
    web_domain: str
    districts: list[tuple[str, str]]
    wards: list[tuple[str, str]]
    constituencies: list[tuple[str, str]]
    urban_rural: _Weighted
    msoa_base: int
    numbers: dict[int, int]


class _RowMaker:
    def __init__(self, layout: _Layout, seed: int) -> None:
        profile, n = layout.plan.profile, layout.plan.establishments
        self.rng = random.Random(f"matmis-register/{profile}/{n}/{seed}/rows")  # noqa: S311
        self.layout = layout
        self.reserved = layout.reserved_names
        self.junk_names = layout.junk_names
        self.template = dict.fromkeys(COLUMNS, "")
        town_pool = [start + end for start in ref.TOWN_STARTS for end in ref.TOWN_ENDS]
        town_pool += ref.TWO_WORD_TOWNS
        self.areas = [self._area(la, i, town_pool) for i, la in enumerate(layout.las)]

    def _area(self, la: _LocalAuthority, index: int, town_pool: list[str]) -> _Area:
        rng = self.rng
        if la.kind == "X":
            return _Area(
                towns=[city for city, _ in ref.OVERSEAS_PLACES],
                postcode_areas=[],
                easting=0,
                northing=0,
                gss="",
                web_domain="com",
                districts=[],
                wards=[],
                constituencies=[],
                urban_rural=_Weighted([(("", ""), 1)]),
                msoa_base=0,
                numbers={},
            )
        _, east, north = ref.REGIONS[la.region]
        towns = rng.sample(town_pool, 4 if la.kind in "LM" else rng.randint(6, 24))
        if la.kind == "L":
            towns = ["London"] * 6 + towns
        elif la.kind == "M":
            towns = [la.name] * 4 + towns
        gss_prefix = {"L": "E09", "M": "E08", "U": "E06", "C": "E10"}[la.kind]
        gss = f"{gss_prefix}{index + 1:06d}"
        if la.kind == "C":
            districts = [(f"E07{rng.randint(0, 999999):06d}", town) for town in towns[:8]]
        else:
            districts = [(gss, la.name)]
        wards = [
            (f"E05{rng.randint(0, 999999):06d}", f"{rng.choice(towns)} {suffix}")
            for suffix in ("North", "South", "East", "West", "Central", "Park", "Rural")
        ]
        constituencies = [
            (f"E14{rng.randint(1000, 1999):06d}", town)
            for town in towns[: max(2, round(la.weight / 60))]
        ]
        urban = {
            "L": ((0, 95), (2, 5)),
            "M": ((0, 70), (2, 20), (3, 6), (4, 4)),
            "U": ((1, 10), (2, 55), (3, 15), (4, 15), (5, 5)),
            "C": ((2, 35), (3, 25), (4, 30), (5, 10)),
        }[la.kind]
        slug = re.sub(r"[^a-z]+", "", la.name.split(",")[0].lower())
        return _Area(
            towns=towns,
            postcode_areas=rng.sample(ref.POSTCODE_AREAS, rng.randint(1, 3)),
            easting=east + rng.randint(-60_000, 60_000),
            northing=north + rng.randint(-50_000, 50_000),
            gss=gss,
            web_domain=rng.choice((f"{slug}.sch.uk", "org.uk", "co.uk", "sch.uk", "com")),
            districts=districts,
            wards=wards,
            constituencies=constituencies,
            urban_rural=_Weighted([(ref.URBAN_RURAL[i], w) for i, w in urban]),
            msoa_base=rng.randint(1, 6000),
            numbers={},
        )

    # -- one row -------------------------------------------------------------------------

    def values(self, row: _Row, urn: int):
        rng = self.rng
        la = self.layout.las[row.la]
        area = self.areas[row.la]
        status = row.status
        current = status in ref.CURRENT_STATUS_CODES
        out = self.template.copy()

        if row.named is not None:
            name, type_code, phase = row.named
        else:
            type_code = self._type(row)
            phase = self._phase(type_code)
            name = self._name(type_code, phase, area)
        type_name, group_code = ref.TYPES[type_code]
        low, high = self._ages(type_code, phase, name)
        faith = _faith_of(name)

        out["URN"] = str(urn)
        out["LA (code)"] = la.code
        out["LA (name)"] = la.name
        out["EstablishmentNumber"] = self._establishment_number(area, type_code, phase)
        out["EstablishmentName"] = name
        out["TypeOfEstablishment (code)"] = type_code
        out["TypeOfEstablishment (name)"] = type_name
        out["EstablishmentTypeGroup (code)"] = group_code
        out["EstablishmentTypeGroup (name)"] = ref.TYPE_GROUPS[group_code]
        out["EstablishmentStatus (code)"] = status
        out["EstablishmentStatus (name)"] = ref.STATUSES[status]
        out["PhaseOfEducation (code)"] = phase
        out["PhaseOfEducation (name)"] = ref.PHASES[phase]
        if low is not None:
            out["StatutoryLowAge"], out["StatutoryHighAge"] = str(low), str(high)

        opened, closed = self._dates(out, row, type_code)
        self._characteristics(out, type_code, phase, low, high, faith)
        pupils = self._census(out, type_code, phase, current, closed)
        self._trust(out, row, type_code)
        self._ofsted(out, type_code, status, opened, closed)
        self._address(out, la, area, name, current)
        self._head(out, status)
        self._provision(out, type_code, phase, current, pupils)
        self._geography(out, la, area)
        today = REGISTER_DATE.toordinal()
        if closed and closed < REGISTER_DATE:
            changed = rng.randint(closed.toordinal(), today)
        else:
            changed = today - rng.randint(0, 700 if current else 2000)
        out["LastChangedDate"] = _dmy(date.fromordinal(changed))
        return out.values()

    def _type(self, row: _Row) -> str:
        if row.kind == ACADEMY:
            picker = _NEW_ACADEMY_TYPES if row.status == "4" else _ACADEMY_TYPES
            return picker.pick(self.rng)
        if row.kind == MAINTAINED:
            return _MAINTAINED_TYPES.pick(self.rng)
        if row.kind == OVERSEAS:
            return _OVERSEAS_TYPES.pick(self.rng)
        return _OTHER_TYPES.pick(self.rng)

    def _phase(self, type_code: str) -> str:
        if type_code in _PHASE_OF_TYPE:
            return _PHASE_OF_TYPE[type_code]
        if type_code in ref.SPECIAL_TYPES:
            return _PHASES["special"].pick(self.rng)
        if type_code in ref.ALTERNATIVE_PROVISION_TYPES:
            return _PHASES["ap"].pick(self.rng)
        if type_code == "11":
            return _PHASES["independent"].pick(self.rng)
        if type_code in _FREE_SCHOOL_TYPES:
            return _PHASES["free"].pick(self.rng)
        return _PHASES["school"].pick(self.rng)

    def _ages(self, type_code: str, phase: str, name: str) -> tuple[int | None, int | None]:
        if type_code in ("29",):
            return None, None
        if phase == "2" and "Infant" in name:
            return (3 if "Nursery" in name else 4), (11 if "Junior" in name else 7)
        if phase == "2" and "Junior" in name:
            return 7, 11
        if phase != "0":
            return _AGES[phase].pick(self.rng)
        if type_code in ref.SPECIAL_TYPES:
            return _AGES["special"].pick(self.rng)
        if type_code in ref.ALTERNATIVE_PROVISION_TYPES:
            return _AGES["ap"].pick(self.rng)
        if type_code in ("11", "25", "37"):
            return _AGES["independent"].pick(self.rng)
        if type_code in ("18", "31", "32"):
            return _AGES["college"].pick(self.rng)
        return _AGES["other"].pick(self.rng)

    def _establishment_number(self, area: _Area, type_code: str, phase: str) -> str:
        """A number unique in the authority, in the range the register uses for the kind."""
        if type_code == "15" or phase == "1":
            start, size = 1000, 100
        elif type_code in ref.ALTERNATIVE_PROVISION_TYPES:
            start, size = 1100, 900
        elif type_code in ref.INDEPENDENT_TYPES:
            start, size = 6000, 1000
        elif type_code in ref.SPECIAL_TYPES:
            start, size = 7000, 1000
        elif phase in ("4", "5", "6", "7"):
            start, size = 4000, 2000
        else:
            start, size = 2000, 2000
        used = area.numbers.get(start, 0) + self.rng.randint(1, 2)
        if used >= size:
            start, size = 8000, 2000
            used = area.numbers.get(start, 0) + 1
        area.numbers[start] = used
        return str(start + used % size)

    # -- names ---------------------------------------------------------------------------

    def _place(self, area: _Area) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.45:
            town = rng.choice(area.towns)
            return rng.choice(ref.PLACE_WORDS) if town == "London" else town
        if r < 0.8:
            return rng.choice(ref.PLACE_WORDS)
        return f"{rng.choice(ref.PLACE_WORDS)} {rng.choice(ref.PLACE_FEATURES)}"

    def _name(self, type_code: str, phase: str, area: _Area) -> str:
        rng = self.rng
        for _ in range(20):
            name = self._make_name(type_code, phase, area)
            if rng.random() < 0.025:
                name = f"{name}, {rng.choice(area.towns)}"
            if not self.reserved or _name_key(name) not in self.reserved:
                break
        if self.junk_names and rng.random() < 0.00005:
            name = f"{name}\n(Annexe)"
        return name

    def _make_name(self, type_code: str, phase: str, area: _Area) -> str:
        rng = self.rng
        pick = rng.choice
        place = self._place(area)
        academy = ref.TYPES[type_code][1] in ("10", "11")
        if type_code == "15" or phase == "1":
            return f"{place} {pick(('Nursery School', 'Nursery School', 'Children’s Centre'))}"
        if type_code in ref.SPECIAL_TYPES or type_code == "10":
            endings = ("School", "Special School", "Park School", "House School")
            ending = pick((*endings, "Academy", "Academy") if academy else endings)
            return f"The {place} School" if rng.random() < 0.15 else f"{place} {ending}"
        if type_code in ref.ALTERNATIVE_PROVISION_TYPES:
            ending = ("Pupil Referral Unit", "Learning Centre", "Short Stay School", "Academy")
            return f"{place} {pick(ending)}"
        if type_code == "18":
            return f"{pick(area.towns)} College" + pick(("", "", " of Further Education"))
        if type_code == "29":
            return pick((f"University of {pick(area.towns)}", f"{pick(area.towns)} University"))
        if type_code == "40":
            return pick((f"UTC {pick(area.towns)}", f"{place} University Technical College"))
        if type_code == "41":
            return f"{place} Studio School"
        if type_code == "49":
            return f"{pick(ref.TRUST_WORDS)} Online {pick(('School', 'Academy'))}"
        if type_code in ("24", "27", "56"):
            return f"{place} {pick(('Centre', 'Education Centre', 'Hospital School'))}"
        if type_code in ref.POST_16_TYPES or phase == "6":
            return f"{place} {pick(('Sixth Form College', 'Sixth Form', '16-19 Academy'))}"
        if type_code in ("11", "25", "37"):
            if rng.random() < 0.08:
                return f"{pick(ref.EPONYMS)} School"
            ending = ("School", "Preparatory School", "House School", "College", "Prep School")
            return f"{place} {pick((*ending, 'Montessori School', 'Independent School'))}"
        faith = self._faith_word(type_code)
        if phase in ("3", "5"):
            return f"{place} {'C of E ' if faith else ''}Middle School"
        if phase == "7":
            return f"{place} {pick(('All-Through School', 'Academy', 'School'))}"
        if phase == "4":
            if rng.random() < 0.04:
                return f"{pick(ref.EPONYMS)} {pick(('School', 'Grammar School', 'Academy'))}"
            if faith:
                ending = pick(("High School", "College", "Academy", "School"))
                return f"{pick(ref.SAINTS)} {faith} {ending}"
            endings = ("High School", "School", "Secondary School", "Community College")
            if academy:
                endings += ("Academy", "Academy", "Academy")
            return f"{place} {pick((*endings, 'College', 'Grammar School'))}"
        ending = pick(
            ("Primary School",) * 12
            + ("Infant School", "Junior School", "Primary and Nursery School")
            + (("Primary Academy", "Academy", "Academy") if academy else ("School",))
        )
        if faith:
            saint = pick(ref.SAINTS) if rng.random() < 0.7 else place
            if rng.random() < 0.25:
                saint = saint.replace("’", "'")
            return f"{saint} {faith} {ending}"
        if rng.random() < 0.15:
            return f"{place} Community {ending}"
        return f"{place} {ending}"

    def _faith_word(self, type_code: str) -> str:
        r = self.rng.random()
        if type_code == "2":
            church = r < 0.45
        elif type_code == "3":
            church = True
        elif r < 0.17:
            church = r < 0.12
        else:
            return ""
        if church:
            if type_code == "3" and r > 0.95:
                return "Methodist"
            return self.rng.choice(ref.CHURCH_OF_ENGLAND)
        return self.rng.choice(ref.CATHOLIC)

    # -- the columns, a few at a time -----------------------------------------------------

    def _dates(self, out: dict, row: _Row, type_code: str) -> tuple[date | None, date | None]:
        rng = self.rng
        today = REGISTER_DATE.toordinal()
        opened = closed = None
        if row.status == "4":
            opened = date(REGISTER_DATE.year + rng.randint(1, 2), rng.choice((1, 4, 9, 9, 9)), 1)
        elif row.kind == ACADEMY:
            opened = date.fromordinal(rng.randint(date(2010, 9, 1).toordinal(), today - 30))
        elif rng.random() < 0.55:
            opened = date.fromordinal(rng.randint(date(1960, 1, 1).toordinal(), today - 700))
        if row.status == "2":
            start = opened.toordinal() + 200 if opened else date(1995, 1, 1).toordinal()
            closed = date.fromordinal(rng.randint(min(start, today - 10), today - 10))
            picker = _ACADEMY_CLOSED_REASONS if row.kind == ACADEMY else _CLOSED_REASONS
            out["ReasonEstablishmentClosed (code)"], out["ReasonEstablishmentClosed (name)"] = (
                picker.pick(rng)
            )
        elif row.status == "3":
            closed = date.fromordinal(today + rng.randint(30, 300))
            out["ReasonEstablishmentClosed (code)"] = "02"
            out["ReasonEstablishmentClosed (name)"] = "Closure"
        else:
            out["ReasonEstablishmentClosed (code)"] = "00"
            out["ReasonEstablishmentClosed (name)"] = "Not applicable"
        if type_code in ref.SPONSOR_LED_TYPES:
            reason = ("11", "Academy Sponsor Led")
        elif type_code in _FREE_SCHOOL_TYPES:
            reason = ("12", "Academy Free School")
        elif row.kind == ACADEMY:
            reason = ("10", "Academy Converter")
        else:
            reason = _OPENED_REASONS.pick(rng)
        out["ReasonEstablishmentOpened (code)"], out["ReasonEstablishmentOpened (name)"] = reason
        if opened:
            out["OpenDate"] = _dmy(opened)
        if closed:
            out["CloseDate"] = _dmy(closed)
        return opened, closed

    def _characteristics(self, out: dict, type_code, phase, low, high, faith) -> None:
        rng = self.rng
        independent = type_code in ref.INDEPENDENT_TYPES
        if type_code in ("18", "29", "49"):
            out["Boarders (code)"], out["Boarders (name)"] = "0", "Not applicable"
        elif independent and rng.random() < 0.12:
            out["Boarders (code)"], out["Boarders (name)"] = "2", "Boarding school"
            out["BoardingEstablishment (name)"] = "Boarding school"
        else:
            out["Boarders (code)"], out["Boarders (name)"] = "1", "No boarders"
        if phase in ("2", "7"):
            nursery = (
                "Has Nursery Classes" if low is not None and low <= 3 else "No Nursery Classes"
            )
        else:
            nursery = "Has Nursery Classes" if phase == "1" else "Not applicable"
        out["NurseryProvision (name)"] = nursery
        if phase in ("4", "7", "6"):
            sixth = (
                ("1", "Has a sixth form")
                if high and high >= 18
                else ("2", "Does not have a sixth form")
            )
        else:
            sixth = ("0", "Not applicable")
        out["OfficialSixthForm (code)"], out["OfficialSixthForm (name)"] = sixth
        single_sex = 0.09 if phase == "4" or independent else 0.01
        r = rng.random()
        gender = (
            ("1", "Boys")
            if r < single_sex
            else ("2", "Girls")
            if r < 2 * single_sex
            else ("3", "Mixed")
        )
        out["Gender (code)"], out["Gender (name)"] = gender
        character, diocese = {
            "CE": ("Church of England", "CE"),
            "RC": ("Roman Catholic", "RC"),
            "Methodist": ("Methodist", "ME"),
        }.get(faith, ("Does not apply", ""))
        out["ReligiousCharacter (code)"] = {"CE": "02", "RC": "03", "Methodist": "04"}.get(
            faith, "00"
        )
        out["ReligiousCharacter (name)"] = character
        out["ReligiousEthos (name)"] = character
        if diocese:
            number = rng.randrange(len(ref.DIOCESES))
            out["Diocese (code)"] = f"{diocese}{number + 1:02d}"
            prefix = "Archdiocese of" if diocese == "RC" and number % 7 == 0 else "Diocese of"
            out["Diocese (name)"] = f"{prefix} {ref.DIOCESES[number]}"
        else:
            out["Diocese (code)"], out["Diocese (name)"] = "0000", "Not applicable"
        if phase == "4" and not independent:
            grammar = rng.random() < 0.04
            policy = ("2", "Selective") if grammar else ("1", "Non-selective")
        else:
            policy = ("0", "Not applicable")
        out["AdmissionsPolicy (code)"], out["AdmissionsPolicy (name)"] = policy
        if independent:
            out["SpecialClasses (code)"], out["SpecialClasses (name)"] = "0", "Not applicable"
        elif rng.random() < 0.1:
            out["SpecialClasses (code)"], out["SpecialClasses (name)"] = "1", "Has Special Classes"
        else:
            out["SpecialClasses (code)"], out["SpecialClasses (name)"] = "2", "No Special Classes"

    def _census(self, out: dict, type_code, phase, current, closed) -> int:
        rng = self.rng
        if type_code in ref.NO_CENSUS_TYPES or not (current or (closed and rng.random() < 0.15)):
            return 0
        if phase == "2":
            capacity = rng.choice(_PRIMARY_CAPACITIES)
        elif phase in _CAPACITY:
            low, high = _CAPACITY[phase]
            capacity = rng.randint(low // 10, high // 10) * 10
        elif type_code in ref.ALTERNATIVE_PROVISION_TYPES:
            capacity = rng.randint(15, 90)
        elif type_code in ref.SPECIAL_TYPES:
            capacity = rng.randint(40, 300)
        else:
            capacity = rng.randint(30, 1200)
        pupils = max(3, round(capacity * rng.uniform(0.55, 1.08)))
        if rng.random() > 0.03:
            out["SchoolCapacity"] = str(capacity)
        if rng.random() < 0.02:
            return 0
        gender = out["Gender (code)"]
        boys = (
            pupils
            if gender == "1"
            else 0
            if gender == "2"
            else round(pupils * rng.uniform(0.45, 0.55))
        )
        out["CensusDate"] = CENSUS_DATE
        out["NumberOfPupils"] = str(pupils)
        out["NumberOfBoys"], out["NumberOfGirls"] = str(boys), str(pupils - boys)
        if type_code in ref.INDEPENDENT_TYPES:
            return pupils
        if rng.random() < (0.25 if pupils < 60 else 0.025):
            out["PercentageFSM"] = "SUPP"
        else:
            share = min(85.0, max(0.5, rng.gauss(24, 12)))
            out["PercentageFSM"] = f"{share:.1f}"
            out["FSM"] = str(round(pupils * share / 100))
        out["SENStat"] = str(round(pupils * rng.uniform(0, 0.05)))
        out["SENNoStat"] = str(round(pupils * rng.uniform(0.06, 0.2)))
        return pupils

    def _trust(self, out: dict, row: _Row, type_code: str) -> None:
        if row.trust < 0:
            out["TrustSchoolFlag (code)"], out["TrustSchoolFlag (name)"] = "0", "Not applicable"
            out["SchoolSponsorFlag (name)"] = "Not applicable"
            if row.kind == MAINTAINED and self.rng.random() < 0.04:
                out["FederationFlag (name)"] = "Supported by a federation"
                out["Federations (code)"] = f"{self.rng.randint(10000, 99999)}"
                out["Federations (name)"] = f"The {self._place(self.areas[row.la])} Federation"
            else:
                out["FederationFlag (name)"] = "Not under a federation"
            return
        trust = self.layout.trusts[row.trust]
        if trust.wanted == 1:
            flag = ("5", "Supported by a single-academy trust")
        else:
            flag = ("3", "Supported by a multi-academy trust")
        out["TrustSchoolFlag (code)"], out["TrustSchoolFlag (name)"] = flag
        out["Trusts (code)"], out["Trusts (name)"] = trust.code, trust.name
        if type_code in ref.SPONSOR_LED_TYPES:
            out["SchoolSponsorFlag (name)"] = "Linked to a sponsor"
            out["SchoolSponsors (name)"] = trust.name
        else:
            out["SchoolSponsorFlag (name)"] = "Not applicable"
        out["FederationFlag (name)"] = "Not under a federation"
        if self.rng.random() < 0.9:
            out["CHNumber"] = f"0{self.rng.randint(6_500_000, 9_999_999)}"

    def _ofsted(self, out: dict, type_code, status, opened, closed) -> None:
        rng = self.rng
        out["OfstedSpecialMeasures (code)"] = "0"
        out["OfstedSpecialMeasures (name)"] = "Not applicable"
        if type_code == "29" or status == "4":
            return
        if type_code in ("25", "37"):
            out["BSOInspectorateName (name)"] = rng.choice(ref.BSO_INSPECTORATES)
            return
        if type_code in ref.INDEPENDENT_TYPES and rng.random() < 0.55:
            out["InspectorateName (name)"] = "ISI"
            out["BSOInspectorateName (name)"] = "Not applicable"
            return
        out["InspectorateName (name)"] = "Ofsted"
        out["BSOInspectorateName (name)"] = "Not applicable"
        if status == "2":
            if closed is None or rng.random() < 0.5 or closed < date(2006, 1, 1):
                return
            first = max(date(2005, 9, 1), (opened or date(2005, 9, 1))).toordinal()
            last = min(closed, LEGACY_GRADES_ENDED).toordinal()
            if first >= last:
                return
            inspected = date.fromordinal(rng.randint(first, last))
        else:
            if opened and opened.year >= REGISTER_DATE.year - 1 and rng.random() < 0.7:
                return  # too new to have been inspected
            if rng.random() < 0.03:
                return
            if (opened and opened >= LEGACY_GRADES_ENDED) or rng.random() < 0.22:
                # Since September 2024 there is no single grade; since November 2025 a
                # report card grades areas instead.
                first = max(LEGACY_GRADES_ENDED, opened or LEGACY_GRADES_ENDED).toordinal()
                last = REGISTER_DATE.toordinal() - 7
                if first <= last:
                    out["OfstedLastInsp"] = _dmy(date.fromordinal(rng.randint(first, last)))
                return
            first = max(date(2016, 1, 1), opened or date(2016, 1, 1)).toordinal()
            last = LEGACY_GRADES_ENDED.toordinal() - 1
            inspected = date.fromordinal(rng.randint(min(first, last), last))
        grade = _GRADES.pick(rng)
        out["OfstedLastInsp"] = _dmy(inspected)
        out["OfstedRating (name)"] = grade
        if grade.lower() == "special measures":
            out["OfstedSpecialMeasures (code)"] = "1"
            out["OfstedSpecialMeasures (name)"] = "In special measures"

    def _address(self, out: dict, la: _LocalAuthority, area: _Area, name, current) -> None:
        rng = self.rng
        if la.kind == "X":
            city, country = rng.choice(ref.OVERSEAS_PLACES)
            out["Street"] = f"{rng.randint(1, 240)} {rng.choice(ref.PLACE_WORDS)} Avenue"
            out["Town"], out["Country (name)"] = city, country
            out["TelephoneNum"] = f"00{rng.randint(20, 99)} {rng.randint(10_000_000, 99_999_999)}"
            return
        number = f"{rng.randint(1, 240)} " if rng.random() < 0.45 else ""
        out["Street"] = f"{number}{rng.choice(ref.PLACE_WORDS)} {rng.choice(ref.STREET_TYPES)}"
        if rng.random() < 0.3:
            out["Locality"] = self._place(area)
        if rng.random() < 0.04:
            out["Address3"] = rng.choice(area.towns)
        out["Town"] = rng.choice(area.towns)
        if la.county and rng.random() < 0.55:
            out["County (name)"] = la.county
        out["Postcode"] = (
            f"{rng.choice(area.postcode_areas)}{rng.randint(1, 30)} "
            f"{rng.randint(0, 9)}{rng.choice(ref.POSTCODE_INWARD_LETTERS)}"
            f"{rng.choice(ref.POSTCODE_INWARD_LETTERS)}"
        )
        if rng.random() < (0.78 if current else 0.12):
            slug = "".join(ch for ch in name.lower() if ch.isascii() and ch.isalnum())[:20]
            scheme = "https://" if rng.random() < 0.25 else ""
            out["SchoolWebsite"] = f"{scheme}www.{slug}.{area.web_domain}"
        if rng.random() < (0.93 if current else 0.4):
            out["TelephoneNum"] = f"0{rng.randint(1_130_000_000, 2_099_999_999)}"
        if rng.random() < (0.85 if current else 0.35):
            out["UKPRN"] = str(rng.randint(10_000_000, 10_099_999))
        if rng.random() < 0.85:
            out["UPRN"] = str(rng.randint(10_000_000, 200_004_999_999))

    def _head(self, out: dict, status: str) -> None:
        rng = self.rng
        chance = {"1": 0.97, "3": 0.9, "4": 0.4}.get(status, 0.25)
        if rng.random() >= chance:
            return
        out["HeadTitle (name)"] = _TITLES.pick(rng)
        out["HeadFirstName"] = rng.choice(ref.FIRST_NAMES)
        out["HeadLastName"] = rng.choice(ref.LAST_NAMES)
        out["HeadPreferredJobTitle"] = _JOB_TITLES.pick(rng)

    def _provision(self, out: dict, type_code, phase, current, pupils) -> None:
        rng = self.rng
        for column in (
            "TeenMoth (name)",
            "CCF (name)",
            "SENPRU (name)",
            "EBD (name)",
            "FTProv (name)",
            "EdByOther (name)",
        ):
            out[column] = "Not applicable"
        if type_code == "10":
            out["Section41Approved (name)"] = "Approved" if rng.random() < 0.5 else "Not approved"
        else:
            out["Section41Approved (name)"] = "Not applicable"
        out["TypeOfResourcedProvision (name)"] = "Not applicable"
        if type_code in ref.SPECIAL_TYPES:
            for i, need in enumerate(rng.sample(ref.SEN_NEEDS, rng.randint(1, 3)), start=1):
                out[f"SEN{i} (name)"] = need
        elif current and pupils and type_code not in ref.INDEPENDENT_TYPES:
            r = rng.random()
            if r < 0.08:
                out["TypeOfResourcedProvision (name)"] = "Resourced provision"
                out["ResourcedProvisionCapacity"] = str(rng.randint(6, 30))
                out["ResourcedProvisionOnRoll"] = str(rng.randint(3, 30))
                out["SEN1 (name)"] = rng.choice(ref.SEN_NEEDS)
            elif r < 0.11:
                out["TypeOfResourcedProvision (name)"] = "SEN unit"
                out["SenUnitCapacity"] = str(rng.randint(6, 20))
                out["SenUnitOnRoll"] = str(rng.randint(3, 20))
        out["PreviousLA (code)"], out["PreviousLA (name)"] = "999", "Not applicable"

    def _geography(self, out: dict, la: _LocalAuthority, area: _Area) -> None:
        rng = self.rng
        region_name = ref.REGIONS[la.region][0]
        out["GOR (code)"], out["GOR (name)"] = la.region, region_name
        if la.kind == "X":
            return
        out["RSCRegion (name)"] = region_name
        district = rng.choice(area.districts)
        out["DistrictAdministrative (code)"], out["DistrictAdministrative (name)"] = district
        out["AdministrativeWard (code)"], out["AdministrativeWard (name)"] = rng.choice(area.wards)
        constituency = rng.choice(area.constituencies)
        out["ParliamentaryConstituency (code)"] = constituency[0]
        out["ParliamentaryConstituency (name)"] = constituency[1]
        out["UrbanRural (code)"], out["UrbanRural (name)"] = area.urban_rural.pick(rng)
        out["GSSLACode (name)"] = area.gss
        out["Easting"] = str(area.easting + rng.randint(-15_000, 15_000))
        out["Northing"] = str(area.northing + rng.randint(-15_000, 15_000))
        msoa = rng.randint(1, max(3, round(la.weight / 4)))
        letter = "ABCDE"[rng.randrange(5)]
        out["MSOA (name)"] = f"{district[1]} {msoa:03d}"
        out["LSOA (name)"] = f"{district[1]} {msoa:03d}{letter}"
        out["MSOA (code)"] = f"E02{area.msoa_base + msoa:06d}"
        out["LSOA (code)"] = f"E01{(area.msoa_base + msoa) * 5 + 'ABCDE'.index(letter):06d}"


def _faith_of(name: str) -> str:
    if "Methodist" in name:
        return "Methodist"
    if any(word in name for word in (" CofE ", " C of E ", "Church of England", " CE ")):
        return "CE"
    if any(word in name for word in ("Catholic", " RC ", "Roman Catholic")):
        return "RC"
    return ""
