"""Sign-in with Microsoft in a real browser, against the local OpenID Connect provider of
tests/accounts/oidc_provider.py: the trust's administrator enables it on the Security
settings page; a colleague chooses "Sign in with Microsoft" on the trust's sign-in page, the
provider approves, its callback lands on the platform host and hands over to the trust's
host, where the colleague is signed in.

Screenshots in test-artifacts/e2e/ (``provider-*``), each page checked with axe at a
desktop and a phone width (``check_page``).
"""

import pytest

from tests.e2e.test_sharing_journey import TIMEOUT_MS, check_page, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def local_provider(settings):
    from tests.accounts.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider

    provider = Provider().start()
    settings.SIGN_IN_PROVIDERS = {
        "microsoft": {
            "name": "Microsoft",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "discovery_url": provider.discovery_url,
        },
    }
    yield provider
    provider.stop()


def test_an_administrator_enables_microsoft_and_a_colleague_signs_in_with_it(
    journey, browser, local_provider
):
    from playwright.sync_api import expect

    from accounts.identity.provider import callback_url
    from accounts.models import SiteSecurityPolicy
    from tests.accounts.oidc_provider import Account
    from tests.factories import StaffProfileFactory, UserFactory

    local_provider.redirect_uris = {callback_url()}
    trust = journey["trust"]
    trust_url = journey["host"](trust)
    colleague = UserFactory(email="jo@oak-ridge.test", full_name="Jo Bennett")
    StaffProfileFactory(site=trust, user=colleague)

    admin_context = browser.new_context()
    admin_context.set_default_timeout(TIMEOUT_MS)
    page = admin_context.new_page()
    page.goto(f"{trust_url}/accounts/sign-in/")
    sign_in(page, journey["admin"].email)
    page.goto(f"{trust_url}/accounts/security/")
    page.get_by_role("link", name="Change sign-in with Microsoft or Google").click()
    check_page(page, "provider-settings")
    page.get_by_label("Microsoft").check()
    page.get_by_label("Email domains accepted").fill("oak-ridge.test")
    page.get_by_role("button", name="Save settings").click()
    expect(
        page.get_by_text("Staff at Oak Ridge Trust can now sign in with Microsoft.")
    ).to_be_visible()
    assert SiteSecurityPolicy.objects.get(site=trust).sign_in_domains == "oak-ridge.test"
    admin_context.close()

    local_provider.account = Account(email="jo@oak-ridge.test")
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{trust_url}/accounts/sign-in/")
    check_page(page, "provider-sign-in")
    page.get_by_role("link", name="Sign in with Microsoft").click()
    page.wait_for_url(f"{trust_url}/")
    expect(page.get_by_text("Jo Bennett")).to_be_visible()
    check_page(page, "provider-signed-in")
    context.close()
