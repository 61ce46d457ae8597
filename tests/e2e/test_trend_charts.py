"""The trend charts in a real browser, at a desktop width and at a 375 px phone: Analytics
with the group's attendance by week and published absence by year, a school's drill-down
and the school's own Attendance page. Each page is checked with axe (no serious or
critical violation), must raise no Content-Security-Policy report, and is kept as a
screenshot in test-artifacts/e2e/."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.e2e.test_sharing_journey import TIMEOUT_MS, check_page, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 800}}
CODES = ["/", "\\", "/", "\\", "I", "/", "\\", "O", "/", "\\", "M", "\\", "/", "\\", "/", "\\"]


def _weeks_of_records(journey):
    """Two schools sharing their MIS data with marks from the start of the academic year to
    today and in the same weeks a year earlier; a third at level 1; published absence for
    three years and England's."""
    from analytics.models import PublishedFigures
    from mis.calendar import academic_year_start
    from mis.rollups import rollups_refresh_school
    from sharing.models import Agreement
    from tests.mis.factories import PupilFactory, mark_days, school_days

    today = timezone.localdate()
    trust, schools = journey["trust"], journey["schools"]
    for school, level in zip(schools, (2, 3, 1), strict=True):
        Agreement.objects.create(
            group=trust, school=school, level=level, approved_at=timezone.now()
        )
    start = academic_year_start(today)
    year_earlier = datetime.timedelta(weeks=52)
    for s, school in enumerate(schools[:2]):
        for n in range(6):
            pupil = PupilFactory(
                site=school, year_group=1 + n % 3, enrolled_on=datetime.date(2020, 9, 1)
            )
            for first, last in ((start, today), (start - year_earlier, today - year_earlier)):
                days = school_days(first, last)
                codes = [
                    CODES[(index * (n + 1) + s + day.toordinal() // 7) % len(CODES)]
                    for index, day in enumerate(d for d in days for _ in (0, 1))
                ]
                mark_days(pupil, days, codes)
        rollups_refresh_school(school_id=school.pk, today=today)
    years = ("202122", "202223", "202324", "202425")
    for n, period in enumerate(years):
        england = Decimal("7.6") - n * Decimal("0.3")
        PublishedFigures.objects.create(
            school=None, time_period=period, overall_absence_rate=england
        )
        for k, school in enumerate(schools):
            PublishedFigures.objects.create(
                school=school,
                time_period=period,
                sessions_possible=60_000,
                sessions_overall_absence=4_200 - 300 * n + 150 * k,
            )
    return today


def _no_csp_reports(page) -> list[str]:
    reports: list[str] = []
    page.on(
        "console",
        lambda message: (
            reports.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return reports


@pytest.mark.parametrize("width", list(WIDTHS))
def test_analytics_drill_down_and_attendance_charts(journey, browser, width):
    from playwright.sync_api import expect

    _weeks_of_records(journey)
    st_marys = journey["schools"][0]
    context = browser.new_context(viewport=WIDTHS[width])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    reports = _no_csp_reports(page)
    trust_url = journey["host"](journey["trust"])

    page.goto(f"{trust_url}/analytics/")
    sign_in(page, "priya@oak-ridge.test")
    weekly = page.get_by_role("img", name="Attendance by week")
    expect(weekly).to_be_visible()
    expect(page.get_by_role("img", name="Overall absence by year (published)")).to_be_visible()
    assert page.locator("#group-weekly-attendance polyline").count() >= 2  # this year, last
    expect(page.get_by_text("England 2024/25 (published)").first).to_be_visible()
    check_page(page, f"30-analytics-trends-{width}")
    # The figures behind the chart, from the keyboard: focus the summary, open it.
    summary = page.locator("#group-weekly-attendance-data summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("group-weekly-attendance-table")).to_be_visible()
    page.get_by_test_id("group-weekly-attendance-table").scroll_into_view_if_needed()
    page.screenshot(path=str(_artifact(f"31-analytics-trends-table-{width}")))

    page.goto(f"{trust_url}/analytics/schools/{st_marys.urn}/")
    expect(page.get_by_role("img", name="Attendance by week")).to_be_visible()
    check_page(page, f"32-analytics-school-trend-{width}")

    school_page = browser.new_context(viewport=WIDTHS[width]).new_page()
    school_page.set_default_timeout(TIMEOUT_MS)
    school_reports = _no_csp_reports(school_page)
    school_page.goto(f"{journey['host'](st_marys)}/attendance/")
    sign_in(school_page, journey["heads"][0].email)
    expect(school_page.get_by_role("img", name="Attendance by week")).to_be_visible()
    expect(school_page.get_by_role("img", name="Attendance by year group")).to_be_visible()
    check_page(school_page, f"33-school-attendance-trends-{width}")
    assert reports == [] and school_reports == []
    context.close()


def test_the_charts_need_no_javascript(journey, browser):
    from playwright.sync_api import expect

    _weeks_of_records(journey)
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{journey['host'](journey['trust'])}/analytics/")
    sign_in(page, "priya@oak-ridge.test")
    expect(page.get_by_role("img", name="Attendance by week")).to_be_visible()
    page.locator("#group-weekly-attendance-data summary").click()
    expect(page.get_by_test_id("group-weekly-attendance-table")).to_be_visible()
    page.emulate_media(media="print")
    page.screenshot(path=str(_artifact("34-analytics-trends-print")), full_page=True)
    context.close()


def _artifact(name: str):
    from tests.e2e.test_sharing_journey import ARTIFACTS

    return ARTIFACTS / f"{name}.png"
