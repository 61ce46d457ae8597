"""The live figures a group's dashboard reads, rolled up from each school's records.

Counting ten million marks on every page view is not an option, so each school's figures
are computed into ``AttendanceRollup`` (one row per year group x disadvantaged x SEN cell)
by ``rollups_refresh_school``; the beat task ``mis.rollups_refresh_due`` enqueues a
``mis.refresh_school_rollups`` task (a ``matmis.tasks.SiteTask``) for every school whose
records changed since, or whose figures were counted for an earlier day.

The arithmetic, per pupil, then summed (so cells, schools and groups add up exactly):

- possible sessions: marks that are present, authorised or unauthorised absence (codes in
  the "not a possible session" category count for nothing), this term up to the day;
- a persistent absentee: a pupil with possible sessions who missed 10% or more of them
  (authorised + unauthorised), compared in integers: 10 x missed >= possible;
- suspensions and permanent exclusions starting this academic year up to the day;
- pupils on roll: enrolled on or before the day and not left before it.

A pupil who joined or left mid-term counts with the sessions of their own enrolment, as
the DfE counts them; a pupil who left still counts in the term's absence, not in the roll.

The refresh is incremental. Every write to the marks (the ORM, the register service,
amendments, deletions, the bench's and the import's COPY) is noted by the marks' triggers
in ``AttendanceChange`` as signed sessions per pupil, day and category (migration 0007).
A refresh takes the school's changes dated up to the day, adds them to its pupils' weekly
totals (``PupilWeekAttendance``, a row per pupil, week and term), recounts only the weeks
they touched (``WeeklyAttendance``: sessions by category per Monday-to-Sunday week and year
group, the year group being the pupil's) and the cells from the term's totals. It never
reads a mark, so its cost follows the day's changes and the school's roll, not the terms
stored before; ``rollups_recount_school`` counts the same cells from the marks, the
reference the tests hold it to. A refresh for a day earlier than one already counted
(the totals then hold later marks) counts the cells from the marks.

Each school is refreshed in its own transaction, bound to the school (``site_work``, the
binding every SiteTask runs in: the pupils' rows are visible only there), under a lock on
its ``RollupState`` row, so two refreshes of one school queue rather than interleave, and
the replacement of its cells is atomic: a reader sees the old figures or the new ones.
"""

import datetime

from django.db import connection
from django.db.models import F, Min, Q
from django.utils import timezone

from matmis.tasks import site_work, site_work_required

from .attendance_sql import (
    CATEGORY_PARAMS,
    PERSISTENT_ABSENTEE,
    PUPIL_MARKS,
    PUPIL_TERM_TOTALS,
    term_start_sql,
    week_start_sql,
)
from .calendar import academic_year_start, term_of
from .codes import ExclusionKind
from .models import RollupState

# A school's cells from its pupils' term counts (``pupil_marks``: PUPIL_TERM_TOTALS, the
# weekly totals, or PUPIL_MARKS, the marks themselves), its exclusions and its roll.
_CELLS_SQL = """
WITH pupil_marks AS ({pupil_marks}), pupil_exclusions AS (
    SELECT e.pupil_id,
           count(*) FILTER (WHERE e.kind = %(suspension)s) AS suspensions,
           count(*) FILTER (WHERE e.kind = %(permanent)s) AS permanent
    FROM mis_exclusion e
    WHERE e.site_id = %(site)s AND e.starts_on >= %(year_start)s AND e.starts_on <= %(end)s
    GROUP BY e.pupil_id
), counted AS (
    SELECT p.year_group, p.disadvantaged, p.sen_provision,
           (p.enrolled_on <= %(end)s AND (p.left_on IS NULL OR p.left_on >= %(end)s))
               AS on_roll,
           coalesce(pm.possible, 0) AS possible,
           coalesce(pm.present, 0) AS present,
           coalesce(pm.authorised, 0) AS authorised,
           coalesce(pm.unauthorised, 0) AS unauthorised,
           coalesce(pe.suspensions, 0) AS suspensions,
           coalesce(pe.permanent, 0) AS permanent
    FROM mis_pupil p
    LEFT JOIN pupil_marks pm ON pm.pupil_id = p.id
    LEFT JOIN pupil_exclusions pe ON pe.pupil_id = p.id
    WHERE p.site_id = %(site)s
)
SELECT %(site)s, year_group, disadvantaged, sen_provision,
       count(*) FILTER (WHERE on_roll),
       count(*) FILTER (WHERE possible > 0),
       sum(possible), sum(present), sum(authorised), sum(unauthorised),
       count(*) FILTER (WHERE {persistent}),
       sum(suspensions), sum(permanent)
FROM counted
WHERE on_roll OR possible > 0 OR suspensions > 0 OR permanent > 0
GROUP BY year_group, disadvantaged, sen_provision
"""

_CELL_COLUMNS = """
    school_id, year_group, disadvantaged, sen_provision, pupils_on_roll, pupils_with_sessions,
    possible_sessions, present_sessions, authorised_sessions, unauthorised_sessions,
    persistent_absentees, suspensions, permanent_exclusions"""
CELL_FIELDS = tuple(column.strip() for column in _CELL_COLUMNS.split(","))[1:]


def _cells_sql(pupil_marks: str) -> str:
    return _CELLS_SQL.format(pupil_marks=pupil_marks, persistent=PERSISTENT_ABSENTEE)


_INSERT_CELLS_FROM_TOTALS = (
    f"INSERT INTO mis_attendancerollup ({_CELL_COLUMNS}) {_cells_sql(PUPIL_TERM_TOTALS)}"
)
_INSERT_CELLS_FROM_MARKS = (
    f"INSERT INTO mis_attendancerollup ({_CELL_COLUMNS}) {_cells_sql(PUPIL_MARKS)}"
)

# The school's changes dated up to the day, taken from the change table and added to its
# pupils' weekly totals; returns how many change rows were taken and the (week, term) pairs
# they touched. The marks themselves are not read.
_FOLD_SQL = f"""
WITH taken AS (
    DELETE FROM mis_attendancechange
    WHERE site_id = %(site)s AND date <= %(end)s
    RETURNING pupil_id, date, category, sessions
), weeks AS (
    SELECT pupil_id, {week_start_sql("date")} AS week_start,
           {term_start_sql("date")} AS term_start,
           coalesce(sum(sessions) FILTER (WHERE category = %(present)s), 0) AS present,
           coalesce(sum(sessions) FILTER (WHERE category = %(authorised)s), 0) AS authorised,
           coalesce(sum(sessions) FILTER (WHERE category = %(unauthorised)s), 0) AS unauthorised,
           coalesce(sum(sessions) FILTER (WHERE category = %(not_possible)s), 0) AS not_possible
    FROM taken
    GROUP BY 1, 2, 3
), updated AS (
    -- Existing totals first, then new ones: an upsert would check a removal's negative
    -- counts against the totals' "never negative" constraint before finding the row.
    UPDATE mis_pupilweekattendance w SET
        present = w.present + d.present,
        authorised = w.authorised + d.authorised,
        unauthorised = w.unauthorised + d.unauthorised,
        not_possible = w.not_possible + d.not_possible
    FROM weeks d
    WHERE w.site_id = %(site)s AND w.pupil_id = d.pupil_id AND w.week_start = d.week_start
      AND w.term_start = d.term_start
    RETURNING w.pupil_id, w.week_start, w.term_start
), inserted AS (
    INSERT INTO mis_pupilweekattendance (
        site_id, pupil_id, week_start, term_start, present, authorised, unauthorised,
        not_possible)
    SELECT %(site)s, pupil_id, week_start, term_start, present, authorised, unauthorised,
           not_possible
    FROM weeks d
    WHERE NOT EXISTS (
        SELECT 1 FROM updated u
        WHERE u.pupil_id = d.pupil_id AND u.week_start = d.week_start
          AND u.term_start = d.term_start
    )
    RETURNING week_start, term_start
), added AS (
    SELECT week_start, term_start FROM updated
    UNION ALL
    SELECT week_start, term_start FROM inserted
)
SELECT (SELECT count(*) FROM taken),
       coalesce((SELECT array_agg(DISTINCT week_start) FROM added), '{{}}'),
       coalesce((SELECT array_agg(DISTINCT term_start) FROM added), '{{}}')
"""  # noqa: S608 - constant fragments of mis.attendance_sql

# Totals of the touched weeks that fell to zero (their marks were deleted) go.
_DROP_EMPTY_WEEKS_SQL = """
DELETE FROM mis_pupilweekattendance
WHERE site_id = %(site)s AND term_start = ANY(%(terms)s) AND week_start = ANY(%(weeks)s)
  AND present = 0 AND authorised = 0 AND unauthorised = 0 AND not_possible = 0
"""

# The touched weeks of the school recounted from its pupils' weekly totals: new and changed
# weeks written, weeks that no longer have a possible session removed. The year group is
# the pupil's.
_WEEKS_SQL = """
WITH counted AS (
    SELECT w.week_start, p.year_group,
           sum(w.present) AS present, sum(w.authorised) AS authorised,
           sum(w.unauthorised) AS unauthorised
    FROM mis_pupilweekattendance w
    JOIN mis_pupil p ON p.id = w.pupil_id AND p.site_id = w.site_id
    WHERE w.site_id = %(site)s AND w.term_start = ANY(%(terms)s)
      AND w.week_start = ANY(%(weeks)s)
    GROUP BY 1, 2
    HAVING sum(w.present + w.authorised + w.unauthorised) > 0
), written AS (
    INSERT INTO mis_weeklyattendance (
        site_id, week_start, year_group, possible_sessions, present_sessions,
        authorised_sessions, unauthorised_sessions)
    SELECT %(site)s, week_start, year_group, present + authorised + unauthorised, present,
           authorised, unauthorised
    FROM counted
    ON CONFLICT (site_id, week_start, year_group) DO UPDATE SET
        possible_sessions = EXCLUDED.possible_sessions,
        present_sessions = EXCLUDED.present_sessions,
        authorised_sessions = EXCLUDED.authorised_sessions,
        unauthorised_sessions = EXCLUDED.unauthorised_sessions
    WHERE (mis_weeklyattendance.possible_sessions, mis_weeklyattendance.present_sessions,
           mis_weeklyattendance.authorised_sessions, mis_weeklyattendance.unauthorised_sessions)
          IS DISTINCT FROM (EXCLUDED.possible_sessions, EXCLUDED.present_sessions,
                            EXCLUDED.authorised_sessions, EXCLUDED.unauthorised_sessions)
)
DELETE FROM mis_weeklyattendance w
WHERE w.site_id = %(site)s AND w.week_start = ANY(%(weeks)s)
  AND NOT EXISTS (
      SELECT 1 FROM counted c WHERE c.week_start = w.week_start AND c.year_group = w.year_group
  )
"""

_CONSTANTS = {
    **CATEGORY_PARAMS,
    "suspension": ExclusionKind.SUSPENSION.value,
    "permanent": ExclusionKind.PERMANENT.value,
}

_MARK_CHANGED_SQL = """
INSERT INTO mis_rollupstate (school_id, changed_at) SELECT unnest(%(schools)s::bigint[]), now()
ON CONFLICT (school_id) DO UPDATE SET changed_at = now()
"""


def records_changed(*, school_ids) -> None:
    """Note that these schools' records changed: the next sweep refreshes their figures.
    Call it in the transaction that changes them."""
    with connection.cursor() as cursor:
        cursor.execute(_MARK_CHANGED_SQL, {"schools": list(school_ids)})


def rollups_refresh_school(*, school_id: int, today: datetime.date | None = None) -> None:
    """Recompute one school's cells, counted up to ``today`` (default: today), in a
    transaction of their own bound to the school."""
    with site_work(school_id):
        school_rollups_replace(school_id=school_id, today=today)


def school_rollups_replace(*, school_id: int, today: datetime.date | None = None) -> int:
    """Bring one school's figures up to ``today`` in the current transaction, which must be
    bound to the school (the SiteTask ``mis.refresh_school_rollups``, or
    ``rollups_refresh_school``): unbound, its pupils would be invisible and its figures
    replaced by nothing, so that is refused.

    Incremental: the changes noted since the last refresh and dated up to the day are
    added to the pupils' weekly totals, the weeks they touched are recounted from those
    totals, and the cells from the term's totals (about 14 rows a pupil). No mark is read,
    so the cost follows what changed, not the school's history. Returns how many change
    rows were taken. A refresh for an earlier day than one already counted (the totals then
    hold later marks) counts the cells from the marks instead."""
    site_work_required(school_id)
    params = _params(school_id, today or timezone.localdate())
    with connection.cursor() as cursor:
        # The school's state row, made if missing and locked either way (the no-op update
        # takes the row lock): a second refresh of the school waits here.
        cursor.execute(
            "INSERT INTO mis_rollupstate (school_id, changed_at) VALUES (%s, now()) "
            "ON CONFLICT (school_id) DO UPDATE SET school_id = EXCLUDED.school_id "
            "RETURNING folded_through",
            [school_id],
        )
        folded_through = cursor.fetchone()[0]
        cursor.execute(_FOLD_SQL, params)
        taken, weeks, terms = cursor.fetchone()
        if weeks:
            touched = {**params, "weeks": weeks, "terms": _terms_of_weeks(weeks, terms)}
            cursor.execute(_DROP_EMPTY_WEEKS_SQL, touched)
            cursor.execute(_WEEKS_SQL, touched)
        cursor.execute("DELETE FROM mis_attendancerollup WHERE school_id = %s", [school_id])
        if folded_through is None or folded_through <= params["end"]:
            cursor.execute(_INSERT_CELLS_FROM_TOTALS, params)
        else:
            cursor.execute(_INSERT_CELLS_FROM_MARKS, params)
        # now() is the transaction's start: a change committed while this ran has a later
        # changed_at, so the next sweep counts it.
        cursor.execute(
            """UPDATE mis_rollupstate SET refreshed_at = now(), refreshed_for = %(end)s,
                   term_start = %(start)s, year_start = %(year_start)s,
                   folded_through = greatest(folded_through, %(end)s)
               WHERE school_id = %(site)s""",
            params,
        )
    return taken


def _params(school_id: int, today: datetime.date) -> dict:
    return {
        "site": school_id,
        "end": today,
        "start": term_of(today).start,
        "year_start": academic_year_start(today),
        **_CONSTANTS,
    }


def _terms_of_weeks(weeks, terms) -> list[datetime.date]:
    """Every term a touched week has totals in: a week that spans two terms has a row in
    each, and both count in the week."""
    found = set(terms)
    for monday in weeks:
        found.add(term_of(monday).start)
        found.add(term_of(monday + datetime.timedelta(days=6)).start)
    return sorted(found)


def rollups_recount_school(*, school_id: int, today: datetime.date) -> list[tuple]:
    """One school's cells counted from its marks, as the refresh writes them (ordered by
    cell), without writing anything: the reference the incremental refresh is checked
    against. Runs in the current transaction, which must be bound to the school."""
    site_work_required(school_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"{_cells_sql(PUPIL_MARKS)} ORDER BY 2, 3, 4",
            _params(school_id, today),
        )
        return cursor.fetchall()


def _due(today: datetime.date) -> Q:
    """A school's figures are missing, older than its records, or for an earlier day."""
    return (
        Q(refreshed_at__isnull=True)
        | Q(changed_at__gt=F("refreshed_at"))
        | Q(refreshed_for__isnull=True)
        | ~Q(refreshed_for=today)
    )


def rollups_due_school_ids(*, today: datetime.date | None = None) -> list[int]:
    """Schools whose figures are missing, older than their records, or for an earlier day."""
    today = today or timezone.localdate()
    return list(
        RollupState.objects.filter(_due(today))
        .order_by("school_id")
        .values_list("school_id", flat=True)
    )


def rollups_oldest_due_since(*, now: datetime.datetime | None = None) -> datetime.datetime | None:
    """Since when the longest-waiting due school has been due (None when none is): since
    its records changed when its figures are missing or older than them, else since the
    start of today (figures counted for an earlier day). ``now`` minus this is the roll-up
    lag the metrics report."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    start_of_today = timezone.make_aware(
        datetime.datetime.combine(today, datetime.time.min), timezone.get_current_timezone()
    )
    changed = RollupState.objects.filter(
        Q(refreshed_at__isnull=True) | Q(changed_at__gt=F("refreshed_at"))
    ).aggregate(oldest=Min("changed_at"))["oldest"]
    candidates = [changed] if changed is not None else []
    if RollupState.objects.filter(Q(refreshed_for__isnull=True) | ~Q(refreshed_for=today)).exists():
        candidates.append(start_of_today)
    return min(candidates, default=None)


def rollups_school_is_due(*, school_id: int, today: datetime.date | None = None) -> bool:
    """Whether one school is due (``rollups_due_school_ids``): a refresh task queued twice,
    or overtaken by another, then refreshes once."""
    today = today or timezone.localdate()
    return RollupState.objects.filter(_due(today), school_id=school_id).exists()


def rollups_refresh_due(*, today: datetime.date | None = None) -> int:
    """Refresh every school that is due, here and now, one transaction each (the demo and
    the bench; beat enqueues a task per school instead); returns how many were refreshed."""
    school_ids = rollups_due_school_ids(today=today)
    for school_id in school_ids:
        rollups_refresh_school(school_id=school_id, today=today)
    return len(school_ids)
