"""The attendance marks' partitions: one per academic year (1 September to 1 September),
made ahead of the year that needs them.

``mis_attendancemark`` is partitioned by RANGE (date) (migration 0007) with no default
partition: a mark for a year without its partition is refused, never filed somewhere it
would later have to be moved from. So the next year's partition must exist before the
first register of September: the beat job ``mis.attendance_partitions_ensure`` asks every
day for this year's and next year's, which makes next year's about a year ahead.

The application owns no table and may not create one; it calls the database function
``mis_attendancemark_partitions_ensure(from, through)`` (SECURITY DEFINER, the tables'
owner's, ``matmis.db_roles.APP_FUNCTIONS``), which only ever adds partitions, over a
bounded span of years, each with the marks' Row-Level Security policy enabled and forced.
"""

import datetime

from django.db import connection
from django.utils import timezone

from .calendar import academic_year_start

MARKS_TABLE = "mis_attendancemark"


def next_academic_year_start(day: datetime.date) -> datetime.date:
    """1 September after ``day``'s academic year began."""
    return academic_year_start(day).replace(year=academic_year_start(day).year + 1)


def attendance_partitions_ensure(*, today: datetime.date | None = None) -> int:
    """Make this academic year's and next academic year's partitions of the marks if
    missing; returns how many were made (0 on most days)."""
    today = today or timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT mis_attendancemark_partitions_ensure(%s, %s)",
            [academic_year_start(today), next_academic_year_start(today)],
        )
        return cursor.fetchone()[0]


def attendance_partitions() -> list[tuple[str, datetime.date, datetime.date]]:
    """The marks' partitions as (name, first day, day after the last), oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
               FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               WHERE i.inhparent = %s::regclass ORDER BY c.relname""",
            [MARKS_TABLE],
        )
        rows = cursor.fetchall()
    partitions = []
    for name, bound in rows:
        # "FOR VALUES FROM ('2026-09-01') TO ('2027-09-01')"
        first, after = (datetime.date.fromisoformat(part) for part in bound.split("'")[1::2])
        partitions.append((name, first, after))
    return partitions
