"""Recipients by person and forwarding in a real browser (headless Chromium).

The trust administrator opens the send panel for St Mary's, searches the people by name
and ticks the Deputy Head beside the Head Teacher role; the preview names both. The head
teacher signs in to the school, opens the request and, not being the right person, sends
it to the Data Manager ("Not you? Send it to a colleague"); the page then shows the
forward, and the Data Manager's email is on the mail page. Screenshots and axe checks as
in ``test_sharing_journey``.
"""

import re

import pytest

from tests.e2e.test_sharing_journey import TIMEOUT_MS, check_page, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_trust_names_a_deputy_and_the_head_forwards_to_the_data_manager(journey, browser):
    from playwright.sync_api import expect

    from tests.notifications.factories import school_staff

    st_marys = journey["schools"][0]
    school_staff(
        st_marys, "Deputy Head Teacher", full_name="Dina Deputy", email="deputy@st-marys.test"
    )
    school_staff(st_marys, "Data Manager", full_name="Dan Moss", email="data@st-marys.test")
    trust_url = journey["host"](journey["trust"])

    # --- The trust administrator sends to the head teacher and a deputy chosen by name -----
    admin_context = browser.new_context()
    admin_context.set_default_timeout(TIMEOUT_MS)
    admin = admin_context.new_page()
    admin.goto(f"{trust_url}/data-sharing/")
    sign_in(admin, "priya@oak-ridge.test")
    admin.check(f"#select-{st_marys.urn}")
    admin.click("#bulk-send")
    panel = admin.locator("#bulk-panel")
    expect(panel.get_by_text("Or choose people by name")).to_be_visible()
    panel.get_by_label("DfE Data", exact=True).check()
    search = panel.get_by_label("Search people by name")
    search.fill("dina")
    # Enter in the search finds people (the form's default button): it never sends.
    search.press("Enter")
    expect(panel.get_by_label("Search people by name")).to_have_value("dina")
    deputy = panel.get_by_label("Dina Deputy (Deputy Head Teacher)")
    expect(deputy).to_be_visible()
    expect(panel.get_by_label("Dan Moss (Data Manager)")).to_have_count(0)  # searched out
    deputy.check()
    expect(panel.locator("#send-preview")).to_contain_text("(Deputy Head Teacher, chosen by name)")
    expect(panel.get_by_text("Will be sent to")).to_contain_text("(2 people)")
    check_page(admin, "r01-trust-send-named")
    panel.get_by_role("button", name="Send requests").click()
    expect(admin.get_by_text("Request sent to 1 school")).to_be_visible()
    expect(admin.get_by_text("Dina Deputy (Deputy Head Teacher, chosen by name)")).to_be_visible()
    check_page(admin, "r02-trust-sent-named")
    admin_context.close()

    # --- The head teacher forwards it to the data manager ---------------------------------
    from sharing.models import AgreementRequest

    request_id = AgreementRequest.objects.get(school=st_marys).pk
    head_context = browser.new_context()
    head_context.set_default_timeout(TIMEOUT_MS)
    head = head_context.new_page()
    head.goto(f"{journey['host'](st_marys)}/data/data-sharing/requests/{request_id}/")
    sign_in(head, "head@st-marys.test")
    expect(head.get_by_role("heading", name="Who received it")).to_be_visible()
    expect(head.get_by_test_id("recipients")).to_contain_text("Dina Deputy")
    forward = head.locator("#forward")
    expect(forward.get_by_role("heading", name="Not you? Send it to a colleague")).to_be_visible()
    check_page(head, "r03-school-request-forward")
    forward.get_by_label("Send to").select_option(label="Dan Moss (Data Manager)")
    forward.get_by_role("button", name="Send to them").click()
    expect(head.get_by_text("Sent to Dan Moss (Data Manager).")).to_be_visible()
    expect(head.get_by_test_id("recipients")).to_contain_text(
        re.compile(r"Dan Moss.*Forwarded by .* on ", re.S)
    )
    check_page(head, "r04-school-forwarded")

    head.goto(f"{journey['base']}/mail/")
    message = head.get_by_role("row").filter(has_text="data@st-marys.test")
    expect(message).to_have_count(1)
    expect(message).to_contain_text("Oak Ridge Trust asks to share data with St Mary’s Primary")
    head_context.close()

    from django.db import connections

    from sharing.models import RecipientSource, RequestRecipient

    try:
        sources = dict(
            RequestRecipient.objects.filter(request_id=request_id).values_list("email", "source")
        )
        assert sources == {
            "head@st-marys.test": RecipientSource.ROLE,
            "deputy@st-marys.test": RecipientSource.NAMED,
            "data@st-marys.test": RecipientSource.FORWARDED,
        }
    finally:
        connections.close_all()
