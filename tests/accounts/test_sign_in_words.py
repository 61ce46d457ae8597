"""What the sign-in's code step and the header say: the code field names both kinds of
code, a used backup code is told apart from a wrong one, the header does not offer "Sign
in" during the code step, and signed-in people find their account from the header."""

import re

import pytest
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import UsedBackupCode
from tests.accounts.test_two_factor import (
    give_two_factor,
    password_step,
    signed_in_with_code,
    wrong_code,
)
from tests.conftest import SiteClient, sign_in_verified
from tests.factories import StaffProfileFactory, UserFactory

pytestmark = pytest.mark.django_db

CODE_URL = "/accounts/sign-in/code/"


def _header(html: str) -> str:
    return re.search(r'<header class="mm-header">.*?</header>', html, re.S).group()


def _code_label(html: str) -> str:
    return re.search(r'<label[^>]*for="id_code"[^>]*>(.*?)</label>', html, re.S).group(1)


def _forgive_failures(user):
    """Each device slows down repeated wrong codes (1, 2, 4... seconds): start afresh."""
    for model in (StaticDevice, TOTPDevice):
        model.objects.filter(user=user).update(
            throttling_failure_count=0, throttling_failure_timestamp=None
        )


def test_the_code_field_is_labelled_for_both_kinds_of_code(trust, trust_staff):
    give_two_factor(trust_staff)
    client = SiteClient(trust)
    password_step(client, trust_staff)
    html = client.get(CODE_URL).content.decode()
    assert _code_label(html) == "Code from your authenticator app, or a backup code"
    assert "A backup code looks like abcd-efgh and works once." in html  # the hint, not hidden


def test_an_empty_code_gets_a_message_naming_both_kinds(trust, trust_staff):
    give_two_factor(trust_staff)
    client = SiteClient(trust)
    password_step(client, trust_staff)
    html = client.post(CODE_URL, {"code": ""}).content.decode()
    assert "Enter the 6-digit code from your authenticator app, or a backup code" in html
    assert "This field is required." not in html


def test_a_used_backup_code_is_told_apart_from_a_wrong_one(trust, trust_staff):
    device, codes = give_two_factor(trust_staff)
    first = SiteClient(trust)
    password_step(first, trust_staff)
    assert first.post(CODE_URL, {"code": codes[0]}).status_code == 302
    # What is kept of it is a digest, never the code.
    kept = UsedBackupCode.objects.get(user=trust_staff)
    assert codes[0] not in kept.digest

    again = SiteClient(trust)
    password_step(again, trust_staff)
    used = again.post(CODE_URL, {"code": codes[0]}).content.decode()
    assert "That backup code has already been used." in used
    assert "That code is not right" not in used

    _forgive_failures(trust_staff)
    wrong = again.post(CODE_URL, {"code": "zzzz-zzzz"}).content.decode()
    assert "That code is not right" in wrong
    assert "already been used" not in wrong
    assert (
        "That code is not right"
        in again.post(CODE_URL, {"code": wrong_code(device)}).content.decode()
    )


def test_someone_elses_used_backup_code_is_just_wrong(trust, trust_staff):
    _, codes = give_two_factor(trust_staff)
    client = SiteClient(trust)
    password_step(client, trust_staff)
    client.post(CODE_URL, {"code": codes[0]})

    other = StaffProfileFactory(site=trust).user
    give_two_factor(other)
    theirs = SiteClient(trust)
    password_step(theirs, other)
    html = theirs.post(CODE_URL, {"code": codes[0]}).content.decode()
    assert "That code is not right" in html


def test_new_backup_codes_forget_the_used_ones(trust, trust_staff):
    _, codes = give_two_factor(trust_staff)
    client = SiteClient(trust)
    password_step(client, trust_staff)
    client.post(CODE_URL, {"code": codes[0]})
    assert UsedBackupCode.objects.filter(user=trust_staff).exists()
    client.post("/accounts/two-factor/backup-codes/")
    assert not UsedBackupCode.objects.filter(user=trust_staff).exists()
    assert StaticToken.objects.filter(device__user=trust_staff).count() == 10


def test_turning_it_off_with_a_used_backup_code_says_so(trust, trust_staff):
    _, codes = give_two_factor(trust_staff)
    client = SiteClient(trust)
    password_step(client, trust_staff)
    client.post(CODE_URL, {"code": codes[0]})
    refused = client.post("/accounts/two-factor/turn-off/", {"code": codes[0]})
    assert "That backup code has already been used." in refused.content.decode()


def test_the_header_does_not_offer_sign_in_during_the_code_step(trust, trust_staff):
    give_two_factor(trust_staff)
    client = SiteClient(trust)
    password_step(client, trust_staff)
    header = _header(client.get(CODE_URL).content.decode())
    assert ">Sign in<" not in header
    assert "Signing in" in header and trust_staff.email in header


@pytest.mark.parametrize("host", ["site", "platform"])
def test_signed_in_people_reach_their_account_from_the_header(trust, trust_staff, host):
    if host == "site":
        device, _ = give_two_factor(trust_staff)
        client = signed_in_with_code(trust, trust_staff, device)
    else:
        support = UserFactory(is_staff=True)
        client = sign_in_verified(SiteClient(), support)
    home = client.get("/imports/" if host == "platform" else "/").content.decode()
    link = re.search(
        r'<a class="mm-header__button" href="([^"]+)"[^>]*>Your account</a>', _header(home)
    )
    assert link, _header(home)
    account = client.get(link.group(1))
    assert account.status_code == 200
    assert "Two-factor sign-in" in account.content.decode()


def test_signed_out_visitors_get_no_account_link(trust):
    assert "Your account" not in SiteClient(trust).get("/accounts/sign-in/").content.decode()


def test_an_empty_sign_in_says_what_is_missing(trust):
    html = SiteClient(trust).post("/accounts/sign-in/", {"username": "", "password": ""})
    html = html.content.decode()
    assert "Enter your email address" in html
    assert "Enter your password" in html
    assert "This field is required." not in html


def test_an_empty_new_password_says_what_is_missing():
    from accounts.identity.forms import NewPasswordForm

    form = NewPasswordForm(UserFactory.build(), data={})
    assert not form.is_valid()
    assert form.errors == {
        "new_password1": ["Enter a new password"],
        "new_password2": ["Type the new password again"],
    }
    assert form.fields["new_password1"].label == "New password"
