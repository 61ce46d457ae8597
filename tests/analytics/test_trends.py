"""The trends of Analytics: the group's attendance by week (sums of the weekly snapshots of
the schools its table shows with live figures, beside the same weeks a year earlier and
England's published rate), published absence over every imported year, a school's weeks in
the drill-down; gated by the agreement level exactly as the table is, and the same queries
for 3 schools and 12.

The world, on Wednesday 25 November 2026, a trust and four schools with the same weeks:

======  =====  ===========================================  ===================================
school  level  week of 16 Nov 2026 (possible / present)     published absence, 2023/24 2024/25
======  =====  ===========================================  ===================================
Ash     2      100 / 90; a year earlier (17 Nov 2025) 100/80  1000 of 10000, 800 of 10000
Birch   3      300 / 240                                     3000 of 10000, 2000 of 10000
Cedar   1      (secret) 100 / 13                             500 of 10000, 400 of 10000
Damson  0      (secret) 100 / 7                              (secret) 7777 of 10000 both years
======  =====  ===========================================  ===================================

Group week of 16 Nov: (90 + 240) / (100 + 300) = 82.5%; a year earlier 80 / 100 = 80.0%.
Published: 2023/24 (1000 + 3000 + 500) / 30000 = 15.0%; 2024/25 3200 / 30000 = 10.7%.
England: 7.0% absence in 2023/24, 6.5% in 2024/25: attendance 93.5% (the latest year).
"""

import datetime
import re
from decimal import Decimal
from types import SimpleNamespace
from xml.etree import ElementTree

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.models import PublishedFigures
from analytics.selectors import (
    DashboardFilters,
    group_dashboard,
    group_weeks,
    published_years,
)
from mis.models import RollupState, WeeklyAttendance
from sharing.models import Agreement
from tests.factories import TrustFactory, pupil_data_staff
from tests.institutions.factories import add_school
from tests.mis.factories import in_site

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 25)
WEEK = datetime.date(2026, 11, 16)
YEAR_EARLIER = datetime.date(2025, 11, 17)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr(
        "analytics.views.timezone",
        SimpleNamespace(localdate=lambda: TODAY, now=timezone.now),
    )


def weeks(school, *rows) -> None:
    """Snapshot rows of ``school``: (week_start, year_group, possible, present), all the
    absence unauthorised; written as the refresh writes them, bound to the school."""
    with in_site(school):
        WeeklyAttendance.objects.bulk_create(
            WeeklyAttendance(
                site=school,
                week_start=week,
                year_group=year_group,
                possible_sessions=possible,
                present_sessions=present,
                authorised_sessions=0,
                unauthorised_sessions=possible - present,
            )
            for week, year_group, possible, present in rows
        )
    RollupState.objects.update_or_create(
        school=school,
        defaults={
            "changed_at": timezone.now(),
            "refreshed_at": timezone.now(),
            "refreshed_for": TODAY,
        },
    )


def published(school, period, absent, possible=10_000):
    PublishedFigures.objects.create(
        school=school,
        time_period=period,
        sessions_possible=possible,
        sessions_overall_absence=absent,
    )


@pytest.fixture
def trust():
    return TrustFactory(name="Oak Ridge Trust")


@pytest.fixture
def world(trust):
    schools = {}
    for name, level, phase in (
        ("Ash", 2, "Primary"),
        ("Birch", 3, "Secondary"),
        ("Cedar", 1, "Primary"),
        ("Damson", 0, "Primary"),
    ):
        school = add_school(trust, name=f"{name} School", phase=phase)
        if level:
            Agreement.objects.create(
                group=trust, school=school, level=level, approved_at=timezone.now()
            )
        schools[name] = school
    weeks(schools["Ash"], (WEEK, 3, 60, 55), (WEEK, 4, 40, 35), (YEAR_EARLIER, 3, 100, 80))
    weeks(schools["Birch"], (WEEK, 7, 300, 240))
    weeks(schools["Cedar"], (WEEK, 3, 100, 13), (YEAR_EARLIER, 3, 100, 13))
    weeks(schools["Damson"], (WEEK, 3, 100, 7))
    for name, earlier, latest in (
        ("Ash", 1000, 800),
        ("Birch", 3000, 2000),
        ("Cedar", 500, 400),
        ("Damson", 7777, 7777),
    ):
        published(schools[name], "202324", earlier)
        published(schools[name], "202425", latest)
    PublishedFigures.objects.create(school=None, time_period="202324", overall_absence_rate="7.0")
    PublishedFigures.objects.create(school=None, time_period="202425", overall_absence_rate="6.5")
    return schools


def line(weeks_, monday):
    return next(week for week in weeks_.weeks if week.week_start == monday)


def test_the_group_weeks_sum_only_the_schools_the_level_allows(trust, world):
    result = group_weeks(dashboard=group_dashboard(group=trust), day=TODAY)
    week = line(result, WEEK)
    assert (week.this_year.possible, week.this_year.present) == (400, 330)  # Ash + Birch
    assert week.this_year.percent == Decimal("82.5")
    assert (week.last_year.possible, week.last_year.present) == (100, 80)  # Ash only
    assert result.academic_year == "2026/27"


def test_the_group_weeks_follow_the_tables_filters(trust, world):
    primary = group_dashboard(group=trust, filters=DashboardFilters(phases=("Primary",)))
    week = line(group_weeks(dashboard=primary, day=TODAY), WEEK)
    assert (week.this_year.possible, week.this_year.present) == (100, 90)  # Ash alone


def test_no_school_shares_no_weeks_and_no_query(django_assert_num_queries):
    group = TrustFactory()
    school = add_school(group, name="Only Published")
    Agreement.objects.create(group=group, school=school, level=1, approved_at=timezone.now())
    weeks(school, (WEEK, 3, 100, 13))
    dashboard = group_dashboard(group=group)
    with django_assert_num_queries(0):
        assert group_weeks(dashboard=dashboard, day=TODAY).weeks == []


def test_published_years_sum_the_schools_at_level_one_and_up_beside_england(trust, world):
    years = published_years(dashboard=group_dashboard(group=trust))
    assert [year.time_period for year in years] == ["202324", "202425"]
    assert years[0].group_absence.value == Decimal(15)  # 4500 / 30000
    assert years[0].group_absence.schools == 3
    assert round(years[1].group_absence.value, 2) == Decimal("10.67")  # 3200 / 30000
    assert [year.england_absence for year in years] == [Decimal("7.0"), Decimal("6.5")]


def chart_svg(html: str, chart_id: str) -> ElementTree.Element:
    figure = re.search(rf'<figure [^>]*id="{chart_id}".*?</figure>', html, re.S).group(0)
    svg = re.search(r"<svg .*?</svg>", figure, re.S).group(0)
    return ElementTree.fromstring(svg)  # noqa: S314 - the page under test, not outside input


def table_rows(html: str, chart_id: str) -> list[list[str]]:
    table = re.search(rf'data-testid="{chart_id}-table".*?</table>', html, re.S).group(0)
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)
    ]


def test_the_page_draws_the_weeks_and_years_with_their_tables(site_client, trust, world):
    html = site_client(trust, pupil_data_staff(trust)).get("/analytics/").content.decode()
    svg = chart_svg(html, "group-weekly-attendance")
    assert svg.get("role") == "img"
    assert svg.find(f"{SVG}title").text == "Attendance by week, 2026/27"
    description = svg.find(f"{SVG}desc").text
    assert "Week of 16 Nov: 82.5%" in description
    assert "The same week a year earlier: 80.0%" in description
    assert "England 2024/25 (published): 93.5%" in description
    rows = table_rows(html, "group-weekly-attendance")
    assert rows[0] == [
        "Week of",
        "2026/27",
        "Same weeks a year earlier",
        "England 2024/25 (published)",
    ]
    assert ["16 Nov", "82.5%", "80.0%", "93.5%"] in rows
    years = table_rows(html, "published-absence")
    assert years[1:] == [["2023/24", "15.0%", "7.0%"], ["2024/25", "10.7%", "6.5%"]]


def test_secret_figures_never_reach_the_page(site_client, trust, world):
    client = site_client(trust, pupil_data_staff(trust))
    html = client.get("/analytics/").content.decode()
    trends = html[html.index('id="analytics-trends"') : html.index('id="analytics-results"')]
    # Cedar's week (13%) and Damson's (7%) would change the sums; Damson's published 77.8%.
    assert "13.0%" not in trends and "7.0%</td><td" not in trends and "77.8%" not in trends
    for urn, shown in ((world["Cedar"].urn, False), (world["Ash"].urn, True)):
        page = client.get(f"/analytics/schools/{urn}/").content.decode()
        assert ('id="school-weekly-attendance"' in page) is shown
    cedar = client.get(f"/analytics/schools/{world['Cedar'].urn}/").content.decode()
    assert "13.0%" not in cedar


def test_the_drill_down_draws_the_schools_weeks(site_client, trust, world):
    client = site_client(trust, pupil_data_staff(trust))
    html = client.get(f"/analytics/schools/{world['Birch'].urn}/").content.decode()
    assert ["16 Nov", "80.0%", "93.5%"] in table_rows(html, "school-weekly-attendance")
    assert chart_svg(html, "school-weekly-attendance").find(f"{SVG}title") is not None


def test_htmx_swaps_the_trends_with_the_results(site_client, trust, world):
    client = site_client(trust, pupil_data_staff(trust))
    response = client.get("/analytics/", {"phase": "Primary"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert 'id="analytics-trends" aria-labelledby="trends-heading" hx-swap-oob="true"' in html
    assert ["16 Nov", "90.0%", "80.0%", "93.5%"] in table_rows(html, "group-weekly-attendance")


# --- Queries ----------------------------------------------------------------------------------


def build_group(size: int):
    group = TrustFactory()
    for n in range(size):
        school = add_school(group, name=f"Scale {n:02d}", phase="Primary")
        Agreement.objects.create(
            group=group, school=school, level=1 + n % 3, approved_at=timezone.now()
        )
        weeks(
            school,
            *(
                (WEEK - datetime.timedelta(weeks=k), y, 50, 45)
                for k in range(12)
                for y in (1, 2, 3)
            ),
        )
        for period in ("202223", "202324", "202425"):
            published(school, period, 600 + n)
    return group


def queries(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_chart_pages_cost_the_same_queries_for_3_and_12_schools(site_client):
    counts = {}
    for size in (3, 12):
        group = build_group(size)
        client = site_client(group, pupil_data_staff(group))
        school = Agreement.objects.filter(group=group, level=1).first().school
        shared = Agreement.objects.filter(group=group, level=2).first().school
        counts[size] = (
            queries(client, "/analytics/"),
            queries(client, "/analytics/?phase=Primary"),
            queries(client, f"/analytics/schools/{shared.urn}/"),
            queries(client, f"/analytics/schools/{school.urn}/"),
        )
    assert counts[3] == counts[12], counts
