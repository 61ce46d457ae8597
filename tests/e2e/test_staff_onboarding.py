"""Staff onboarding in a real browser (issue 13, item 1, "Done when").

On a trust that requires two-factor sign-in, the trust administrator signs in (password and
a code from the authenticator), opens Staff, adds a colleague as Central Team Member
associated with all schools, and sees the invitation listed. The colleague reads the email
on the development mail page, follows its single-use link to the trust's host, chooses a
password, sets up two-factor sign-in with the key shown (the code computed as an app
would, with django_otp's TOTP), saves the backup codes, signs out, signs in again with a
backup code, and can open exactly what the role allows: Browse Institutions, not the
staff administration. The used link then says it was used.

Screenshots in test-artifacts/e2e/ (``onboard-*``), each page checked with axe at a
desktop and a phone width (``check_page``).
"""

import re
import time

import pytest

from tests.e2e.test_sharing_journey import TIMEOUT_MS, check_page, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ADMIN_KEY_HEX = "3132333435363738393031323334353637383930"
NEW_PASSWORD = "Colleague-pass-2026"


def totp_now(key_hex: str) -> str:
    from django_otp.oath import TOTP

    totp = TOTP(bytes.fromhex(key_hex), step=30, digits=6)
    totp.time = time.time()
    return f"{totp.token():06d}"


def key_hex_from_setup_key(shown: str) -> str:
    from base64 import b32decode

    secret = shown.replace(" ", "").upper()
    secret += "=" * (-len(secret) % 8)
    return b32decode(secret).hex()


def test_a_trust_administrator_invites_a_colleague_who_joins(journey, browser):
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from playwright.sync_api import expect

    from accounts.models import SiteSecurityPolicy, StaffInvitation

    trust = journey["trust"]
    trust_url = journey["host"](trust)
    SiteSecurityPolicy.objects.create(site=trust, require_two_factor=True)
    TOTPDevice.objects.create(
        user=journey["admin"], name="Authenticator app", key=ADMIN_KEY_HEX, confirmed=True
    )

    # --- The trust administrator adds a colleague -----------------------------------------
    admin_context = browser.new_context()
    admin_context.set_default_timeout(TIMEOUT_MS)
    admin = admin_context.new_page()
    admin.goto(f"{trust_url}/staff/")
    sign_in(admin, "priya@oak-ridge.test")
    admin.get_by_label("Code from your authenticator app, or a backup code").fill(
        totp_now(ADMIN_KEY_HEX)
    )
    admin.get_by_role("button", name="Continue").click()
    expect(admin.get_by_role("heading", name="Staff", exact=True)).to_be_visible()
    admin.get_by_role("button", name="Add a member of staff").click()
    expect(admin.get_by_role("heading", name="Add a member of staff")).to_be_visible()
    admin.get_by_label("Full name").fill("Chris Colleague")
    admin.get_by_label("Email address").fill("chris@oak-ridge.test")
    admin.get_by_label("Job title (optional)").fill("Finance officer")
    admin.get_by_label("Central Team Member", exact=True).check()
    admin.get_by_label("All schools, including any that join later").check()
    check_page(admin, "onboard-01-add-a-member-of-staff")
    admin.get_by_role("button", name="Add and send the email").click()
    expect(admin.get_by_text("Chris Colleague is invited")).to_be_visible()
    invited = admin.locator("#invitations")
    expect(invited).to_contain_text("chris@oak-ridge.test")
    expect(invited).to_contain_text("Pending")
    check_page(admin, "onboard-02-staff-list-invited")

    # --- The colleague follows the emailed link ------------------------------------------
    colleague_context = browser.new_context()
    colleague_context.set_default_timeout(TIMEOUT_MS)
    colleague = colleague_context.new_page()
    colleague.goto(f"{journey['base']}/mail/")
    message = colleague.get_by_role("row").filter(has_text="chris@oak-ridge.test")
    expect(message).to_have_count(1)
    expect(message).to_contain_text("You are invited to Oak Ridge Trust")
    message.get_by_role("link").click()
    link = colleague.get_by_test_id("mail-text").get_by_role("link")
    expect(link).to_have_text(
        re.compile(rf"^http://oak-ridge\.localhost:{journey['port']}/accounts/invitation/[\w-]+/$")
    )
    invitation_url = link.inner_text()
    colleague.goto(invitation_url)
    expect(colleague.get_by_role("heading", name="Join Oak Ridge Trust")).to_be_visible()
    check_page(colleague, "onboard-03-accept-invitation")
    colleague.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    colleague.get_by_label("Type the new password again").fill(NEW_PASSWORD)
    colleague.get_by_role("button", name="Set password and continue").click()

    # --- Two-factor sign-in, required by the trust ---------------------------------------
    expect(colleague).to_have_url(re.compile(r"/accounts/two-factor/$"))
    check_page(colleague, "onboard-04-set-up-two-factor")
    # The key as a person types it into an app ("If you cannot scan it"), read as text.
    key_hex = key_hex_from_setup_key(colleague.locator("#setup-key").text_content())
    colleague.get_by_label("Code from the app").fill(totp_now(key_hex))
    colleague.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(colleague.get_by_role("heading", name="Your backup codes")).to_be_visible()
    backup_code = colleague.locator("li code").first.inner_text()
    check_page(colleague, "onboard-05-backup-codes")

    # --- Signed out, then in again with the new password and a backup code ----------------
    colleague_context.clear_cookies()
    colleague.goto(f"{trust_url}/institutions/")
    colleague.fill("input[name=username]", "chris@oak-ridge.test")
    colleague.fill("input[name=password]", NEW_PASSWORD)
    colleague.get_by_role("button", name="Sign in").click()
    colleague.get_by_label("Code from your authenticator app, or a backup code").fill(backup_code)
    colleague.get_by_role("button", name="Continue").click()

    # --- Exactly what a Central Team Member may do ---------------------------------------
    expect(colleague.get_by_role("heading", name="Browse Institutions")).to_be_visible()
    check_page(colleague, "onboard-06-colleague-browses")
    response = colleague.goto(f"{trust_url}/staff/add/")
    assert response.status == 403
    expect(colleague.get_by_text("User Details: Manage All Users")).to_be_visible()
    check_page(colleague, "onboard-07-colleague-refused-staff-admin")

    # --- The link was single-use ---------------------------------------------------------
    response = colleague.goto(invitation_url)
    assert response.status == 410
    expect(
        colleague.get_by_role("heading", name="This invitation was already accepted")
    ).to_be_visible()
    assert StaffInvitation.objects.get().used_at is not None
    admin_context.close()
    colleague_context.close()
