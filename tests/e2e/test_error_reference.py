"""The error pages in a real browser: the reference a person quotes is the request id of
the page they see (``X-Request-ID``), and the page still passes axe at both widths."""

import pytest

from tests.e2e.test_sharing_journey import TIMEOUT_MS, check_page, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_404_page_shows_the_reference_of_its_request(journey, browser):
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    trust_url = journey["host"](journey["trust"])
    page.goto(f"{trust_url}/accounts/sign-in/")
    sign_in(page, "priya@oak-ridge.test")

    response = page.goto(f"{trust_url}/no-such-page/")
    assert response.status == 404
    reference = page.locator("code.mm-request-id")
    assert reference.inner_text() == response.headers["x-request-id"]
    check_page(page, "error-404-reference")
    context.close()
