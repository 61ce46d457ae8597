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

The same refresh keeps the school's weeks (``WeeklyAttendance``: sessions by category per
Monday-to-Sunday week and year group), recounting every week of the academic year to date
in one statement (``_WEEKS_SQL``), so a mark added or amended later moves its own week; a
school with no weeks yet has all its marks counted (the backfill).

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

from .attendance_sql import CATEGORY_PARAMS, PERSISTENT_ABSENTEE, PUPIL_MARKS
from .calendar import academic_year_start, term_of, week_start
from .codes import ExclusionKind
from .models import RollupState

_REFRESH_SQL = f"""
WITH pupil_marks AS ({PUPIL_MARKS}), pupil_exclusions AS (
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
INSERT INTO mis_attendancerollup (
    school_id, year_group, disadvantaged, sen_provision, pupils_on_roll, pupils_with_sessions,
    possible_sessions, present_sessions, authorised_sessions, unauthorised_sessions,
    persistent_absentees, suspensions, permanent_exclusions)
SELECT %(site)s, year_group, disadvantaged, sen_provision,
       count(*) FILTER (WHERE on_roll),
       count(*) FILTER (WHERE possible > 0),
       sum(possible), sum(present), sum(authorised), sum(unauthorised),
       count(*) FILTER (WHERE {PERSISTENT_ABSENTEE}),
       sum(suspensions), sum(permanent)
FROM counted
WHERE on_roll OR possible > 0 OR suspensions > 0 OR permanent > 0
GROUP BY year_group, disadvantaged, sen_provision
"""  # noqa: S608 - constant fragments of mis.attendance_sql

# A school's weeks from %(weeks_from)s (a Monday) on, recounted: new and changed weeks
# written, weeks that no longer have a possible session removed (their marks were deleted
# or changed to "not a possible session"). The year group is the pupil's. The Monday is
# date arithmetic (ISO day of the week), which no session time zone can move.
_WEEKS_SQL = """
WITH counted AS (
    SELECT m.date - (extract(isodow FROM m.date)::int - 1) AS week_start, p.year_group,
           count(*) FILTER (WHERE m.category = %(present)s) AS present,
           count(*) FILTER (WHERE m.category = %(authorised)s) AS authorised,
           count(*) FILTER (WHERE m.category = %(unauthorised)s) AS unauthorised
    FROM mis_attendancemark m
    JOIN mis_pupil p ON p.id = m.pupil_id AND p.site_id = m.site_id
    WHERE m.site_id = %(site)s AND m.date >= %(weeks_from)s AND m.date <= %(end)s
      AND m.category <> %(not_possible)s
    GROUP BY 1, 2
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
WHERE w.site_id = %(site)s AND w.week_start >= %(weeks_from)s
  AND NOT EXISTS (
      SELECT 1 FROM counted c WHERE c.week_start = w.week_start AND c.year_group = w.year_group
  )
"""

# The earliest day a school with no weeks yet has marks from: every mark is counted.
_EVERY_WEEK = datetime.date(1900, 1, 1)

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


def school_rollups_replace(*, school_id: int, today: datetime.date | None = None) -> None:
    """Recompute one school's cells in the current transaction, which must be bound to the
    school (the SiteTask ``mis.refresh_school_rollups``, or ``rollups_refresh_school``):
    unbound, its pupils would be invisible and its figures replaced by nothing, so that is
    refused."""
    site_work_required(school_id)
    today = today or timezone.localdate()
    params = {
        "site": school_id,
        "end": today,
        "start": term_of(today).start,
        "year_start": academic_year_start(today),
        **_CONSTANTS,
    }
    with connection.cursor() as cursor:
        # The school's state row, made if missing and locked either way (the no-op update
        # takes the row lock): a second refresh of the school waits here.
        cursor.execute(
            "INSERT INTO mis_rollupstate (school_id, changed_at) VALUES (%s, now()) "
            "ON CONFLICT (school_id) DO UPDATE SET school_id = EXCLUDED.school_id",
            [school_id],
        )
        cursor.execute("DELETE FROM mis_attendancerollup WHERE school_id = %s", [school_id])
        cursor.execute(_REFRESH_SQL, params)
        cursor.execute(_WEEKS_SQL, {**params, "weeks_from": _weeks_from(cursor, params)})
        # now() is the transaction's start: a change committed while this ran has a later
        # changed_at, so the next sweep counts it.
        cursor.execute(
            """UPDATE mis_rollupstate SET refreshed_at = now(), refreshed_for = %(end)s,
                   term_start = %(start)s, year_start = %(year_start)s
               WHERE school_id = %(site)s""",
            params,
        )


def _weeks_from(cursor, params: dict) -> datetime.date:
    """The Monday from which the school's weeks are recounted: the academic year's first
    week, or every week when the school has none yet (its first refresh since it had
    marks, or since weeks were kept at all)."""
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM mis_weeklyattendance WHERE site_id = %s)", [params["site"]]
    )
    if not cursor.fetchone()[0]:
        return _EVERY_WEEK
    return week_start(params["year_start"])


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
