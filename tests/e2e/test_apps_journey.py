"""A Data Access Request in a real browser (headless Chromium).

The head teacher opens Reading Stars' pending request, ticks one optional scope and
authorises it after the confirmation step; the receipt is on the mail page; the app's next
call answers exactly the granted fields; the head revokes the app and its next call is
refused. Screenshots and axe checks as in ``test_sharing_journey``.
"""

import pytest

from tests.e2e.test_sharing_journey import TIMEOUT_MS, check_page, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_head_authorises_an_optional_scope_then_revokes(journey, browser):
    from playwright.sync_api import expect

    from tests.conftest import SiteClient
    from tests.mis.factories import PupilFactory
    from tests.thirdparty.factories import make_app, token_for
    from thirdparty.models import RequestOrigin
    from thirdparty.scopes import SCOPES
    from thirdparty.services import access_request_open

    school = journey["schools"][0]
    PupilFactory(site=school, legal_first_name="Ada", fsm_eligible=True)
    app, _ = make_app(
        required=("students",),
        optional=("student_characteristics", "attendance"),
        name="Reading Stars",
    )
    pending = access_request_open(app=app, school=school, origin=RequestOrigin.APP).request
    api = SiteClient(None, HTTP_AUTHORIZATION=f"Bearer {token_for(app)}")
    students_url = f"/api/apps/v1/schools/{school.urn}/students/"
    assert api.get(students_url).status_code == 403

    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    head = context.new_page()
    school_url = journey["host"](school)
    head.goto(f"{school_url}/data/apps/requests/{pending.pk}/")
    sign_in(head, f"head@{school.slug}.test")
    expect(head.get_by_role("heading", name="Reading Stars asks for")).to_be_visible()
    expect(head.locator("#scope-students")).to_be_checked()
    expect(head.locator("#scope-students")).to_be_disabled()
    expect(head.locator("#scope-student_characteristics")).not_to_be_checked()
    check_page(head, "a01-school-app-request")
    head.locator("#scope-student_characteristics").check()
    head.get_by_role("button", name="Continue to authorise").click()
    expect(head.get_by_role("heading", name="Authorise Reading Stars")).to_be_visible()
    check_page(head, "a02-school-app-confirm")
    head.get_by_role("button", name="Authorise Reading Stars").click()
    expect(head.get_by_text("Authorised. Reading Stars may now read")).to_be_visible()
    check_page(head, "a03-school-app-authorised")

    # The receipt, on the development mail page.
    head.goto(f"{journey['base']}/mail/")
    expect(head.get_by_text("authorised Reading Stars").first).to_be_visible()

    # The app's next call: exactly the fields of Students and Student Characteristics.
    row = api.get(students_url).json()["results"][0]
    expected = {"id", *SCOPES["students"].field_names}
    expected |= set(SCOPES["student_characteristics"].field_names)
    assert set(row) == expected
    assert api.get(f"/api/apps/v1/schools/{school.urn}/attendance/").status_code == 403

    # The head revokes; the next call is refused.
    head.goto(f"{school_url}/data/apps/")
    head.get_by_role("link", name="Manage Reading Stars").click()
    head.get_by_role("link", name="Revoke").click()
    check_page(head, "a04-school-app-revoke")
    head.get_by_role("button", name="Revoke Reading Stars").click()
    expect(head.get_by_text("Revoked. Reading Stars can read nothing more")).to_be_visible()
    refused = api.get(students_url)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "scope_not_authorised"
    context.close()
