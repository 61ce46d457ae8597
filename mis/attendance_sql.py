"""The attendance arithmetic in SQL, written once for every statement that counts marks
(the roll-ups, ``mis.rollups``; a school's term to date, ``mis.selectors``).

``PUPIL_MARKS`` counts one site's marks per pupil between two days by category, with
``possible`` = present + authorised + unauthorised (a "not a possible session" mark counts
for nothing); ``PERSISTENT_ABSENTEE`` is the DfE's rule over those columns: missed 10% or
more of their possible sessions, compared in integers. Parameters: ``site``, ``start``,
``end`` and ``CATEGORY_PARAMS``.
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
