"""The dashboard as a file (CSV or XLSX, ``matmis.exports``): the same columns and the same
gating as the page ("Not shared" where the level does not allow a figure), then the group's
totals, the number of schools each total counts, and England.

School names come from an external register and end up in spreadsheets: ``matmis.exports``
writes any text cell a spreadsheet could read as a formula with a leading apostrophe, in
both formats. Figures are numbers to one decimal place (typed cells in XLSX); no figure
written here is negative.
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter

from matmis.exports import Cell, Column, Table

from .selectors import (
    Dashboard,
    LiveFigures,
    Published,
    SchoolFigures,
    Total,
    time_period_label,
)

NOT_SHARED = "Not shared"
NO_MIS_DATA = "No MIS data yet"
TENTH = Decimal("0.1")


def one_place(value: Decimal | None) -> str:
    """A figure to one decimal place, rounding half up (as the DfE does); "" for None."""
    if value is None:
        return ""
    return str(value.quantize(TENTH, ROUND_HALF_UP))


def figure(value: Decimal | None) -> Decimal | None:
    """A figure to one decimal place, rounding half up, as a number (None stays None)."""
    return None if value is None else value.quantize(TENTH, ROUND_HALF_UP)


def header(dashboard: Dashboard) -> list[str]:
    year = dashboard.time_period_label
    published = f"Published {year}" if year else "Published"
    return [
        "School",
        "URN",
        "Phase",
        "Pupils",
        "% FSM",
        f"{published}: overall absence %",
        f"{published}: persistent absence %",
        f"{published}: suspensions per 100 pupils",
        "Live: attendance % this term",
        "Live: overall absence % this term",
        "Live: persistent absentees",
        "Live: persistent absence %",
        "Live: suspensions per 100 pupils this year",
        "Live: refreshed at",
        "Live: counted up to",
    ]


def _published_cells(published: Published | None, *, shared: bool) -> list[Cell]:
    if not shared:
        return [NOT_SHARED] * 3
    if published is None:
        return [None] * 3
    return [
        figure(published.overall_absence_rate),
        figure(published.persistent_absence_rate),
        figure(published.suspension_rate),
    ]


def _live_cells(live: LiveFigures) -> list[Cell]:
    return [
        figure(live.attendance_rate),
        figure(live.overall_absence_rate),
        live.persistent_absentees,
        figure(live.persistent_absence_rate),
        figure(live.suspension_rate),
    ]


def _school_row(row: SchoolFigures) -> list[Cell]:
    cells = [
        row.name,
        row.urn,
        row.phase,
        row.pupils,
        figure(row.percentage_fsm),
        *_published_cells(row.published, shared=row.published_shared),
    ]
    if not row.mis_shared:
        cells += [NOT_SHARED] * 7
    elif row.live is None:
        cells += [NO_MIS_DATA] * 5 + [None, None]
    else:
        cells += _live_cells(row.live)
        cells += [_when(row.refreshed_at), row.refreshed_for]
    return cells


def _when(moment: datetime.datetime | None) -> datetime.datetime | None:
    """To the minute, as the page shows it."""
    return None if moment is None else moment.replace(second=0, microsecond=0)


def _total(total: Total) -> Decimal | None:
    return figure(total.value)


def _totals_rows(dashboard: Dashboard) -> list[list[Cell]]:
    totals = dashboard.totals
    live_cells = _live_cells(totals.live) if totals.live_schools else [None] * 5
    refreshed = [_when(dashboard.refreshed_at), dashboard.refreshed_for]
    total_row = [
        f"Group total ({totals.schools} school{'' if totals.schools == 1 else 's'})",
        None,
        None,
        totals.pupils,
        _total(totals.fsm),
        _total(totals.published_overall_absence),
        _total(totals.published_persistent_absence),
        _total(totals.published_suspensions),
        *live_cells,
        *refreshed,
    ]
    counted_row = [
        "Schools counted in the total",
        None,
        None,
        totals.pupils_schools,
        totals.fsm.schools,
        totals.published_overall_absence.schools,
        totals.published_persistent_absence.schools,
        totals.published_suspensions.schools,
        *[totals.live_schools] * 5,
        None,
        None,
    ]
    return [total_row, counted_row]


def _national_row(dashboard: Dashboard) -> list[Cell]:
    national = dashboard.national
    label = "England"
    if national is not None:
        label += f" ({time_period_label(national.time_period)})"
    return [label, *[None] * 4, *_published_cells(national, shared=True), *[None] * 7]


def dashboard_table(dashboard: Dashboard) -> Table:
    """The page's table, then the totals, the schools they count and England: the
    dashboard is already read (one query), so the rows are in memory."""
    rows = [_school_row(row) for row in dashboard.rows]
    rows += _totals_rows(dashboard)
    rows.append(_national_row(dashboard))
    columns = [Column(name, itemgetter(index)) for index, name in enumerate(header(dashboard))]
    return Table("analytics", columns, rows)
