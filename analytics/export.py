"""The dashboard as CSV: the same columns and the same gating as the page ("Not shared"
where the level does not allow a figure), then the group's totals, the number of schools
each total counts, and England.

School names come from an external register and end up in spreadsheets: the file is written
by ``matmis.csv_export.spreadsheet_csv``, which writes any cell a spreadsheet could read as a
formula with a leading apostrophe. No figure written here is negative, so the rule applies
to every cell without exception.
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from matmis.csv_export import spreadsheet_csv

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


def _when(moment: datetime.datetime | None) -> str:
    """Local time to the minute: ``2026-11-25 06:30``."""
    return "" if moment is None else timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _day(day: datetime.date | None) -> str:
    return "" if day is None else day.isoformat()


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


def _published_cells(published: Published | None, *, shared: bool) -> list[str]:
    if not shared:
        return [NOT_SHARED] * 3
    if published is None:
        return [""] * 3
    return [
        one_place(published.overall_absence_rate),
        one_place(published.persistent_absence_rate),
        one_place(published.suspension_rate),
    ]


def _live_cells(live: LiveFigures) -> list[str]:
    return [
        one_place(live.attendance_rate),
        one_place(live.overall_absence_rate),
        str(live.persistent_absentees),
        one_place(live.persistent_absence_rate),
        one_place(live.suspension_rate),
    ]


def _school_row(row: SchoolFigures) -> list[str]:
    cells = [
        row.name,
        row.urn,
        row.phase,
        "" if row.pupils is None else str(row.pupils),
        one_place(row.percentage_fsm),
        *_published_cells(row.published, shared=row.published_shared),
    ]
    if not row.mis_shared:
        cells += [NOT_SHARED] * 7
    elif row.live is None:
        cells += [NO_MIS_DATA] * 5 + ["", ""]
    else:
        cells += _live_cells(row.live)
        cells += [_when(row.refreshed_at), _day(row.refreshed_for)]
    return cells


def _total(total: Total) -> str:
    return one_place(total.value)


def _totals_rows(dashboard: Dashboard) -> list[list[str]]:
    totals = dashboard.totals
    live_cells = _live_cells(totals.live) if totals.live_schools else [""] * 5
    refreshed = [_when(dashboard.refreshed_at), _day(dashboard.refreshed_for)]
    total_row = [
        f"Group total ({totals.schools} school{'' if totals.schools == 1 else 's'})",
        "",
        "",
        str(totals.pupils),
        _total(totals.fsm),
        _total(totals.published_overall_absence),
        _total(totals.published_persistent_absence),
        _total(totals.published_suspensions),
        *live_cells,
        *refreshed,
    ]
    counted_row = [
        "Schools counted in the total",
        "",
        "",
        str(totals.pupils_schools),
        str(totals.fsm.schools),
        str(totals.published_overall_absence.schools),
        str(totals.published_persistent_absence.schools),
        str(totals.published_suspensions.schools),
        *[str(totals.live_schools)] * 5,
        "",
        "",
    ]
    return [total_row, counted_row]


def _national_row(dashboard: Dashboard) -> list[str]:
    national = dashboard.national
    label = "England"
    if national is not None:
        label += f" ({time_period_label(national.time_period)})"
    return [label, "", "", "", "", *_published_cells(national, shared=True), *[""] * 7]


def dashboard_csv(dashboard: Dashboard) -> str:
    """The whole file (``matmis.csv_export``: a byte-order mark, every cell guarded)."""
    rows = [header(dashboard)]
    rows += [_school_row(row) for row in dashboard.rows]
    rows += _totals_rows(dashboard)
    rows.append(_national_row(dashboard))
    return spreadsheet_csv(rows)
