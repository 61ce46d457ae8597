"""The incremental roll-up refresh after one day of registers, and the day's WAL per mark.

Works on the schools that already have a term of marks in the bench database (the
``dashboard`` scenario makes them: about 300 schools x 300 pupils, 11 million marks); with
fewer than 100 such schools it fails loudly rather than measure nothing. One weekday of
registers (AM and PM for every pupil of every such school, each code taken from the
pupil's last day, staged before a checkpoint) is written by one ``INSERT ... SELECT`` as
the tables' owner, as an import would, and the schools marked changed: the WAL it wrote
divided by the marks is ``attendance_wal_per_mark``. Then
``rollups_refresh_due`` refreshes every school (the product's path: one transaction per
school, bound to it, as the application's role) against the floor: one hand-written
statement applying the same day's counts to the same pupils' weekly totals for every
school at once, timed on a copy of the totals. Last the day is deleted again and the
schools refreshed, so the scenario can run again on the same database.
"""

import datetime
import time

from bench.harness import Bench, scenario

FIRST_DAY = datetime.date(2026, 12, 7)  # the Monday after the dashboard's term to date
MIN_SCHOOLS = 100


def _register_day(today: datetime.date) -> datetime.date:
    """The first weekday from FIRST_DAY and today on: the refresh counts up to today, and
    the figures must not have been counted for a later day already."""
    day = max(FIRST_DAY, today)
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


_SCHOOLS_WITH_MARKS = """
SELECT site_id FROM mis_attendancemark WHERE date = %s GROUP BY site_id ORDER BY site_id
"""
_LAST_DAY = "SELECT max(date) FROM mis_attendancemark WHERE date < %s"
# The day's registers, made before the checkpoint (so that reading the last day's codes is
# not in the WAL measured), then written in the marks' key order, as a day's import is.
_STAGE_DAY = """
CREATE TEMPORARY TABLE bench_register_day AS
SELECT site_id, pupil_id, %(day)s::date AS date, session, code FROM mis_attendancemark
WHERE date = %(last)s AND site_id = ANY(%(schools)s)
ORDER BY site_id, session, pupil_id
"""
_WRITE_DAY = """
INSERT INTO mis_attendancemark (site_id, pupil_id, date, session, code)
SELECT site_id, pupil_id, date, session, code FROM bench_register_day
"""
_FLOOR = """
WITH day AS (
    SELECT site_id, pupil_id,
           count(*) FILTER (WHERE category = 1) AS present,
           count(*) FILTER (WHERE category = 2) AS authorised,
           count(*) FILTER (WHERE category = 3) AS unauthorised,
           count(*) FILTER (WHERE category = 4) AS not_possible
    FROM mis_attendancemark WHERE date = %(day)s AND site_id = ANY(%(schools)s)
    GROUP BY 1, 2
)
INSERT INTO bench_pupilweek AS w (site_id, pupil_id, week_start, term_start, present,
                                  authorised, unauthorised, not_possible)
SELECT site_id, pupil_id, %(week)s, %(term)s, present, authorised, unauthorised,
       not_possible FROM day
ON CONFLICT (site_id, pupil_id, week_start, term_start) DO UPDATE SET
    present = w.present + EXCLUDED.present, authorised = w.authorised + EXCLUDED.authorised,
    unauthorised = w.unauthorised + EXCLUDED.unauthorised,
    not_possible = w.not_possible + EXCLUDED.not_possible
"""


def _wal_of_this_database(cursor, start_lsn, end_lsn) -> tuple[int, list[tuple[str, int]]]:
    """WAL bytes between two positions that touched this database's relations (a shared
    server's other databases write WAL meanwhile), and the largest by relation."""
    cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
    cursor.execute(
        """WITH records AS (
               SELECT record_length,
                      substring(block_ref from 'rel [0-9]+/([0-9]+)/')::oid AS db,
                      substring(block_ref from 'rel [0-9]+/[0-9]+/([0-9]+)')::oid AS node
               FROM pg_get_wal_records_info(%s, %s)
           )
           SELECT coalesce(c.relname, r.node::text), sum(r.record_length)
           FROM records r
           LEFT JOIN pg_class c ON c.relfilenode = r.node
           WHERE r.db = (SELECT oid FROM pg_database WHERE datname = current_database())
           GROUP BY 1 ORDER BY 2 DESC""",
        [start_lsn, end_lsn],
    )
    rows = [(name, int(size)) for name, size in cursor.fetchall()]
    return sum(size for _name, size in rows), rows[:6]


@scenario(
    "rollup_refresh",
    goals={
        "rollup_refresh_vs_raw_sql": "<= 2",
        "attendance_wal_per_mark": "<= 300",
    },
)
def rollup_refresh(bench: Bench) -> None:
    """The roll-up refresh after a day of registers against set-based SQL; WAL per mark."""
    from django.utils import timezone

    from mis.calendar import term_of, week_start
    from mis.rollups import rollups_refresh_due

    day = _register_day(timezone.localdate())
    db = bench.connection()
    with db.cursor() as cursor:
        cursor.execute("DELETE FROM mis_attendancemark WHERE date >= %s", [FIRST_DAY])
        cursor.execute(_LAST_DAY, [FIRST_DAY])
        last = cursor.fetchone()[0]
        schools = [row[0] for row in cursor.execute(_SCHOOLS_WITH_MARKS, [last]).fetchall()]
    if len(schools) < MIN_SCHOOLS:
        raise RuntimeError(
            f"only {len(schools)} schools have marks on {last}: run the dashboard scenario "
            "first (it makes the term of marks)"
        )
    bench.progress(f"bringing {len(schools)} schools' figures up to date before the day")
    rollups_refresh_due(today=day)
    with db.cursor() as cursor:
        for table in (
            "mis_attendancemark",
            "mis_attendancechange",
            "mis_pupilweekattendance",
            "mis_weeklyattendance",
            "mis_rollupstate",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("DROP TABLE IF EXISTS bench_register_day")
        cursor.execute(_STAGE_DAY, {"day": day, "last": last, "schools": schools})
        cursor.execute("CHECKPOINT")  # every page's first change after it is a full image
        start_lsn = cursor.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        started = time.perf_counter()
        cursor.execute(_WRITE_DAY)
        written = cursor.rowcount
        wrote = time.perf_counter() - started
        end_lsn = cursor.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        cluster_wal = cursor.execute(
            "SELECT pg_wal_lsn_diff(%s, %s)", [end_lsn, start_lsn]
        ).fetchone()[0]
        wal, by_relation = _wal_of_this_database(cursor, start_lsn, end_lsn)
        cursor.execute("DROP TABLE bench_register_day")
        # As every writer does (mis.rollups.records_changed): the schools are due.
        cursor.execute(
            "UPDATE mis_rollupstate SET changed_at = now() WHERE school_id = ANY(%s)", [schools]
        )
    parts = ", ".join(f"{name} {size / written:.0f}" for name, size in by_relation)
    bench.goal(
        "attendance_wal_per_mark",
        float(wal) / written,
        unit=" bytes",
        detail=f"{written:,} marks of {day} for {len(schools)} schools in {wrote:.2f} s "
        f"({wrote / written * 1e6:.1f} us a mark); {int(wal):,} bytes of this database's WAL "
        f"after a checkpoint (pg_walinspect; the server's whole WAL meanwhile "
        f"{int(cluster_wal):,}, other databases included); bytes a mark by relation: {parts}",
    )

    try:
        started = time.perf_counter()
        refreshed = rollups_refresh_due(today=day)
        refresh = time.perf_counter() - started
        with db.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_pupilweek")
            cursor.execute(
                "CREATE UNLOGGED TABLE bench_pupilweek AS SELECT * FROM mis_pupilweekattendance "
                "WHERE site_id = ANY(%s)",
                [schools],
            )
            cursor.execute(
                "ALTER TABLE bench_pupilweek ADD PRIMARY KEY "
                "(site_id, pupil_id, week_start, term_start)"
            )
            started = time.perf_counter()
            cursor.execute(
                _FLOOR,
                {
                    "day": day,
                    "week": week_start(day),
                    "term": term_of(day).start,
                    "schools": schools,
                },
            )
            floor = time.perf_counter() - started
            cursor.execute("DROP TABLE bench_pupilweek")
        bench.goal(
            "rollup_refresh_vs_raw_sql",
            refresh / floor,
            detail=f"refresh of {refreshed} schools {refresh:.2f} s "
            f"({refresh / max(refreshed, 1) * 1000:.1f} ms a school: changes taken, weekly "
            f"totals, touched weeks, cells), one set-based statement adding the day's counts "
            f"to the same totals {floor:.2f} s",
        )
    finally:
        with db.cursor() as cursor:
            cursor.execute("DELETE FROM mis_attendancemark WHERE date >= %s", [FIRST_DAY])
        rollups_refresh_due(today=day)
