"""The attendance arithmetic in SQL, written once for every statement that counts marks
(the roll-ups, ``mis.rollups``; a school's term to date, ``mis.selectors``).

``PUPIL_MARKS`` counts one site's marks per pupil between two days by category, with
``possible`` = present + authorised + unauthorised (a "not a possible session" mark counts
for nothing); ``PERSISTENT_ABSENTEE`` is the DfE's rule over those columns: missed 10% or
more of their possible sessions, compared in integers. Parameters: ``site``, ``start``,
``end`` and ``CATEGORY_PARAMS``. ``PUPIL_TERM_TOTALS`` gives the same columns from the
pupils' weekly totals (``mis.PupilWeekAttendance``) of the term starting ``start``, without
reading a mark. ``term_start_sql`` and ``week_start_sql`` are ``mis.calendar.term_of(d).start``
and ``week_start(d)`` in SQL.
"""

from .codes import MarkCategory

PUPIL_MARKS = """
    SELECT m.pupil_id,
           count(*) FILTER (WHERE m.category <> %(not_possible)s) AS possible,
           count(*) FILTER (WHERE m.category = %(present)s) AS present,
           count(*) FILTER (WHERE m.category = %(authorised)s) AS authorised,
           count(*) FILTER (WHERE m.category = %(unauthorised)s) AS unauthorised,
           count(*) FILTER (WHERE m.category = %(not_possible)s) AS not_possible
    FROM mis_attendancemark m
    WHERE m.site_id = %(site)s AND m.date >= %(start)s AND m.date <= %(end)s
    GROUP BY m.pupil_id
"""

PERSISTENT_ABSENTEE = "(possible > 0 AND 10 * (authorised + unauthorised) >= possible)"

CATEGORY_PARAMS = {
    "not_possible": int(MarkCategory.NOT_POSSIBLE),
    "present": int(MarkCategory.PRESENT),
    "authorised": int(MarkCategory.AUTHORISED),
    "unauthorised": int(MarkCategory.UNAUTHORISED),
}

PUPIL_TERM_TOTALS = """
    SELECT w.pupil_id,
           sum(w.present + w.authorised + w.unauthorised) AS possible,
           sum(w.present) AS present,
           sum(w.authorised) AS authorised,
           sum(w.unauthorised) AS unauthorised,
           sum(w.not_possible) AS not_possible
    FROM mis_pupilweekattendance w
    WHERE w.site_id = %(site)s AND w.term_start = %(start)s
    GROUP BY w.pupil_id
"""


def term_start_sql(day: str) -> str:
    """The first day of ``day``'s term (``mis.calendar.term_of``), in SQL."""
    return (
        f"(CASE WHEN extract(month FROM {day}) >= 9 "
        f"THEN make_date(extract(year FROM {day})::int, 9, 1) "
        f"WHEN extract(month FROM {day}) <= 3 THEN make_date(extract(year FROM {day})::int, 1, 1) "
        f"ELSE make_date(extract(year FROM {day})::int, 4, 1) END)"
    )


def week_start_sql(day: str) -> str:
    """The Monday of ``day``'s week, in SQL (ISO day of the week: no time zone moves it)."""
    return f"({day} - (extract(isodow FROM {day})::int - 1))"
