"""Reads of a school's own records: its pupils, their attendance and their exclusions.

Every function takes the school's site (``site=``) and filters by it, including the
attendance marks, whose primary key leads with the site: a pupil id from a client goes
through ``pupil_for_id``, which answers the same 404 for another school's pupil as for one
that does not exist.

Attendance is counted from each mark's ``category`` (``mis.codes.MarkCategory``): possible
sessions are present + authorised + unauthorised absence; a "not a possible session" mark
counts for nothing. Attendance % = present / possible. A persistent absentee has missed
10% or more of their possible sessions (compared in integers: 10 x missed >= possible), as
``mis.rollups`` counts it.
"""

import datetime
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import (
    Count,
    FilteredRelation,
    JSONField,
    Q,
    QuerySet,
)
from django.db.models.expressions import RawSQL
from django.http import Http404

from institutions.models import Institution

from .attendance_sql import CATEGORY_PARAMS, PERSISTENT_ABSENTEE, PUPIL_MARKS
from .calendar import Term, academic_year_label, academic_year_start, term_of, week_start
from .codes import MarkCategory, Session, mark_category, mark_meaning, year_group_label
from .models import AttendanceMark, Exclusion, OutsideRead, Pupil, WeeklyAttendance

SEARCH_MAX = 100
RECENT_MARK_DAYS = 28  # the pupil page's "last 4 weeks"


# --- Arithmetic -----------------------------------------------------------------------------


def percent(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` as a percentage to one decimal place (half up); None when
    ``whole`` is 0 (no possible sessions: nothing to divide)."""
    if not whole:
        return None
    exact = Decimal(part * 100) / Decimal(whole)
    return exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Attendance:
    """Sessions counted by category, and the figures they make."""

    present: int = 0
    authorised: int = 0
    unauthorised: int = 0
    not_possible: int = 0

    @property
    def possible(self) -> int:
        return self.present + self.authorised + self.unauthorised

    @property
    def absent(self) -> int:
        return self.authorised + self.unauthorised

    @property
    def percent(self) -> Decimal | None:
        """Attendance %: present / possible sessions."""
        return percent(self.present, self.possible)

    @property
    def absence_percent(self) -> Decimal | None:
        return percent(self.absent, self.possible)

    @property
    def persistent_absentee(self) -> bool:
        """Missed 10% or more of their possible sessions (meaningful for one pupil)."""
        return self.possible > 0 and 10 * self.absent >= self.possible

    def __add__(self, other: "Attendance") -> "Attendance":
        return Attendance(
            present=self.present + other.present,
            authorised=self.authorised + other.authorised,
            unauthorised=self.unauthorised + other.unauthorised,
            not_possible=self.not_possible + other.not_possible,
        )

    @classmethod
    def from_counts(cls, counts: dict | None) -> "Attendance":
        """From a ``{"present": n, ...}`` mapping (None: no marks at all)."""
        if not counts:
            return cls()
        return cls(
            present=int(counts.get("present") or 0),
            authorised=int(counts.get("authorised") or 0),
            unauthorised=int(counts.get("unauthorised") or 0),
            not_possible=int(counts.get("not_possible") or 0),
        )


def _category_counts(prefix: str = "") -> dict[str, Count]:
    """Count of marks in each category (``prefix`` reaches the marks through a relation)."""
    category = f"{prefix}category"
    date = f"{prefix}date"
    return {
        "present": Count(date, filter=Q(**{category: MarkCategory.PRESENT})),
        "authorised": Count(date, filter=Q(**{category: MarkCategory.AUTHORISED})),
        "unauthorised": Count(date, filter=Q(**{category: MarkCategory.UNAUTHORISED})),
        "not_possible": Count(date, filter=Q(**{category: MarkCategory.NOT_POSSIBLE})),
    }


def term_bounds(today: datetime.date) -> tuple[Term, datetime.date, datetime.date]:
    """The term ``today`` falls in, and its first day and ``today`` (the term to date)."""
    term = term_of(today)
    start, end = term.to_date(today)
    return term, start, end


# --- Pupils ---------------------------------------------------------------------------------


def _on_roll(day: datetime.date) -> Q:
    return Q(enrolled_on__lte=day) & (Q(left_on__isnull=True) | Q(left_on__gte=day))


def _search(search: str) -> Q:
    """Every word must match: a word with a digit is part of a UPN, any other word part of
    a legal or preferred first name or the surname."""
    condition = Q()
    for word in search.split():
        if any(ch.isdigit() for ch in word):
            condition &= Q(upn__icontains=word)
        else:
            condition &= (
                Q(legal_last_name__icontains=word)
                | Q(legal_first_name__icontains=word)
                | Q(preferred_first_name__icontains=word)
            )
    return condition


# A pupil's marks of the term to date by category, from the pupils' weekly totals of the
# term plus the changes not yet folded into them, both read by primary key (site, pupil,
# ...): the marks, keyed (site, date, session, pupil), hold one pupil's term in thousands of
# places. When the school's totals were counted for a later day than this one (they then
# hold later marks), the marks themselves are counted instead. NULL without any mark.
_TERM_MARKS_SQL = """
CASE WHEN coalesce((SELECT s.folded_through FROM mis_rollupstate s
                    WHERE s.school_id = %(site)s), %(end)s) <= %(end)s
THEN (SELECT CASE WHEN count(*) = 0 THEN NULL ELSE jsonb_build_object(
                 'present', sum(present), 'authorised', sum(authorised),
                 'unauthorised', sum(unauthorised), 'not_possible', sum(not_possible)) END
      FROM (SELECT w.present, w.authorised, w.unauthorised, w.not_possible
            FROM mis_pupilweekattendance w
            WHERE w.site_id = %(site)s AND w.pupil_id = mis_pupil.id
              AND w.term_start = %(start)s AND w.week_start >= %(first_week)s
            UNION ALL
            SELECT (c.category = %(present)s)::int * c.sessions,
                   (c.category = %(authorised)s)::int * c.sessions,
                   (c.category = %(unauthorised)s)::int * c.sessions,
                   (c.category = %(not_possible)s)::int * c.sessions
            FROM mis_attendancechange c
            WHERE c.site_id = %(site)s AND c.pupil_id = mis_pupil.id
              AND c.date >= %(start)s AND c.date <= %(end)s) counted)
ELSE (SELECT jsonb_build_object(
                 'present', count(*) FILTER (WHERE m.category = %(present)s),
                 'authorised', count(*) FILTER (WHERE m.category = %(authorised)s),
                 'unauthorised', count(*) FILTER (WHERE m.category = %(unauthorised)s),
                 'not_possible', count(*) FILTER (WHERE m.category = %(not_possible)s))
      FROM mis_attendancemark m
      WHERE m.site_id = %(site)s AND m.pupil_id = mis_pupil.id
        AND m.date >= %(start)s AND m.date <= %(end)s
      HAVING count(*) > 0)
END
"""
# RawSQL takes its parameters by position: the names in order of appearance.
_TERM_MARKS_NAMES = re.findall(r"%\((\w+)\)s", _TERM_MARKS_SQL)
_TERM_MARKS_POSITIONAL = re.sub(r"%\(\w+\)s", "%s", _TERM_MARKS_SQL)


def _with_term_marks(pupils: QuerySet[Pupil], *, site: Institution, today: datetime.date):
    """Annotate ``term_marks``: the pupil's marks this term to date counted by category (a
    dict, or None without marks), in the same query (``_TERM_MARKS_SQL``)."""
    _term, start, end = term_bounds(today)
    params = {
        "site": site.pk,
        "start": start,
        "end": end,
        "first_week": week_start(start),
        **CATEGORY_PARAMS,
    }
    return pupils.annotate(
        term_marks=RawSQL(  # noqa: S611 - a constant statement, its parameters bound
            _TERM_MARKS_POSITIONAL,
            [params[name] for name in _TERM_MARKS_NAMES],
            output_field=JSONField(),
        )
    )


def term_attendance(pupil: Pupil) -> Attendance:
    """A pupil's attendance this term, from a pupil read by ``pupil_list`` or
    ``pupil_for_id``."""
    return Attendance.from_counts(pupil.term_marks)


def pupil_list(
    *,
    site: Institution,
    today: datetime.date,
    search: str = "",
    year_group: int | None = None,
    include_leavers: bool = False,
) -> QuerySet[Pupil]:
    """The school's pupils by surname: on roll ``today`` unless ``include_leavers`` (then
    everyone the school has records of), with their attendance this term to date
    (``term_attendance``)."""
    pupils = Pupil.objects.filter(site=site)
    if not include_leavers:
        pupils = pupils.filter(_on_roll(today))
    if search:
        pupils = pupils.filter(_search(search[:SEARCH_MAX]))
    if year_group is not None:
        pupils = pupils.filter(year_group=year_group)
    pupils = pupils.order_by("legal_last_name", "legal_first_name", "pk")
    return _with_term_marks(pupils, site=site, today=today)


def pupil_year_groups(*, site: Institution) -> list[int]:
    """The year groups the school has pupils in (leavers included), lowest first."""
    return list(
        Pupil.objects.filter(site=site)
        .order_by("year_group")
        .values_list("year_group", flat=True)
        .distinct()
    )


def pupil_for_id(*, site: Institution, pupil_id: int | str, today: datetime.date) -> Pupil:
    """The school's pupil ``pupil_id`` with their attendance this term to date; 404 when
    missing or another school's."""
    try:
        pupil_id = int(pupil_id)
    except (TypeError, ValueError):
        raise Http404("No such pupil.") from None
    pupil = _with_term_marks(
        Pupil.objects.filter(site=site, pk=pupil_id).select_related("registration_group"),
        site=site,
        today=today,
    ).first()
    if pupil is None:
        raise Http404("No such pupil.")
    return pupil


@dataclass(frozen=True)
class Mark:
    code: str

    @property
    def meaning(self) -> str:
        return mark_meaning(self.code)

    @property
    def category(self) -> MarkCategory:
        return mark_category(self.code)


@dataclass(frozen=True)
class MarkDay:
    date: datetime.date
    am: Mark | None = None
    pm: Mark | None = None


def pupil_recent_marks(
    *, site: Institution, pupil: Pupil, today: datetime.date, days: int = RECENT_MARK_DAYS
) -> list[MarkDay]:
    """The pupil's marks of the last ``days`` days up to ``today``, one row per day with a
    mark, newest first."""
    since = today - datetime.timedelta(days=days - 1)
    marks = (
        AttendanceMark.objects.filter(site=site, pupil=pupil, date__gte=since, date__lte=today)
        .order_by("-date", "session")
        .values_list("date", "session", "code")
    )
    by_day: dict[datetime.date, dict[str, Mark]] = {}
    for date, session, code in marks:
        by_day.setdefault(date, {})[session] = Mark(code)
    return [
        MarkDay(date=date, am=sessions.get(Session.AM), pm=sessions.get(Session.PM))
        for date, sessions in by_day.items()
    ]


def pupil_exclusions(
    *, site: Institution, pupil: Pupil, today: datetime.date
) -> QuerySet[Exclusion]:
    """The pupil's suspensions and permanent exclusions of this academic year (those
    starting later in it included), newest first."""
    start = academic_year_start(today)
    end = datetime.date(start.year + 1, 8, 31)
    return Exclusion.objects.filter(
        site=site, pupil=pupil, starts_on__gte=start, starts_on__lte=end
    ).order_by("-starts_on", "-pk")


# --- The day's registers ----------------------------------------------------------------------


@dataclass(frozen=True)
class SessionCounts:
    """One session's register over the pupils on roll: each pupil is in exactly one of
    present, authorised, unauthorised, not possible and not yet marked."""

    on_roll: int = 0
    present: int = 0
    authorised: int = 0
    unauthorised: int = 0
    not_possible: int = 0
    not_marked: int = 0

    @property
    def marked(self) -> int:
        return self.on_roll - self.not_marked

    @property
    def attendance(self) -> Attendance:
        return Attendance(self.present, self.authorised, self.unauthorised, self.not_possible)

    @property
    def percent(self) -> Decimal | None:
        """Attendance % of the session so far (over the marked possible sessions)."""
        return self.attendance.percent

    def __add__(self, other: "SessionCounts") -> "SessionCounts":
        return SessionCounts(
            *(
                getattr(self, name) + getattr(other, name)
                for name in (
                    "on_roll",
                    "present",
                    "authorised",
                    "unauthorised",
                    "not_possible",
                    "not_marked",
                )
            )
        )


@dataclass(frozen=True)
class YearGroupDay:
    year_group: int
    am: SessionCounts
    pm: SessionCounts

    @property
    def label(self) -> str:
        return year_group_label(self.year_group)


@dataclass(frozen=True)
class DaySummary:
    date: datetime.date
    am: SessionCounts
    pm: SessionCounts
    year_groups: list[YearGroupDay] = field(default_factory=list)

    @property
    def on_roll(self) -> int:
        return self.am.on_roll

    @property
    def nothing_marked(self) -> bool:
        return self.am.marked == 0 and self.pm.marked == 0


_SESSION_COUNTS = ("present", "authorised", "unauthorised", "not_possible", "not_marked")


def attendance_day(*, site: Institution, day: datetime.date) -> DaySummary:
    """The registers of ``day``, AM and PM, over the pupils on roll that day, in total and
    by year group: one query (each pupil's AM and PM mark joined by primary key)."""
    sessions = {"am": Session.AM, "pm": Session.PM}
    annotations = {}
    for alias, session in sessions.items():
        annotations[alias] = FilteredRelation(
            "marks",
            condition=Q(marks__site=site, marks__date=day, marks__session=session),
        )
    counts = {"on_roll": Count("pk")}
    for alias in sessions:
        for category, name in (
            (MarkCategory.PRESENT, "present"),
            (MarkCategory.AUTHORISED, "authorised"),
            (MarkCategory.UNAUTHORISED, "unauthorised"),
            (MarkCategory.NOT_POSSIBLE, "not_possible"),
        ):
            counts[f"{alias}_{name}"] = Count("pk", filter=Q(**{f"{alias}__category": category}))
        counts[f"{alias}_not_marked"] = Count("pk", filter=Q(**{f"{alias}__code__isnull": True}))
    rows = (
        Pupil.objects.filter(_on_roll(day), site=site)
        .annotate(**annotations)
        .values("year_group")
        .annotate(**counts)
        .order_by("year_group")
    )
    year_groups = [
        YearGroupDay(
            year_group=row["year_group"],
            **{
                alias: SessionCounts(
                    on_roll=row["on_roll"],
                    **{name: row[f"{alias}_{name}"] for name in _SESSION_COUNTS},
                )
                for alias in sessions
            },
        )
        for row in rows
    ]
    am, pm = SessionCounts(), SessionCounts()
    for row in year_groups:
        am, pm = am + row.am, pm + row.pm
    return DaySummary(date=day, am=am, pm=pm, year_groups=year_groups)


# --- The term to date -------------------------------------------------------------------------


@dataclass(frozen=True)
class TermFigures:
    attendance: Attendance
    pupils_with_sessions: int
    persistent_absentees: int

    @property
    def persistent_absence_percent(self) -> Decimal | None:
        return percent(self.persistent_absentees, self.pupils_with_sessions)


@dataclass(frozen=True, kw_only=True)
class YearGroupTerm(TermFigures):
    year_group: int

    @property
    def label(self) -> str:
        return year_group_label(self.year_group)


@dataclass(frozen=True)
class TermSummary:
    term: Term
    start: datetime.date
    end: datetime.date
    overall: TermFigures
    year_groups: list[YearGroupTerm]


_TERM_SQL = f"""
WITH per_pupil AS ({PUPIL_MARKS})
SELECT p.year_group,
       sum(pp.present), sum(pp.authorised), sum(pp.unauthorised), sum(pp.not_possible),
       count(*) FILTER (WHERE pp.possible > 0),
       count(*) FILTER (WHERE {PERSISTENT_ABSENTEE})
FROM per_pupil pp
JOIN mis_pupil p ON p.id = pp.pupil_id AND p.site_id = %(site)s
GROUP BY p.year_group
ORDER BY p.year_group
"""  # noqa: S608 - constant fragments of mis.attendance_sql


def attendance_term(*, site: Institution, day: datetime.date) -> TermSummary:
    """Attendance over the term of ``day`` up to ``day``, over every pupil with marks in it
    (a pupil who left during the term counts with the sessions of their enrolment), in
    total and by year group, with persistent absentees: one query."""
    term, start, end = term_bounds(day)
    params = {"site": site.pk, "start": start, "end": end, **CATEGORY_PARAMS}
    with connection.cursor() as cursor:
        cursor.execute(_TERM_SQL, params)
        rows = cursor.fetchall()
    year_groups = [
        YearGroupTerm(
            year_group=year_group,
            attendance=Attendance(int(present), int(authorised), int(unauthorised), int(other)),
            pupils_with_sessions=with_sessions,
            persistent_absentees=persistent,
        )
        for year_group, present, authorised, unauthorised, other, with_sessions, persistent in rows
    ]
    totals: dict[str, int] = defaultdict(int)
    attendance = Attendance()
    for row in year_groups:
        attendance += row.attendance
        totals["with_sessions"] += row.pupils_with_sessions
        totals["persistent"] += row.persistent_absentees
    return TermSummary(
        term=term,
        start=start,
        end=end,
        overall=TermFigures(
            attendance=attendance,
            pupils_with_sessions=totals["with_sessions"],
            persistent_absentees=totals["persistent"],
        ),
        year_groups=year_groups,
    )


# --- By week (the snapshots the roll-up refresh keeps) -----------------------------------------

# 52 weeks: the same week a year earlier, Monday for Monday.
YEAR_EARLIER = datetime.timedelta(weeks=52)
WEEK_COUNTS = ("present_sessions", "authorised_sessions", "unauthorised_sessions")


def _attendance_of(counts: dict) -> Attendance:
    return Attendance(
        present=int(counts["present_sessions"] or 0),
        authorised=int(counts["authorised_sessions"] or 0),
        unauthorised=int(counts["unauthorised_sessions"] or 0),
    )


@dataclass(frozen=True)
class WeekLine:
    """One week of this academic year and the same week a year earlier (None: no
    possible session that week, a holiday, or no records kept)."""

    week_start: datetime.date
    this_year: Attendance | None
    last_year: Attendance | None

    @property
    def label(self) -> str:
        return f"{self.week_start.day} {self.week_start:%b}"


@dataclass(frozen=True)
class YearGroupWeeks:
    """A year group's sessions over the weeks counted."""

    year_group: int
    attendance: Attendance

    @property
    def label(self) -> str:
        return year_group_label(self.year_group)


@dataclass(frozen=True)
class AttendanceWeeks:
    """Attendance by week over an academic year to a day, beside the same weeks a year
    earlier; for a school also by year group over the year to date."""

    academic_year: str
    day: datetime.date
    weeks: list[WeekLine]
    year_groups: list["YearGroupWeeks"] = field(default_factory=list)

    @property
    def this_year(self) -> Attendance:
        total = Attendance()
        for week in self.weeks:
            if week.this_year is not None:
                total += week.this_year
        return total

    @property
    def has_last_year(self) -> bool:
        return any(week.last_year is not None for week in self.weeks)


def weeks_window(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The Mondays of the first week of ``day``'s academic year and of ``day``'s week."""
    return week_start(academic_year_start(day)), week_start(day)


def weekly_rows_window(day: datetime.date) -> dict:
    """The filter of the snapshot rows ``attendance_week_lines`` needs (this academic
    year to ``day`` and the same weeks a year earlier), for ``WeeklyAttendance``."""
    first, last = weeks_window(day)
    return {"week_start__gte": first - YEAR_EARLIER, "week_start__lte": last}


def attendance_week_lines(rows, *, day: datetime.date) -> list[WeekLine]:
    """Week lines from snapshot sums (``{"week_start": ..., "present_sessions": ...}``, one
    per week, of one school or several), from the academic year's first week with figures
    in either year to the last with figures, up to ``day``'s week."""
    first, last = weeks_window(day)
    by_week = {row["week_start"]: _attendance_of(row) for row in rows}
    lines, monday = [], first
    while monday <= last:
        lines.append(WeekLine(monday, by_week.get(monday), by_week.get(monday - YEAR_EARLIER)))
        monday += datetime.timedelta(weeks=1)
    has_figures = [line.this_year is not None or line.last_year is not None for line in lines]
    if not any(has_figures):
        return []
    start = has_figures.index(True)
    end = len(has_figures) - has_figures[::-1].index(True)
    return lines[start:end]


def attendance_weeks(*, site: Institution, day: datetime.date) -> AttendanceWeeks:
    """The school's attendance by week this academic year up to ``day``'s week, beside the
    same weeks a year earlier, and by year group over the year to date, from the weekly
    snapshots of the last roll-up refresh: one query."""
    rows = list(
        WeeklyAttendance.objects.filter(site=site, **weekly_rows_window(day))
        .order_by("week_start", "year_group")
        .values("week_start", "year_group", *WEEK_COUNTS)
    )
    weeks: dict[datetime.date, dict] = {}
    for row in rows:
        week = weeks.setdefault(row["week_start"], dict.fromkeys(WEEK_COUNTS, 0))
        for name in WEEK_COUNTS:
            week[name] += row[name]
    lines = attendance_week_lines(
        [{"week_start": monday, **counts} for monday, counts in weeks.items()], day=day
    )
    first, last = weeks_window(day)
    by_year: dict[int, Attendance] = {}
    for row in rows:
        if first <= row["week_start"] <= last:
            by_year[row["year_group"]] = by_year.get(row["year_group"], Attendance()) + (
                _attendance_of(row)
            )
    return AttendanceWeeks(
        academic_year=academic_year_label(day),
        day=day,
        weeks=lines,
        year_groups=[
            YearGroupWeeks(year_group, attendance)
            for year_group, attendance in sorted(by_year.items())
        ],
    )


# --- Reads from outside the school ----------------------------------------------------------


def outside_read_list(*, site: Institution) -> QuerySet[OutsideRead]:
    """The record of pupil-level reads at school ``site`` by people from outside it (a Log
    in to MIS hop), newest first, with who, from which group and which pupil: one query."""
    return (
        OutsideRead.objects.filter(site=site)
        .select_related("reader", "from_group", "pupil")
        .order_by("-at", "-id")
    )
