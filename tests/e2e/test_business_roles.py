"""Business roles in a real browser: a trust administrator finds Staff > Business roles,
creates a role, gives it a permission with the keyboard-operable radios, checks with
“Check access to a page” that its holder may now open a page, and finds the last
administering role refused to be retired. Screenshots and axe checks as the journey's
(test-artifacts/e2e/roles-*.png)."""

import re

import pytest

from tests.e2e.test_sharing_journey import TIMEOUT_MS, check_page, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_trust_administrator_edits_a_role_and_checks_access(journey, browser):
    from playwright.sync_api import expect

    from accounts.models import StaffProfile
    from tests.factories import UserFactory

    trust = journey["trust"]
    colleague = UserFactory(email="sam@oak-ridge.test", full_name="Sam Colleague")
    StaffProfile.objects.create(site=trust, user=colleague, job_title="Exams")
    trust_url = journey["host"](trust)

    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{trust_url}/staff/roles/")
    sign_in(page, "priya@oak-ridge.test")
    expect(page.get_by_role("heading", level=1)).to_have_text("Business roles")
    expect(page.get_by_role("row").filter(has_text="Trust Administrator")).to_contain_text("1")
    check_page(page, "roles-01-list")

    page.get_by_role("link", name="Create a role").click()
    page.get_by_label("Name of the role").fill("trust administrator")
    page.get_by_role("button", name="Create role").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("already has a role called")
    check_page(page, "roles-02-create-refused")
    page.get_by_label("Name of the role").fill("Exams Officer")
    page.get_by_role("button", name="Create role").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Exams Officer")
    check_page(page, "roles-03-new-role")

    # Off / View / Administer by keyboard: focus the group, arrow to View.
    institution = page.get_by_role(
        "group", name="Institution: Administer Institution Details", exact=True
    )
    institution.get_by_label("Off").first.focus()
    page.keyboard.press("ArrowRight")
    expect(institution.get_by_label("View")).to_be_checked()
    page.get_by_role("button", name="Save permissions").click()
    expect(page.get_by_text("Permissions of “Exams Officer” saved: 1 change.")).to_be_visible()

    # The last role that lets someone manage staff cannot be retired.
    page.goto(f"{trust_url}/staff/roles/")
    page.get_by_role("link", name="Trust Administrator").click()
    page.get_by_role("button", name="Retire “Trust Administrator”").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("cannot be retired")
    check_page(page, "roles-04-retire-refused")

    page.goto(f"{trust_url}/staff/roles/check-access/")
    page.get_by_label("Address of the page").fill(f"{trust_url}/staff/roles/new/")
    page.get_by_label("Person").select_option(label="Sam Colleague (sam@oak-ridge.test)")
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#access-answer")).to_have_text(
        re.compile(r"^Sam Colleague may not open /staff/roles/new/: it needs “User Details")
    )
    check_page(page, "roles-05-check-access")
    context.close()
