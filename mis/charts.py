"""The attendance charts of a school's figures by week (``mis.selectors.AttendanceWeeks``),
described for ``matmis.charts``: the school's Attendance page draws them, and so does a
group's Analytics for its schools' sums."""

from decimal import Decimal

from matmis.charts import Chart, Reference, Series, bar_chart, line_chart, one_place

from .selectors import AttendanceWeeks


def _sentence_percent(value: Decimal | None) -> str:
    return f"{one_place(value)}%" if value is not None else "no figure"


def weekly_attendance_chart(
    weeks: AttendanceWeeks,
    *,
    chart_id: str,
    whose: str,
    references: list[Reference] = (),
) -> Chart:
    """Attendance by week of ``weeks``' academic year beside the same weeks a year
    earlier, with ``references`` (England's published rate) across; ``whose`` names the
    pupils counted ("Oak Ridge Primary School", "the 12 schools shown")."""
    lines = weeks.weeks
    this_year = Series(
        f"{weeks.academic_year}", tuple(w.this_year.percent if w.this_year else None for w in lines)
    )
    series = [this_year]
    if weeks.has_last_year:
        series.append(
            Series(
                "Same weeks a year earlier",
                tuple(w.last_year.percent if w.last_year else None for w in lines),
                style="previous",
            )
        )
    latest = next((w for w in reversed(lines) if w.this_year is not None), None)
    sentences = [f"Attendance of {whose} by week of {weeks.academic_year}, from their registers."]
    if latest is not None:
        sentences.append(
            f"Week of {latest.label}: {_sentence_percent(latest.this_year.percent)}; "
            f"the year so far: {_sentence_percent(weeks.this_year.percent)}."
        )
        if latest.last_year is not None:
            sentences.append(
                f"The same week a year earlier: {_sentence_percent(latest.last_year.percent)}."
            )
    sentences += [f"{r.name}: {_sentence_percent(r.value)}." for r in references]
    return line_chart(
        chart_id=chart_id,
        title=f"Attendance by week, {weeks.academic_year}",
        description=" ".join(sentences),
        x_labels=[f"{w.week_start.day} {w.week_start:%b}" for w in lines],
        x_header="Week of",
        series=series,
        references=list(references),
        point_label="Week of {x}: {value}%",
        caption=f"Attendance of {whose} by week, {weeks.academic_year}",
    )


def year_group_attendance_chart(weeks: AttendanceWeeks, *, chart_id: str, whose: str) -> Chart:
    """Attendance by year group over ``weeks``' academic year to date, with the sessions
    behind each figure in the table."""
    groups = weeks.year_groups
    return bar_chart(
        chart_id=chart_id,
        title=f"Attendance by year group, {weeks.academic_year} so far",
        description=f"Attendance of {whose} by year group over {weeks.academic_year} so far: "
        + "; ".join(f"{g.label} {_sentence_percent(g.attendance.percent)}" for g in groups)
        + ".",
        labels=[g.label for g in groups],
        values=[g.attendance.percent for g in groups],
        label_header="Year group",
        value_header="Attendance",
        extra_columns=(
            ("Possible sessions", [f"{g.attendance.possible:,}" for g in groups]),
            ("Present", [f"{g.attendance.present:,}" for g in groups]),
            ("Authorised absence", [f"{g.attendance.authorised:,}" for g in groups]),
            ("Unauthorised absence", [f"{g.attendance.unauthorised:,}" for g in groups]),
        ),
        caption=f"Attendance of {whose} by year group, {weeks.academic_year} so far",
    )
