"""matmis.charts: the series become an SVG that parses as XML, is one image named by its
title and described by its desc, stays inside its drawing, breaks a line where a value is
missing, escapes every name; and its table holds exactly the series' figures."""

from decimal import Decimal
from xml.etree import ElementTree

from django.template.loader import render_to_string

from matmis.charts import HEIGHT, WIDTH, Reference, Series, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def svg_of(html: str) -> ElementTree.Element:
    start, end = html.index("<svg "), html.index("</svg>") + len("</svg>")
    return ElementTree.fromstring(html[start:end])  # noqa: S314 - our own output


def weekly():
    return line_chart(
        chart_id="weekly",
        title="Attendance by week, 2026/27",
        description="Attendance of St Mary’s & <Friends> by week.",
        x_labels=["2 Nov", "9 Nov", "16 Nov", "23 Nov"],
        x_header="Week of",
        series=[
            Series("2026/27", (Decimal("95.2"), None, Decimal("93.1"), Decimal("94.46"))),
            Series("A year earlier", (Decimal("91"), Decimal("92"), None, None), "previous"),
        ],
        references=[Reference("England 2024/25 (published)", Decimal("93.1"))],
        point_label="Week of {x}: {value}%",
    )


def test_the_svg_is_one_named_image_that_parses_as_xml():
    chart = weekly()
    svg = svg_of(render_to_string("charts/line.html", {"chart": chart}))
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "weekly-title weekly-desc"
    assert svg.find(f"{SVG}title").get("id") == "weekly-title"
    assert svg.find(f"{SVG}title").text == "Attendance by week, 2026/27"
    assert svg.find(f"{SVG}desc").text == "Attendance of St Mary’s & <Friends> by week."
    assert svg.get("viewBox") == f"0 0 {WIDTH} {HEIGHT}"
    assert svg.get("style") is None and not svg.findall(".//*[@style]")  # the strict CSP


def test_a_missing_value_breaks_the_line_and_every_point_is_in_the_drawing():
    chart = weekly()
    this_year, last_year = chart.series
    assert len(this_year.segments) == 2  # 2 Nov | 16 Nov - 23 Nov
    assert len(this_year.points) == 3 and len(last_year.points) == 2
    assert [point.label for point in this_year.points] == [
        "Week of 2 Nov: 95.2%",
        "Week of 16 Nov: 93.1%",
        "Week of 23 Nov: 94.5%",
    ]
    for point in (*this_year.points, *last_year.points):
        assert chart.plot_left <= point.x <= chart.plot_right
        assert chart.plot_top <= point.y <= chart.plot_bottom
    # The same value is drawn at the same height: 16 Nov and England's 93.1%.
    assert this_year.points[1].y == chart.references[0].y
    # Higher values are higher up.
    assert this_year.points[0].y < this_year.points[2].y


def test_the_y_axis_covers_every_value_on_round_steps():
    chart = weekly()
    labels = [tick.label for tick in chart.y_ticks]
    assert labels == ["90%", "92%", "94%", "96%"]


def test_the_table_holds_the_series_figures():
    chart = weekly()
    assert chart.table.headers == (
        "Week of",
        "2026/27",
        "A year earlier",
        "England 2024/25 (published)",
    )
    assert chart.table.rows == (
        ("2 Nov", "95.2%", "91.0%", "93.1%"),
        ("9 Nov", "—", "92.0%", "93.1%"),
        ("16 Nov", "93.1%", "—", "93.1%"),
        ("23 Nov", "94.5%", "—", "93.1%"),
    )
    html = render_to_string("charts/line.html", {"chart": chart})
    assert '<th scope="row">9 Nov</th><td class="mm-table__cell--numeric">—</td>' in html


def test_nothing_to_draw_says_so_and_keeps_the_table():
    chart = line_chart(
        chart_id="empty",
        title="Attendance by week",
        description="",
        x_labels=["2 Nov"],
        x_header="Week of",
        series=[Series("2026/27", (None,))],
    )
    assert chart.is_empty
    html = render_to_string("charts/line.html", {"chart": chart, "empty": "No weeks yet."})
    assert "<svg" not in html and "No weeks yet." in html and "2 Nov" in html


def test_bars_are_as_long_as_their_share_of_100():
    chart = bar_chart(
        chart_id="years",
        title="Attendance by year group",
        description="By year group.",
        labels=["Year 1", "Year 2", "Reception"],
        values=[Decimal("100"), Decimal("50"), None],
        label_header="Year group",
        value_header="Attendance",
        extra_columns=(("Possible sessions", ["10", "20", "0"]),),
    )
    full, half, none = chart.bars
    assert half.width * 2 == full.width == chart.plot_right - chart.plot_left
    assert none.width == 0 and none.value_label == "no sessions"
    assert chart.table.rows == (
        ("Year 1", "100.0%", "10"),
        ("Year 2", "50.0%", "20"),
        ("Reception", "—", "0"),
    )
    svg = svg_of(render_to_string("charts/bars.html", {"chart": chart}))
    assert [rect.get("width") for rect in svg.iter(f"{SVG}rect")] == [
        str(full.width),
        str(half.width),
        "0.0",
    ]
