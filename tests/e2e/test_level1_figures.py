"""Level 1 ("DfE Data") in a real browser: a trust administrator opens Analytics > Census and
performance, switches to key stage 4, sorts by Attainment 8 from the keyboard, and opens a
school's institution page with its census figures. Each page is checked with axe and kept as
a screenshot in test-artifacts/e2e/."""

from decimal import Decimal

import pytest
from django.utils import timezone

from tests.e2e.test_sharing_journey import TIMEOUT_MS, check_page, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _figures(journey):
    """The journey's three schools at levels 1, 3 and 0, with census and key stage 4
    figures imported from EES text."""
    import io

    from analytics.published_import import published_figures_import
    from sharing.models import Agreement

    trust, schools = journey["trust"], journey["schools"]
    for school, level in zip(schools, (1, 3, 0), strict=True):
        if level:
            Agreement.objects.create(
                group=trust, school=school, level=level, approved_at=timezone.now()
            )
    census = [
        "time_period,time_identifier,geographic_level,urn,headcount of pupils,"
        "number of pupils known to be eligible for free school meals,"
        "% of pupils known to be eligible for free school meals"
    ]
    ks4 = [
        "time_period,time_identifier,geographic_level,school_urn,breakdown_topic,pupil_count,"
        "attainment8_average,progress8_average,progress8_lower_95_ci,progress8_upper_95_ci"
    ]
    for n, school in enumerate(schools):
        pupils, fsm = 300 + 100 * n, 60 + n
        percent = f"{Decimal(fsm) * 100 / pupils:.1f}"
        census.append(f"202425,Academic year,School,{school.urn},{pupils},{fsm},{percent}")
        scores = f"{41 + 7 * n}.2,0.{n}5,-0.{n}1,0.{n}9"
        ks4.append(f"202324,Academic year,School,{school.urn},Total,{50 + n},{scores}")
    for lines in (census, ks4):
        published_figures_import(stream=io.BytesIO("\n".join(lines).encode()))
    return schools


def test_a_trust_administrator_reads_the_census_and_performance(journey, browser):
    from playwright.sync_api import expect

    schools = _figures(journey)
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    trust_url = journey["host"](journey["trust"])

    page.goto(f"{trust_url}/analytics/")
    sign_in(page, "priya@oak-ridge.test")
    page.get_by_role("link", name="Census and performance").click()
    expect(page.get_by_role("heading", name="Census and performance")).to_be_visible()
    table = page.locator("#published-table")
    expect(table.get_by_role("link", name=schools[0].name)).to_be_visible()
    expect(table.get_by_role("link", name=schools[2].name)).to_have_count(0)  # level 0
    check_page(page, "60-level1-census")

    page.get_by_role("link", name="Key stage 4").click()
    sort = page.get_by_role("link", name="Attainment 8 (sort ascending)")
    sort.focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator('th[aria-sort="ascending"]')).to_contain_text("Attainment 8")
    # The school at level 1 (41.2) before the one at level 3 (48.2).
    names = table.locator("tbody:not(.mm-table__totals) th[scope=row]").all_inner_texts()
    assert names == [schools[0].name, schools[1].name]
    check_page(page, "61-level1-key-stage-4-sorted")

    page.goto(f"{trust_url}/institutions/{schools[0].urn}/")
    expect(page.get_by_role("heading", name="School census 2024/25")).to_be_visible()
    expect(page.get_by_text("Published by the DfE").first).to_be_visible()
    check_page(page, "62-level1-institution-page")
    context.close()
