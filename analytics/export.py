"""The dashboard as a file (CSV or XLSX, ``matmis.exports``): the same columns and the same
gating as the page ("Not shared" where the level does not allow a figure), then the group's
totals, the number of schools each total counts, and England.

School names come from an external register and end up in spreadsheets: ``matmis.exports``
writes any text cell a spreadsheet could read as a formula with a leading apostrophe, in
both formats. Figures are numbers to one decimal place (typed cells in XLSX); no figure
written here is negative.
"""

import datetime
from dataclasses import dataclass
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


# --- Census and performance (level 1) ----------------------------------------------------


@dataclass(frozen=True)
class ReleaseColumn:
    field: str
    label: str  # as the DfE names the measure, shortened
    kind: str  # "count", "percent", "score" (1 place) or "progress" (2 places, signed)


RELEASE_COLUMNS: dict[str, tuple[ReleaseColumn, ...]] = {
    "census": (
        ReleaseColumn("pupils_headcount", "Pupils (headcount)", "count"),
        ReleaseColumn("fsm_eligible", "Eligible for free school meals", "count"),
        ReleaseColumn("fsm_eligible_percent", "% eligible for free school meals", "percent"),
        ReleaseColumn("sen_support", "SEN support", "count"),
        ReleaseColumn("sen_support_percent", "% SEN support", "percent"),
        ReleaseColumn("ehc_plan", "EHC plans", "count"),
        ReleaseColumn("ehc_plan_percent", "% with an EHC plan", "percent"),
        ReleaseColumn("eal_pupils", "English as an additional language", "count"),
        ReleaseColumn("eal_percent", "% English as an additional language", "percent"),
    ),
    "ks2": (
        ReleaseColumn("ks2_eligible_pupils", "Eligible pupils", "count"),
        ReleaseColumn(
            "ks2_rwm_expected_percent", "% expected standard (reading, writing, maths)", "percent"
        ),
        ReleaseColumn(
            "ks2_rwm_higher_percent", "% higher standard (reading, writing, maths)", "percent"
        ),
        ReleaseColumn("ks2_read_scaled_score", "Reading average scaled score", "score"),
        ReleaseColumn("ks2_mat_scaled_score", "Maths average scaled score", "score"),
        ReleaseColumn("ks2_read_progress", "Reading progress", "progress"),
        ReleaseColumn("ks2_writ_progress", "Writing progress", "progress"),
        ReleaseColumn("ks2_mat_progress", "Maths progress", "progress"),
    ),
    "ks4": (
        ReleaseColumn("ks4_pupils", "Pupils at the end of key stage 4", "count"),
        ReleaseColumn("attainment8", "Attainment 8", "score"),
        ReleaseColumn("progress8", "Progress 8", "progress"),
        ReleaseColumn("progress8_lower", "Progress 8 lower confidence limit", "progress"),
        ReleaseColumn("progress8_upper", "Progress 8 upper confidence limit", "progress"),
        ReleaseColumn("engmath_95_percent", "% grade 5 or above in English and maths", "percent"),
        ReleaseColumn("ebacc_entering_percent", "% entering the EBacc", "percent"),
        ReleaseColumn("ebacc_aps", "EBacc average point score", "score"),
    ),
}
HUNDREDTH = Decimal("0.01")
WITHHELD = "Withheld"


def release_number(column: ReleaseColumn, value) -> Cell:
    """A figure as a number: counts whole, progress scores to 2 places, the rest to 1."""
    if value is None or column.kind == "count":
        return value
    if column.kind == "progress":
        return Decimal(value).quantize(HUNDREDTH, ROUND_HALF_UP)
    return figure(Decimal(value))


def release_table_file(table) -> Table:
    """A release's table as a file: the schools (sorted as on the page), the group's
    figures, the schools each counts, and England's. Withheld figures say so."""
    columns = RELEASE_COLUMNS[table.spec.key]
    year = table.time_period_label

    def school(row) -> list[Cell]:
        figures = getattr(row, table.spec.key)
        return [
            row.name,
            row.urn,
            row.phase,
            figures.time_period_label,
            *(
                WITHHELD
                if column.field in figures.withheld
                else release_number(column, figures.values[column.field])
                for column in columns
            ),
        ]

    rows = [school(row) for row in table.rows]
    count = len(table.rows)
    rows.append(
        [
            f"Group ({count} school{'' if count == 1 else 's'})",
            None,
            None,
            year,
            *(release_number(c, table.totals[c.field].value) for c in columns),
        ]
    )
    rows.append(
        [
            "Schools counted in the group figure",
            None,
            None,
            None,
            *(table.totals[c.field].schools for c in columns),
        ]
    )
    national = table.national
    rows.append(
        [
            "England",
            None,
            None,
            national.time_period_label if national else None,
            *(release_number(c, national.values[c.field]) if national else None for c in columns),
        ]
    )
    headers = ["School", "URN", "Phase", "Year", *(column.label for column in columns)]
    return Table(
        f"analytics-{table.spec.key}",
        [Column(name, itemgetter(index)) for index, name in enumerate(headers)],
        rows,
    )


def format_release_value(column: ReleaseColumn, value) -> str:
    """A figure as a page shows it: counts with thousands separators, percentages to one
    place with %, progress scores signed to two places, other scores to one place."""
    if value is None:
        return "—"
    if column.kind == "count":
        return f"{value:,}"
    number = release_number(column, value)
    if column.kind == "percent":
        return f"{number}%"
    if column.kind == "progress":
        return f"+{number}" if number > 0 else str(number).replace("-", "−")
    return str(number)


def release_lines(figures, national=None) -> list[tuple[str, str, str]]:
    """(label, text, England's text or "") for each figure of a school's release,
    "Withheld" where withheld; England's when ``national`` (of the same release) has it."""
    lines = []
    for column in RELEASE_COLUMNS[figures.key]:
        text = (
            WITHHELD
            if column.field in figures.withheld
            else format_release_value(column, figures.values[column.field])
        )
        england = ""
        if national and national.values[column.field] is not None:
            england = format_release_value(column, national.values[column.field])
        lines.append((column.label, text, england))
    return lines
