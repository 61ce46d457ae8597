"""The charts of Analytics, described for ``matmis.charts`` from what
``analytics.selectors`` returns (already gated): the group's attendance by week beside the
same weeks a year earlier and England's published rate, a school's in the drill-down, and
published absence by year, the group's beside England's."""

from decimal import Decimal

from matmis.charts import Chart, Reference, Series, line_chart, one_place
from mis.charts import weekly_attendance_chart
from mis.selectors import AttendanceWeeks

from .selectors import Published, PublishedYear


def england_attendance(national: Published | None) -> Reference | None:
    """England's published attendance (100 - overall absence) for the year the page shows:
    a whole year's rate, drawn across the weeks as a level to compare with."""
    if national is None or national.overall_absence_rate is None:
        return None
    return Reference(
        f"England {national.time_period_label} (published)",
        Decimal(100) - Decimal(national.overall_absence_rate),
    )


def weekly_chart(
    weeks: AttendanceWeeks, *, national: Published | None, chart_id: str, whose: str
) -> Chart:
    england = england_attendance(national)
    return weekly_attendance_chart(
        weeks, chart_id=chart_id, whose=whose, references=[england] if england else []
    )


def published_years_chart(years: list[PublishedYear], *, group_name: str) -> Chart:
    """Overall absence by academic year: the group's schools (sums of their published
    counts) beside England's published rate."""
    labels = [year.label for year in years]
    group = Series(
        f"{group_name} (published)", tuple(year.group_absence.value for year in years), "current"
    )
    england = Series(
        "England (published)", tuple(year.england_absence for year in years), "england"
    )
    sentences = [
        f"Overall absence published by the DfE for each academic year imported, the schools of "
        f"{group_name} shown now (their sessions summed) beside England."
    ]
    if years:
        last = years[-1]
        sentences.append(
            f"{last.label}: {group_name} {_percent(last.group_absence.value)} over "
            f"{last.group_absence.schools} school{'s' if last.group_absence.schools != 1 else ''}"
            f", England {_percent(last.england_absence)}."
        )
    return line_chart(
        chart_id="published-absence",
        title="Overall absence by year (published)",
        description=" ".join(sentences),
        x_labels=labels,
        x_header="Academic year",
        series=[group, england],
        point_label="{x}, {name}: {value}%",
        caption=f"Overall absence by year, published: {group_name} and England",
    )


def _percent(value: Decimal | None) -> str:
    return f"{one_place(value)}%" if value is not None else "no figure"
