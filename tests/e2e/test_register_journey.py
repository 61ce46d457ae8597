"""A teacher takes a register by keyboard alone, amends a mark with a reason, and the
register's history shows both marks; the school's Attendance page counts the new marks at
once, and the trust's Analytics after the roll-up refresh (issue 15). Each page is checked
with axe and kept as a screenshot in test-artifacts/e2e/."""

import datetime

import pytest
from django.utils import timezone

from tests.e2e.test_sharing_journey import TIMEOUT_MS, check_page, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _school_with_a_group(journey):
    from mis.rollups import rollups_refresh_school
    from sharing.models import Agreement
    from tests.mis.factories import PupilFactory, mark_days, registration_group, school_days
    from tests.notifications.factories import school_staff

    today = timezone.localdate()
    st_marys = journey["schools"][0]
    Agreement.objects.create(
        group=journey["trust"], school=st_marys, level=2, approved_at=timezone.now()
    )
    teacher = school_staff(
        st_marys, "Teacher", email="teacher@st-marys.test", full_name="Tara Teacher"
    )
    pupils = []
    days = school_days(today - datetime.timedelta(days=13), today - datetime.timedelta(days=1))
    for first, last in (
        ("Amara", "Okafor"),
        ("Ben", "Hughes"),
        ("Chloe", "Walsh"),
        ("Dev", "Patel"),
    ):
        pupil = PupilFactory(site=st_marys, legal_first_name=first, legal_last_name=last)
        mark_days(pupil, days, ["/", "\\"] * len(days))
        pupils.append(pupil)
    profile = teacher.staff_profiles.get(site=st_marys)
    group = registration_group(st_marys, "4B", teachers=[profile], pupils=pupils)
    rollups_refresh_school(school_id=st_marys.pk, today=today)
    return st_marys, group, teacher, 2 * len(days) * len(pupils)


def test_a_teacher_takes_and_amends_a_register_by_keyboard(journey, browser):
    from playwright.sync_api import expect

    from mis.rollups import rollups_refresh_due

    st_marys, group, teacher, earlier_sessions = _school_with_a_group(journey)
    today = timezone.localdate()
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT_MS)
    school_url = journey["host"](st_marys)
    page.goto(f"{school_url}/registers/{group.pk}/?date={today.isoformat()}&session=AM")
    sign_in(page, teacher.email)
    expect(page.get_by_test_id("register-status")).to_contain_text("4 not marked yet")
    check_page(page, "40-register-unmarked")

    # Keyboard only: in each pupil's list, typing a code picks it; Tab moves on (past the
    # pupil's name link) to the next list, then to the save button.
    page.get_by_label("Mark for Ben Hughes").focus()
    for code in ("N", "/", "/", "/"):  # Hughes, Okafor, Patel, Walsh
        page.keyboard.type(code)
        page.keyboard.press("Tab")  # the next pupil's name, or after the last the button
        if not page.get_by_test_id("save-register").evaluate("b => b === document.activeElement"):
            page.keyboard.press("Tab")
    expect(page.get_by_test_id("save-register")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("register-status")).to_contain_text("4 marks added")
    expect(page.get_by_test_id("register-status")).not_to_contain_text("not marked yet")
    check_page(page, "41-register-taken")

    # Ben's mother rings: he is ill. The mark is amended, with the reason.
    page.get_by_label("Change the mark of Ben Hughes").focus()
    page.keyboard.type("I")
    page.keyboard.press("Tab")
    page.keyboard.type("Mother phoned at 9:20: Ben is ill")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("register-status")).to_contain_text("1 mark amended")
    history = page.get_by_test_id("amendments")
    expect(history).to_contain_text("Mother phoned at 9:20: Ben is ill")
    row = history.locator("tbody tr").first
    expect(row.locator("td").nth(0)).to_have_text("N")
    expect(row.locator("td").nth(1)).to_have_text("I")
    expect(row).to_contain_text("Tara Teacher")
    check_page(page, "42-register-amended")

    # The school's Attendance page counts today's marks straight away: 3 more present of
    # 4 more possible sessions.
    expected = f"{100 * (earlier_sessions + 3) / (earlier_sessions + 4):.1f}%"
    page.goto(f"{school_url}/attendance/")
    expect(page.get_by_text(expected).first).to_be_visible()
    check_page(page, "43-school-attendance-after-register")

    # The trust's Analytics reads the roll-ups: after the refresh, the same figure.
    assert rollups_refresh_due(today=today) >= 1
    trust_page = browser.new_context().new_page()
    trust_page.set_default_timeout(TIMEOUT_MS)
    trust_page.goto(f"{journey['host'](journey['trust'])}/analytics/schools/{st_marys.urn}/")
    sign_in(trust_page, "priya@oak-ridge.test")
    expect(trust_page.get_by_text(expected).first).to_be_visible()
    check_page(trust_page, "44-trust-analytics-after-register")
