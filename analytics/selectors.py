"""Reads of the group's Analytics dashboard: each current school's published and live
figures, the group's totals, England's figures, and one school's live figures broken down.

What a group may see is decided by ``sharing.access`` and applied HERE, in Python, before
anything leaves this module: a school below level 1 yields no published figure, a school
below level 2 no live figure and no refresh time, whatever the query fetched. Views, the
CSV export and the API only ever format what these functions return.

Queries are constant whatever the number of schools: one for the rows (the school's
register facts, its level, its published figures for the group's latest year through a
filtered join, the sums of its roll-up cells and its refresh time through correlated
subqueries), one for England's figures; one more for a school's cells in the breakdown.

Totals are computed from the gated rows as sums of counts, never as averages of rates:
attendance is total present over total possible sessions, and so on.
"""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Count,
    F,
    FilteredRelation,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import JSONObject, Lower
from django.http import Http404

from accounts.models import User
from accounts.staff.selectors import effective_schools, staff_profile_for
from institutions.models import Institution
from institutions.selectors import (
    URN_PATTERN,
    SchoolFilters,
    current_schools,
    group_school_facets,
)
from matmis.listing import FacetOption
from mis.calendar import academic_year_label
from mis.codes import SenProvision, year_group_label
from mis.models import AttendanceRollup, RollupState, WeeklyAttendance
from mis.selectors import (
    WEEK_COUNTS,
    AttendanceWeeks,
    attendance_week_lines,
    weekly_rows_window,
)
from sharing.access import (
    agreement_level_expression,
    level_allows_mis_data,
    level_allows_published_data,
)

from .models import PublishedFigures
from .published_import import ABSENCE, CENSUS, KEY_STAGE_2, KEY_STAGE_4, RELEASES, SEN, SUSPENSIONS

# --- Figures ----------------------------------------------------------------------------------


def rate(numerator: int | None, denominator: int | None) -> Decimal | None:
    """``numerator`` per 100 of ``denominator``, unrounded (whoever shows it rounds it once);
    None without a denominator."""
    if numerator is None or not denominator:
        return None
    return Decimal(numerator) * 100 / Decimal(denominator)


LIVE_COUNTS = (
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


@dataclass(frozen=True)
class LiveFigures:
    """Sums of roll-up cells (of one school, part of one, or several): counts add up, and
    every rate is computed from the sums."""

    pupils_on_roll: int = 0
    pupils_with_sessions: int = 0
    possible_sessions: int = 0
    present_sessions: int = 0
    authorised_sessions: int = 0
    unauthorised_sessions: int = 0
    persistent_absentees: int = 0
    suspensions: int = 0
    permanent_exclusions: int = 0

    @classmethod
    def from_counts(cls, counts: dict) -> "LiveFigures":
        return cls(**{name: int(counts.get(name) or 0) for name in LIVE_COUNTS})

    @classmethod
    def total(cls, parts: Iterable["LiveFigures"]) -> "LiveFigures":
        sums = dict.fromkeys(LIVE_COUNTS, 0)
        for part in parts:
            for name in LIVE_COUNTS:
                sums[name] += getattr(part, name)
        return cls(**sums)

    @property
    def absence_sessions(self) -> int:
        return self.authorised_sessions + self.unauthorised_sessions

    @property
    def attendance_rate(self) -> Decimal | None:
        """Present sessions per 100 possible, this term."""
        return rate(self.present_sessions, self.possible_sessions)

    @property
    def overall_absence_rate(self) -> Decimal | None:
        """Absent sessions (authorised and unauthorised) per 100 possible, this term."""
        return rate(self.absence_sessions, self.possible_sessions)

    @property
    def persistent_absence_rate(self) -> Decimal | None:
        """Persistent absentees per 100 pupils with a possible session this term."""
        return rate(self.persistent_absentees, self.pupils_with_sessions)

    @property
    def suspension_rate(self) -> Decimal | None:
        """Suspensions this academic year per 100 pupils on roll."""
        return rate(self.suspensions, self.pupils_on_roll)


PUBLISHED_COUNTS = (
    "sessions_possible",
    "sessions_overall_absence",
    "enrolments",
    "persistent_absentees",
    "headcount",
    "suspensions",
)
PUBLISHED_RATES = ("overall_absence_rate", "persistent_absence_rate", "suspension_rate")
# The fields of the absence and exclusions releases, whose latest year the dashboard shows.
ABSENCE_AND_EXCLUSIONS = (*RELEASES[ABSENCE], *RELEASES[SUSPENSIONS])


@dataclass(frozen=True)
class Published:
    """One school's (or England's) published figures for one year: counts, and the rates
    the DfE published (computed from the counts where it published none)."""

    time_period: str
    sessions_possible: int | None = None
    sessions_overall_absence: int | None = None
    enrolments: int | None = None
    persistent_absentees: int | None = None
    headcount: int | None = None
    suspensions: int | None = None
    published_overall_absence_rate: Decimal | None = None
    published_persistent_absence_rate: Decimal | None = None
    published_suspension_rate: Decimal | None = None

    @property
    def time_period_label(self) -> str:
        return time_period_label(self.time_period)

    @property
    def overall_absence_rate(self) -> Decimal | None:
        if self.published_overall_absence_rate is not None:
            return self.published_overall_absence_rate
        return rate(self.sessions_overall_absence, self.sessions_possible)

    @property
    def persistent_absence_rate(self) -> Decimal | None:
        if self.published_persistent_absence_rate is not None:
            return self.published_persistent_absence_rate
        return rate(self.persistent_absentees, self.enrolments)

    @property
    def suspension_rate(self) -> Decimal | None:
        if self.published_suspension_rate is not None:
            return self.published_suspension_rate
        return rate(self.suspensions, self.headcount)


def time_period_label(time_period: str | None) -> str:
    """``2024/25`` for the DfE's ``202425``."""
    if not time_period:
        return ""
    return f"{time_period[:4]}/{time_period[4:]}"


# --- Census and performance (level 1) ---------------------------------------------------------


@dataclass(frozen=True)
class ReleaseSpec:
    """One kind of published figures shown at level 1 beside absence: the school census
    (with its SEN figures), key stage 2, key stage 4."""

    key: str  # "census", "ks2", "ks4": in names, query strings and the API
    title: str
    fields: tuple[str, ...]
    # Small groups (``SMALLEST_GROUP_SHOWN``): a count of 1 or 2 pupils is withheld with
    # its percentage; a cohort (``cohort``) of 1 or 2 withholds every figure of the release.
    pairs: tuple[tuple[str, str], ...] = ()
    cohort: str | None = None


RELEASE_SPECS: tuple[ReleaseSpec, ...] = (
    ReleaseSpec(
        "census",
        "School census",
        (*RELEASES[CENSUS], *RELEASES[SEN]),
        pairs=(
            ("fsm_eligible", "fsm_eligible_percent"),
            ("eal_pupils", "eal_percent"),
            ("sen_support", "sen_support_percent"),
            ("ehc_plan", "ehc_plan_percent"),
        ),
    ),
    ReleaseSpec("ks2", "Key stage 2", RELEASES[KEY_STAGE_2], cohort="ks2_eligible_pupils"),
    ReleaseSpec("ks4", "Key stage 4", RELEASES[KEY_STAGE_4], cohort="ks4_pupils"),
)
RELEASE_SPEC = {spec.key: spec for spec in RELEASE_SPECS}


@dataclass(frozen=True)
class ReleaseFigures:
    """One school's (or England's) figures of one release for its latest year: ``values``
    maps each of the release's fields to its value, None where the DfE published none or
    where it is withheld (``withheld`` names those)."""

    key: str
    time_period: str
    values: dict[str, int | Decimal | None]
    withheld: frozenset[str] = frozenset()

    @property
    def time_period_label(self) -> str:
        return time_period_label(self.time_period)

    @property
    def any_withheld(self) -> bool:
        return bool(self.withheld)


def _small(count: int | None) -> bool:
    return count is not None and 0 < count < SMALLEST_GROUP_SHOWN


def release_figures(spec: ReleaseSpec, time_period: str, values: dict) -> ReleaseFigures:
    """The release's figures with the small-groups rule applied: the figures of 1 or 2
    pupils are withheld, as in the drill-down."""
    values = {name: values[name] for name in spec.fields}
    withheld: set[str] = set()
    if spec.cohort is not None and _small(values[spec.cohort]):
        withheld.update(name for name in spec.fields if name != spec.cohort)
    for count, percent in spec.pairs:
        if _small(values[count]):
            withheld.update((count, percent))
    for name in withheld:
        values[name] = None
    return ReleaseFigures(spec.key, time_period, values, frozenset(withheld))


# --- Rows -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolFigures:
    """One school of the dashboard. ``published`` and ``live`` are None when the level does
    not allow them (``published_shared``/``mis_shared`` say so) and when there is nothing
    to show; ``refreshed_at`` and ``refreshed_for`` are None unless ``mis_shared``."""

    pk: int
    urn: str
    name: str
    phase: str
    pupils: int | None
    percentage_fsm: Decimal | None
    level: int
    published_shared: bool
    mis_shared: bool
    published: Published | None = None
    live: LiveFigures | None = None
    refreshed_at: datetime.datetime | None = None
    refreshed_for: datetime.date | None = None
    # Level 1 and above, like ``published``: the census, key stage 2 and key stage 4.
    census: ReleaseFigures | None = None
    ks2: ReleaseFigures | None = None
    ks4: ReleaseFigures | None = None

    @property
    def has_mis_data(self) -> bool:
        """Shared, and the school's roll-ups have been computed at least once."""
        return self.mis_shared and self.refreshed_at is not None


def _any_of(fields: Iterable[str]) -> Q:
    """A row holding at least one of ``fields``: a release's row (the others' are NULL)."""
    condition = Q()
    for name in fields:
        condition |= Q(**{f"{name}__isnull": False})
    return condition


def _latest_time_period(
    group: Institution, fields: Iterable[str] = ABSENCE_AND_EXCLUSIONS
) -> Subquery:
    """The latest academic year with published figures among ``fields`` (by default the
    absence and exclusions releases) for any current school of ``group`` (whatever the
    filters, so that the year does not change with them). Each release has its own: the
    census of a year is published before that year's absence figures."""
    school_ids = current_schools(group=group).order_by().values("pk")
    return Subquery(
        PublishedFigures.objects.filter(_any_of(fields), school__in=school_ids)
        .order_by("-time_period")
        .values("time_period")[:1]
    )


def _live_sums() -> Subquery:
    """The sums of a school's roll-up cells as one JSON object (one index range scan per
    school, not one per count); NULL when the school has no cells."""
    sums = (
        AttendanceRollup.objects.filter(school=OuterRef("pk"))
        .order_by()
        .values("school")
        .annotate(sums=JSONObject(**{name: Sum(name) for name in LIVE_COUNTS}))
        .values("sums")
    )
    return Subquery(sums)


def _state(name: str) -> Subquery:
    return Subquery(RollupState.objects.filter(school=OuterRef("pk")).values(name)[:1])


def _figures_queryset(group: Institution) -> QuerySet:
    """The group's current schools with everything a row needs, as dicts."""
    published = {f"pub_{name}": F(f"pub__{name}") for name in (*PUBLISHED_COUNTS, *PUBLISHED_RATES)}
    # Each release through its own join, on its own latest year.
    releases = {}
    for spec in RELEASE_SPECS:
        releases[f"{spec.key}_pub"] = FilteredRelation(
            "published_figures",
            condition=Q(published_figures__time_period=_latest_time_period(group, spec.fields)),
        )
    release_values = {
        f"{spec.key}_{name}": F(f"{spec.key}_pub__{name}")
        for spec in RELEASE_SPECS
        for name in ("time_period", *spec.fields)
    }
    return (
        current_schools(group=group)
        .annotate(
            level=agreement_level_expression(group=group),
            pub=FilteredRelation(
                "published_figures",
                condition=Q(published_figures__time_period=_latest_time_period(group)),
            ),
            pub_time_period=F("pub__time_period"),
            **published,
            **releases,
            **release_values,
            live_sums=_live_sums(),
            refreshed_at=_state("refreshed_at"),
            refreshed_for=_state("refreshed_for"),
        )
        .order_by(Lower("name"), "pk")
        .values(
            "pk",
            "urn",
            "name",
            "phase",
            "pupils",
            "percentage_fsm",
            "level",
            "pub_time_period",
            *published,
            *release_values,
            "live_sums",
            "refreshed_at",
            "refreshed_for",
        )
    )


def _gated(values: dict) -> SchoolFigures:
    """A row as the group may see it: the level decides, through ``sharing.access``."""
    level = values["level"]
    published_shared = level_allows_published_data(level)
    mis_shared = level_allows_mis_data(level)
    published = None
    if published_shared and values["pub_time_period"]:
        published = Published(
            time_period=values["pub_time_period"],
            **{name: values[f"pub_{name}"] for name in PUBLISHED_COUNTS},
            **{f"published_{name}": values[f"pub_{name}"] for name in PUBLISHED_RATES},
        )
    releases = {}
    if published_shared:
        for spec in RELEASE_SPECS:
            time_period = values[f"{spec.key}_time_period"]
            figures = {name: values[f"{spec.key}_{name}"] for name in spec.fields}
            # The year's row may hold another release's figures only (the same key).
            if time_period and any(value is not None for value in figures.values()):
                releases[spec.key] = release_figures(spec, time_period, figures)
    live = refreshed_at = refreshed_for = None
    if mis_shared:
        refreshed_at, refreshed_for = values["refreshed_at"], values["refreshed_for"]
        if refreshed_at is not None:
            live = LiveFigures.from_counts(values["live_sums"] or {})
    return SchoolFigures(
        pk=values["pk"],
        urn=values["urn"],
        name=values["name"],
        phase=values["phase"],
        pupils=values["pupils"],
        percentage_fsm=values["percentage_fsm"],
        level=level,
        published_shared=published_shared,
        mis_shared=mis_shared,
        published=published,
        live=live,
        refreshed_at=refreshed_at,
        refreshed_for=refreshed_for,
        **releases,
    )


# --- Totals ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Total:
    """A group figure and the number of schools it counts."""

    value: Decimal | None
    schools: int


def _published_total(rows: list[SchoolFigures], numerator: str, denominator: str) -> Total:
    """Σnumerator / Σdenominator over the rows whose published figures have both."""
    top = bottom = schools = 0
    for row in rows:
        if row.published is None:
            continue
        a, b = getattr(row.published, numerator), getattr(row.published, denominator)
        if a is None or b is None:
            continue
        top, bottom, schools = top + a, bottom + b, schools + 1
    return Total(rate(top, bottom) if schools else None, schools)


@dataclass(frozen=True)
class GroupTotals:
    schools: int
    pupils: int
    pupils_schools: int  # schools whose number of pupils the register gives
    fsm: Total  # pupils known to be eligible / pupils, over schools giving both
    published_overall_absence: Total
    published_persistent_absence: Total
    published_suspensions: Total
    live: LiveFigures
    live_schools: int  # shared schools with MIS data, which the live totals count


def group_totals(rows: list[SchoolFigures]) -> GroupTotals:
    """The group's figures from the (already gated) rows, as sums of counts."""
    with_pupils = [row for row in rows if row.pupils is not None]
    with_fsm = [row for row in with_pupils if row.percentage_fsm is not None]
    fsm_pupils = sum(Decimal(row.pupils) * row.percentage_fsm for row in with_fsm)
    fsm_base = sum(row.pupils for row in with_fsm)
    fsm = Total(fsm_pupils / fsm_base if fsm_base else None, len(with_fsm))
    live_rows = [row.live for row in rows if row.live is not None]
    return GroupTotals(
        schools=len(rows),
        pupils=sum(row.pupils for row in with_pupils),
        pupils_schools=len(with_pupils),
        fsm=fsm,
        published_overall_absence=_published_total(
            rows, "sessions_overall_absence", "sessions_possible"
        ),
        published_persistent_absence=_published_total(rows, "persistent_absentees", "enrolments"),
        published_suspensions=_published_total(rows, "suspensions", "headcount"),
        live=LiveFigures.total(live_rows),
        live_schools=len(live_rows),
    )


def national_figures(*, group: Institution) -> Published | None:
    """England's published figures for the year the group's rows show. One query."""
    values = (
        PublishedFigures.objects.filter(school__isnull=True, time_period=_latest_time_period(group))
        .values("time_period", *PUBLISHED_COUNTS, *PUBLISHED_RATES)
        .first()
    )
    if values is None:
        return None
    return Published(
        time_period=values["time_period"],
        **{name: values[name] for name in PUBLISHED_COUNTS},
        **{f"published_{name}": values[name] for name in PUBLISHED_RATES},
    )


def national_releases(*, group: Institution) -> dict[str, ReleaseFigures]:
    """England's census, key stage 2 and key stage 4 figures for the years the group's
    schools show (each release its own year). One query."""
    years = {spec.key: _latest_time_period(group, spec.fields) for spec in RELEASE_SPECS}
    rows = (
        PublishedFigures.objects.filter(school__isnull=True)
        .annotate(**{f"year_{key}": year for key, year in years.items()})
        .filter(
            Q(time_period=F("year_census"))
            | Q(time_period=F("year_ks2"))
            | Q(time_period=F("year_ks4"))
        )
        .values(
            "time_period",
            *(f"year_{key}" for key in years),
            *(name for spec in RELEASE_SPECS for name in spec.fields),
        )
    )
    national = {}
    for row in rows:
        for spec in RELEASE_SPECS:
            given = any(row[name] is not None for name in spec.fields)
            if row["time_period"] == row[f"year_{spec.key}"] and given:
                national[spec.key] = release_figures(spec, row["time_period"], row)
    return national


# --- The dashboard ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardFilters:
    """What the dashboard narrows the group's schools by; values already validated."""

    clusters: tuple[int, ...] = ()
    phases: tuple[str, ...] = ()
    mine: bool = False  # only the viewer's effective associations

    @property
    def is_filtered(self) -> bool:
        return bool(self.clusters or self.phases or self.mine)


@dataclass(frozen=True)
class Dashboard:
    rows: list[SchoolFigures]
    totals: GroupTotals
    national: Published | None
    refreshed_at: datetime.datetime | None  # the oldest among the shared schools shown
    refreshed_for: datetime.date | None  # the earliest day their figures count up to
    not_shared: int  # schools shown below level 2
    without_mis_data: int  # schools shown at level 2 or above with no figures yet
    filters: DashboardFilters = field(default_factory=DashboardFilters)

    @property
    def time_period(self) -> str | None:
        """The published year shown: the rows' (all share it) or England's."""
        for row in self.rows:
            if row.published is not None:
                return row.published.time_period
        return self.national.time_period if self.national else None

    @property
    def time_period_label(self) -> str:
        return time_period_label(self.time_period)


def _mine_condition(*, group: Institution, filters: DashboardFilters, viewer: User | None) -> Q:
    """Only schools I am associated with: the viewer's effective associations (none
    for someone without a staff profile here); everything when not asked for."""
    if not filters.mine:
        return Q()
    profile = staff_profile_for(site=group, user=viewer) if viewer is not None else None
    if profile is None:
        return Q(pk__in=[])
    return Q(pk__in=effective_schools(group=group, profile=profile).order_by().values("pk"))


def _filter_condition(*, group: Institution, filters: DashboardFilters, viewer: User | None) -> Q:
    conditions = SchoolFilters(phases=filters.phases, clusters=filters.clusters).conditions(
        group=group
    )
    mine = _mine_condition(group=group, filters=filters, viewer=viewer)
    return conditions["phase"] & conditions["cluster"] & mine


def dashboard_facets(
    *, group: Institution, filters: DashboardFilters, viewer: User | None = None
) -> dict[str, list[FacetOption]]:
    """The dashboard's cluster and phase options, each with the number of schools it
    would show given the other filters (and "only mine"), as Browse counts them
    (``group_school_facets``). Two queries (three with ``mine``)."""
    facets = group_school_facets(
        group=group,
        phases=filters.phases,
        clusters=filters.clusters,
        within=_mine_condition(group=group, filters=filters, viewer=viewer),
    )
    return {"cluster": facets["cluster"], "phase": facets["phase"]}


def group_dashboard(
    *,
    group: Institution,
    filters: DashboardFilters | None = None,
    viewer: User | None = None,
) -> Dashboard:
    """Every current school of ``group`` matching ``filters`` (by name) with its figures as
    the group may see them, the totals, and England's figures. Two queries (three with
    ``mine``, which looks up ``viewer``'s staff profile) whatever the number of schools."""
    filters = filters or DashboardFilters()
    condition = _filter_condition(group=group, filters=filters, viewer=viewer)
    rows = [_gated(values) for values in _figures_queryset(group).filter(condition)]
    refreshed = [row for row in rows if row.has_mis_data]
    return Dashboard(
        rows=rows,
        totals=group_totals(rows),
        national=national_figures(group=group),
        refreshed_at=min((row.refreshed_at for row in refreshed), default=None),
        refreshed_for=min(
            (row.refreshed_for for row in refreshed if row.refreshed_for), default=None
        ),
        not_shared=sum(1 for row in rows if not row.mis_shared),
        without_mis_data=sum(1 for row in rows if row.mis_shared and not row.has_mis_data),
        filters=filters,
    )


# --- Census and performance across the group ----------------------------------------------------


@dataclass(frozen=True)
class GroupRelease:
    """A group figure of one release: a sum of counts, or a rate or score over the pupils
    of the schools that give it (each school's weighted by its pupils: the group's own
    average, never an average of the schools' figures)."""

    value: int | Decimal | None
    schools: int


@dataclass(frozen=True)
class ReleaseTable:
    """The group's schools with one release's figures, sorted as asked, and the group's."""

    spec: ReleaseSpec
    rows: list[SchoolFigures]  # shared at level 1 with this release's figures
    totals: dict[str, GroupRelease]
    national: ReleaseFigures | None
    not_shared: int  # schools below level 1
    without_figures: int  # shared, with none of this release's figures
    sort: str
    filters: DashboardFilters = field(default_factory=DashboardFilters)

    @property
    def time_period(self) -> str | None:
        for row in self.rows:
            return getattr(row, self.spec.key).time_period
        return self.national.time_period if self.national else None

    @property
    def time_period_label(self) -> str:
        return time_period_label(self.time_period)


def _base(spec: ReleaseSpec, name: str) -> str | None:
    """The pupils a rate or score of ``name`` is over: the cohort, or the census headcount;
    None for a count."""
    if spec.cohort is not None:
        return None if name == spec.cohort else spec.cohort
    if any(name == count for count, _ in spec.pairs) or name == "pupils_headcount":
        return None
    return "pupils_headcount"


# A school's confidence limits say how sure its own score is; averaging them says nothing
# about the group's: no group figure.
NO_GROUP_FIGURE = frozenset(("progress8_lower", "progress8_upper"))


def release_totals(spec: ReleaseSpec, figures: list[ReleaseFigures]) -> dict[str, GroupRelease]:
    """The group's figure for each field: counts summed; rates and scores averaged over the
    pupils (each school's weighted by its own pupils), over the schools giving both; none
    for confidence limits."""
    totals = {}
    for name in spec.fields:
        if name in NO_GROUP_FIGURE:
            totals[name] = GroupRelease(None, 0)
            continue
        base = _base(spec, name)
        given = [f.values for f in figures if f.values[name] is not None]
        if base is None:
            totals[name] = GroupRelease(sum(v[name] for v in given) if given else None, len(given))
            continue
        given = [v for v in given if v[base]]
        pupils = sum(v[base] for v in given)
        value = sum(Decimal(v[name]) * v[base] for v in given) / pupils if pupils else None
        totals[name] = GroupRelease(value, len(given))
    return totals


def release_sort_keys(spec: ReleaseSpec) -> tuple[str, ...]:
    return ("name", *spec.fields)


def release_table(
    *,
    group: Institution,
    spec: ReleaseSpec,
    filters: DashboardFilters | None = None,
    viewer: User | None = None,
    sort: str = "name",
) -> ReleaseTable:
    """The group's current schools matching ``filters`` that show ``spec``'s figures, sorted
    by ``sort`` (a field or "name", "-" first for descending; schools without the figure
    last either way), with the group's figures and England's. Two queries (three with
    ``mine``) whatever the number of schools."""
    filters = filters or DashboardFilters()
    condition = _filter_condition(group=group, filters=filters, viewer=viewer)
    rows = [_gated(values) for values in _figures_queryset(group).filter(condition)]
    shown = [row for row in rows if getattr(row, spec.key) is not None]
    key = sort.removeprefix("-")
    descending = sort.startswith("-")
    if key != "name":
        known = [row for row in shown if getattr(row, spec.key).values[key] is not None]
        unknown = [row for row in shown if getattr(row, spec.key).values[key] is None]
        known.sort(key=lambda row: getattr(row, spec.key).values[key], reverse=descending)
        shown = known + unknown
    elif descending:
        shown.reverse()
    return ReleaseTable(
        spec=spec,
        rows=shown,
        totals=release_totals(spec, [getattr(row, spec.key) for row in shown]),
        national=national_releases(group=group).get(spec.key),
        not_shared=sum(1 for row in rows if not row.published_shared),
        without_figures=sum(
            1 for row in rows if row.published_shared and getattr(row, spec.key) is None
        ),
        sort=sort,
        filters=filters,
    )


def school_figures(*, group: Institution, school: Institution) -> SchoolFigures | None:
    """One school's row, as the group may see it; None when it is not one of the group's
    current schools. One query."""
    values = _figures_queryset(group).filter(pk=school.pk).first()
    return _gated(values) if values is not None else None


# --- One school's breakdown ---------------------------------------------------------------------


# The drill-down never shows a group the figures of fewer pupils than this: one pupil's
# attendance is pupil-level data, which a group sees only by logging in to the school.
SMALLEST_GROUP_SHOWN = 3
SMALL_GROUP = f"Fewer than {SMALLEST_GROUP_SHOWN} pupils: figures withheld."
DERIVABLE = "Withheld too, so that a smaller group’s figures cannot be worked out."


@dataclass(frozen=True)
class BreakdownLine:
    key: str  # "3", "true", "K": the value of the dimension
    label: str
    figures: LiveFigures | None  # None: withheld (``withheld_because`` says why)
    withheld_because: str = ""

    @property
    def withheld(self) -> bool:
        return self.figures is None


def _pupils_in(figures: LiveFigures) -> int:
    return max(figures.pupils_on_roll, figures.pupils_with_sessions)


def _withhold_small_groups(lines: list[BreakdownLine]) -> list[BreakdownLine]:
    """Lines of 1 or 2 pupils withheld; and when that leaves one withheld line among
    others, the next smallest too, or the whole-school row minus the others would give it
    away (the statistics' rule of primary and secondary suppression)."""
    small = {line.key for line in lines if 0 < _pupils_in(line.figures) < SMALLEST_GROUP_SHOWN}
    also = set()
    if len(small) == 1 and len(lines) > 1:
        rest = [line for line in lines if line.key not in small]
        also = {min(rest, key=lambda line: (_pupils_in(line.figures), line.key)).key}
    return [
        BreakdownLine(line.key, line.label, None, SMALL_GROUP)
        if line.key in small
        else BreakdownLine(line.key, line.label, None, DERIVABLE)
        if line.key in also
        else line
        for line in lines
    ]


@dataclass(frozen=True)
class Breakdown:
    key: str  # "year_group", "disadvantaged", "sen_provision"
    title: str
    column: str  # what the lines are: "Year group", "Pupils", "SEN provision"
    lines: list[BreakdownLine]


@dataclass(frozen=True)
class SchoolBreakdown:
    school: SchoolFigures
    national: Published | None
    breakdowns: list[Breakdown]  # empty unless the school shares its MIS data

    @property
    def time_period_label(self) -> str:
        if self.school.published is not None:
            return time_period_label(self.school.published.time_period)
        return time_period_label(self.national.time_period if self.national else None)


SEN_ORDER = (SenProvision.NONE, SenProvision.SEN_SUPPORT, SenProvision.EHC_PLAN)


def _lines(
    cells: list[dict], dimension: str, order: list, label: Callable[[object], str]
) -> list[BreakdownLine]:
    by_value: dict = {}
    for cell in cells:
        by_value.setdefault(cell[dimension], []).append(LiveFigures.from_counts(cell))
    return _withhold_small_groups(
        [
            BreakdownLine(
                key=str(value).lower() if isinstance(value, bool) else str(value),
                label=label(value),
                figures=LiveFigures.total(by_value[value]),
            )
            for value in order
            if value in by_value
        ]
    )


def _breakdowns(cells: list[dict]) -> list[Breakdown]:
    year_groups = sorted({cell["year_group"] for cell in cells})
    return [
        Breakdown(
            "year_group",
            "By year group",
            "Year group",
            _lines(cells, "year_group", year_groups, year_group_label),
        ),
        Breakdown(
            "disadvantaged",
            "Disadvantaged pupils and others",
            "Pupils",
            _lines(
                cells,
                "disadvantaged",
                [True, False],
                lambda value: "Disadvantaged" if value else "Not disadvantaged",
            ),
        ),
        Breakdown(
            "sen_provision",
            "By SEN provision",
            "SEN provision",
            _lines(
                cells,
                "sen_provision",
                [code.value for code in SEN_ORDER],
                lambda value: f"{SenProvision(value).label} ({value})",
            ),
        ),
    ]


def school_breakdown(*, group: Institution, urn: str) -> SchoolBreakdown:
    """The group's current school ``urn`` with its figures and, when it shares its MIS
    data, its live figures by year group, by disadvantage and by SEN provision. Three
    queries (two when the MIS data is not shared).

    Raises Http404, the same for a URN that does not exist and one of another group's
    school, a closed school or one that has left.
    """
    if not isinstance(urn, str) or not URN_PATTERN.match(urn):
        raise Http404("No such school in this group.")
    values = _figures_queryset(group).filter(urn=urn).first()
    if values is None:
        raise Http404("No such school in this group.")
    school = _gated(values)
    breakdowns: list[Breakdown] = []
    if school.has_mis_data:
        cells = list(
            AttendanceRollup.objects.filter(school_id=school.pk).values(
                "year_group", "disadvantaged", "sen_provision", *LIVE_COUNTS
            )
        )
        breakdowns = _breakdowns(cells)
    return SchoolBreakdown(
        school=school, national=national_figures(group=group), breakdowns=breakdowns
    )


# --- Trends -------------------------------------------------------------------------------------
#
# Drawn from the same gated rows as the table: a school's weeks count only when its row
# shows live figures (``has_mis_data``, level 2 and up through ``sharing.access``), its
# published years only when its row may show published figures (level 1 and up).


def _weeks_of(school_ids: list[int], *, day: datetime.date) -> AttendanceWeeks:
    """The summed weeks of ``school_ids`` this academic year to ``day`` and the same weeks
    a year earlier: one query (none without schools)."""
    rows = []
    if school_ids:
        rows = (
            WeeklyAttendance.objects.filter(site_id__in=school_ids, **weekly_rows_window(day))
            .order_by("week_start")
            .values("week_start")
            .annotate(**{name: Sum(name) for name in WEEK_COUNTS})
        )
    return AttendanceWeeks(
        academic_year=academic_year_label(day),
        day=day,
        weeks=attendance_week_lines(rows, day=day),
    )


def group_weeks(*, dashboard: Dashboard, day: datetime.date) -> AttendanceWeeks:
    """The group's attendance by week: the sums of the schools the dashboard shows with
    live figures (as its filters and the agreements allow). One query."""
    return _weeks_of([row.pk for row in dashboard.rows if row.has_mis_data], day=day)


def school_weeks(*, school: SchoolFigures, day: datetime.date) -> AttendanceWeeks | None:
    """One school's attendance by week, None unless the group may see its live figures.
    One query when it may."""
    if not school.has_mis_data:
        return None
    return _weeks_of([school.pk], day=day)


@dataclass(frozen=True)
class PublishedYear:
    """One academic year of published absence: the group's (sums over its schools with
    both counts that year) and England's."""

    time_period: str
    group_absence: Total
    england_absence: Decimal | None

    @property
    def label(self) -> str:
        return time_period_label(self.time_period)


def published_years(*, dashboard: Dashboard) -> list[PublishedYear]:
    """Overall absence by academic year, oldest first, from every year of published figures
    imported: the group's as the sum over the schools shown that may show published
    figures (the same schools every year: today's), and England's. One query."""
    school_ids = [row.pk for row in dashboard.rows if row.published_shared]
    counted = Q(sessions_possible__isnull=False, sessions_overall_absence__isnull=False)
    # England's years of absence figures (not those of the census or performance only).
    england = Q(school__isnull=True) & (counted | Q(overall_absence_rate__isnull=False))
    values = (
        PublishedFigures.objects.filter(england | (Q(school_id__in=school_ids) & counted))
        .annotate(england=Q(school__isnull=True))
        .order_by("time_period", "england")
        .values("time_period", "england")
        .annotate(
            possible=Sum("sessions_possible"),
            absent=Sum("sessions_overall_absence"),
            schools=Count("pk"),
            published_rate=Max("overall_absence_rate"),
        )
    )
    years: dict[str, dict] = {}
    for row in values:
        year = years.setdefault(row["time_period"], {"group": Total(None, 0), "england": None})
        if row["england"]:
            year["england"] = (
                row["published_rate"]
                if row["published_rate"] is not None
                else rate(row["absent"], row["possible"])
            )
        else:
            year["group"] = Total(rate(row["absent"], row["possible"]), row["schools"])
    return [
        PublishedYear(period, year["group"], year["england"])
        for period, year in sorted(years.items())
    ]
