"""The school's Attendance page by week and by year group: drawn from the weekly snapshots
the roll-up refresh keeps from the marks, each chart with its table, a week a year earlier
beside this one, and the same queries for 5 pupils and 50 over 12 weeks."""

import datetime
import re
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mis.rollups import rollups_refresh_school
from mis.selectors import attendance_weeks
from tests.factories import pupil_data_staff
from tests.institutions.factories import SchoolFactory
from tests.mis.factories import PupilFactory, mark_days, school_days

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 25)  # a Wednesday of the autumn term
WEEK_1 = school_days(datetime.date(2026, 11, 9), datetime.date(2026, 11, 13))
WEEK_2 = school_days(datetime.date(2026, 11, 16), datetime.date(2026, 11, 20))
A_YEAR_EARLIER = school_days(datetime.date(2025, 11, 17), datetime.date(2025, 11, 21))


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr("mis.views.timezone", SimpleNamespace(localdate=lambda: TODAY))


def table_rows(html: str, chart_id: str) -> list[list[str]]:
    table = re.search(rf'data-testid="{chart_id}-table".*?</table>', html, re.S).group(0)
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)
    ]


@pytest.fixture
def school():
    school = SchoolFactory(name="Fenwick Primary")
    # Year 3: week 1 all present (10); week 2 one illness, one unauthorised (8 of 10).
    # Year 5: week 2 half present (5 of 10); the same week a year earlier all absent.
    three = PupilFactory(site=school, year_group=3)
    five = PupilFactory(site=school, year_group=5)
    mark_days(three, WEEK_1, ["/", "\\"] * 5)
    mark_days(three, WEEK_2, ["I", "O"] + ["/", "\\"] * 4)
    mark_days(five, WEEK_2, ["/", "M"] * 5)
    mark_days(five, A_YEAR_EARLIER, ["O"] * 10)
    rollups_refresh_school(school_id=school.pk, today=TODAY)
    return school


def test_weeks_and_year_groups_from_the_marks(school):
    weeks = attendance_weeks(site=school, day=TODAY)
    by_week = {w.week_start: w for w in weeks.weeks}
    first = by_week[datetime.date(2026, 11, 9)]
    second = by_week[datetime.date(2026, 11, 16)]
    assert (first.this_year.possible, first.this_year.present) == (10, 10)
    assert (second.this_year.possible, second.this_year.present) == (20, 13)
    assert (second.last_year.possible, second.last_year.present) == (10, 0)
    assert weeks.weeks[0].week_start == datetime.date(2026, 11, 9)  # no earlier week shown
    assert [(g.label, g.attendance.possible, g.attendance.present) for g in weeks.year_groups] == [
        ("Year 3", 20, 18),
        ("Year 5", 10, 5),
    ]


def test_the_attendance_page_draws_both_charts_with_their_tables(school, site_client):
    client = site_client(school, pupil_data_staff(school))
    html = client.get("/attendance/").content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="mm-chart__svg"' in html
    assert table_rows(html, "weekly-attendance")[1:] == [
        ["9 Nov", "100.0%", "—"],
        ["16 Nov", "65.0%", "0.0%"],
    ]  # no marks yet in the week of 23 Nov: the chart ends with the last week counted
    assert table_rows(html, "year-group-attendance")[1:] == [
        ["Year 3", "90.0%", "20", "18", "1", "1"],
        ["Year 5", "50.0%", "10", "5", "5", "0"],
    ]


def test_a_school_without_weeks_yet_says_so(site_client):
    school = SchoolFactory()
    client = site_client(school, pupil_data_staff(school))
    html = client.get("/attendance/").content.decode()
    assert "No weeks counted yet" in html and "mm-chart__svg" not in html


def test_the_page_runs_the_same_queries_for_5_and_50_pupils_over_12_weeks(site_client):
    school = SchoolFactory()
    client = site_client(school, pupil_data_staff(school))
    days = school_days(datetime.date(2026, 9, 7), TODAY)

    def pupils(n):
        for i in range(n):
            mark_days(PupilFactory(site=school, year_group=1 + i % 6), days, ["/"] * 2 * len(days))
        rollups_refresh_school(school_id=school.pk, today=TODAY)

    pupils(5)
    client.get("/attendance/")
    with CaptureQueriesContext(connection) as few:
        client.get("/attendance/")
    pupils(45)
    with CaptureQueriesContext(connection) as many:
        html = client.get("/attendance/").content.decode()
    assert len(table_rows(html, "weekly-attendance")) == 1 + 12
    assert len(many) == len(few)
