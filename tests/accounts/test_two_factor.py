"""Two-factor sign-in: setting it up, the code step, backup codes, turning it off, and
a site that requires it."""

import pytest
from django.test import override_settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.identity.sign_in import PENDING_SIGN_IN_KEY
from accounts.models import AuditAction, AuditEvent, SignInFailure, SiteSecurityPolicy
from accounts.permissions import USER_DETAILS, Access
from accounts.two_factor.enrolment import ENROLMENT_KEY_SESSION, secret_for_display
from accounts.two_factor.gate import GATE_CLEAR_UNTIL_SESSION
from accounts.two_factor.selectors import session_is_verified
from tests.conftest import SiteClient
from tests.factories import TEST_PASSWORD, StaffProfileFactory, TrustFactory, grant_permission

pytestmark = pytest.mark.django_db


# --- Helpers (also used by the other accounts tests) ----------------------------------------


def code_for_key(key_hex: str) -> str:
    return f"{TOTP(bytes.fromhex(key_hex)).token():06d}"


def current_code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    return f"{(int(current_code(device)) + 500_000) % 1_000_000:06d}"


def give_two_factor(user) -> tuple[TOTPDevice, list[str]]:
    """A confirmed authenticator and ten backup codes for ``user``."""
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    backup = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(10)]
    StaticToken.objects.bulk_create(StaticToken(device=backup, token=code) for code in codes)
    return device, codes


def allow_code_reuse(device: TOTPDevice) -> None:
    """Forget the last accepted time step, so a test may sign in twice within 30 seconds."""
    TOTPDevice.objects.filter(pk=device.pk).update(
        last_t=-1, throttling_failure_count=0, throttling_failure_timestamp=None
    )


def password_step(client, user, password=TEST_PASSWORD, **extra):
    return client.post(
        "/accounts/sign-in/", {"username": user.email, "password": password}, **extra
    )


def signed_in_with_code(site, user, device) -> SiteClient:
    """A client that signed in at ``site`` with password and authenticator code."""
    client = SiteClient(site)
    assert password_step(client, user)["Location"] == "/accounts/sign-in/code/"
    response = client.post("/accounts/sign-in/code/", {"code": current_code(device)})
    assert response.status_code == 302, response.content.decode()
    return client


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def staff(trust, trust_staff):
    return trust_staff


# --- Setting it up ---------------------------------------------------------------------------


class TestSetUp:
    def test_the_page_shows_a_qr_code_and_the_secret_to_type(self, site_client, trust, staff):
        client = site_client(trust, staff)
        response = client.get("/accounts/two-factor/")
        assert response.status_code == 200
        html = response.content.decode()
        assert 'src="/accounts/two-factor/qr-code.svg"' in html
        key = client.session[ENROLMENT_KEY_SESSION]
        assert secret_for_display(key) in html
        assert "no-store" in response["Cache-Control"]
        # Looking at it stores nothing and keeps the same secret.
        assert not TOTPDevice.objects.exists()
        client.get("/accounts/two-factor/")
        assert client.session[ENROLMENT_KEY_SESSION] == key

    def test_the_qr_code_is_svg_for_its_own_person_only(self, site_client, trust, staff):
        client = site_client(trust, staff)
        assert client.get("/accounts/two-factor/qr-code.svg").status_code == 404  # no key yet
        client.get("/accounts/two-factor/")
        response = client.get("/accounts/two-factor/qr-code.svg")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/svg+xml"
        assert b"<svg" in response.content
        assert b"<script" not in response.content
        assert "no-store" in response["Cache-Control"]

        anonymous = SiteClient(trust)
        assert anonymous.get("/accounts/two-factor/qr-code.svg").status_code == 302
        outsider = site_client(trust, StaffProfileFactory(site=TrustFactory()).user)
        assert outsider.get("/accounts/two-factor/qr-code.svg").status_code == 404

    def test_a_wrong_code_sets_nothing_up(self, site_client, trust, staff):
        client = site_client(trust, staff)
        client.get("/accounts/two-factor/")
        key = client.session[ENROLMENT_KEY_SESSION]
        wrong = f"{(int(code_for_key(key)) + 1) % 1_000_000:06d}"
        response = client.post("/accounts/two-factor/", {"code": wrong})
        assert response.status_code == 200
        assert "That code is not right" in response.content.decode()
        assert not TOTPDevice.objects.exists()
        assert not StaticDevice.objects.exists()

    def test_the_right_code_sets_it_up_and_shows_backup_codes_once(self, site_client, trust, staff):
        client = site_client(trust, staff)
        client.get("/accounts/two-factor/")
        key = client.session[ENROLMENT_KEY_SESSION]
        response = client.post("/accounts/two-factor/", {"code": code_for_key(key)})
        assert response["Location"] == "/accounts/two-factor/backup-codes/"

        device = TOTPDevice.objects.get(user=staff)
        assert device.confirmed and device.key == key
        tokens = list(
            StaticToken.objects.filter(device__user=staff).values_list("token", flat=True)
        )
        assert len(tokens) == 10
        event = AuditEvent.objects.get(action=AuditAction.TWO_FACTOR_ENROLLED)
        assert (event.site, event.actor) == (trust, staff)

        shown = client.get("/accounts/two-factor/backup-codes/")
        html = shown.content.decode()
        assert "no-store" in shown["Cache-Control"]
        assert all(f"{token[:4]}-{token[4:]}" in html for token in tokens)
        again = client.get("/accounts/two-factor/backup-codes/").content.decode()
        assert not any(f"{token[:4]}-{token[4:]}" in again for token in tokens)
        assert "10 of 10 backup codes left" in again

        # Setting it up verified this session: the person carries on signed in.
        home = client.get("/")
        assert home.status_code == 200
        assert session_is_verified(home.wsgi_request)

    def test_the_code_used_to_set_up_cannot_sign_in_again(self, site_client, trust, staff):
        client = site_client(trust, staff)
        client.get("/accounts/two-factor/")
        code = code_for_key(client.session[ENROLMENT_KEY_SESSION])
        client.post("/accounts/two-factor/", {"code": code})
        fresh = SiteClient(trust)
        password_step(fresh, staff)
        response = fresh.post("/accounts/sign-in/code/", {"code": code})
        assert response.status_code == 200
        assert not is_signed_in(fresh)


# --- Signing in with it ---------------------------------------------------------------------


class TestSignInWithACode:
    def test_the_password_alone_signs_nobody_in(self, trust, staff):
        give_two_factor(staff)
        client = SiteClient(trust)
        response = password_step(client, staff)
        assert response.status_code == 302
        assert response["Location"] == "/accounts/sign-in/code/"
        assert not is_signed_in(client)
        assert PENDING_SIGN_IN_KEY in client.session
        home = client.get("/")
        assert home.status_code == 302
        assert home["Location"].startswith("/accounts/sign-in/")
        assert client.get("/api/v1/site/").status_code == 403
        assert not AuditEvent.objects.filter(action=AuditAction.SIGN_IN).exists()

    def test_the_code_completes_the_sign_in(self, trust, staff):
        device, _ = give_two_factor(staff)
        client = SiteClient(trust)
        password_step(client, staff)
        page = client.get("/accounts/sign-in/code/")
        assert page.status_code == 200
        assert 'autocomplete="one-time-code"' in page.content.decode()
        response = client.post("/accounts/sign-in/code/", {"code": current_code(device)})
        assert response["Location"] == "/"
        home = client.get("/")
        assert home.status_code == 200
        assert session_is_verified(home.wsgi_request)
        assert PENDING_SIGN_IN_KEY not in client.session
        event = AuditEvent.objects.get(action=AuditAction.SIGN_IN)
        assert (event.site, event.actor, event.ip_address) == (trust, staff, "127.0.0.1")
        assert event.detail == {"second_factor": "authenticator_app"}

    def test_a_wrong_code_is_refused_and_counted(self, trust, staff):
        device, _ = give_two_factor(staff)
        client = SiteClient(trust)
        password_step(client, staff)
        response = client.post("/accounts/sign-in/code/", {"code": wrong_code(device)})
        assert response.status_code == 200
        assert "That code is not right" in response.content.decode()
        assert not is_signed_in(client)
        failure = SignInFailure.objects.get()
        assert (failure.email, failure.site, failure.ip_address) == (
            staff.email,
            trust,
            "127.0.0.1",
        )
        event = AuditEvent.objects.get(action=AuditAction.SIGN_IN_FAILED)
        assert (event.site, event.target, event.detail) == (
            trust,
            staff.email,
            {"reason": "wrong_code"},
        )

    @override_settings(OTP_TOTP_THROTTLE_FACTOR=0)
    def test_five_wrong_codes_lock_the_account(self, trust, staff):
        device, _ = give_two_factor(staff)
        client = SiteClient(trust)
        password_step(client, staff)
        for _ in range(5):
            client.post("/accounts/sign-in/code/", {"code": wrong_code(device)})
        response = client.post("/accounts/sign-in/code/", {"code": current_code(device)})
        assert response["Location"] == "/accounts/sign-in/"
        assert not is_signed_in(client)
        assert PENDING_SIGN_IN_KEY not in client.session
        assert "too many failed attempts" in client.get("/accounts/sign-in/").content.decode()

    def test_a_backup_code_works_once(self, trust, staff):
        _device, codes = give_two_factor(staff)
        client = SiteClient(trust)
        password_step(client, staff)
        typed = f"{codes[0][:4]}-{codes[0][4:]}".upper()  # as a person might type it
        response = client.post("/accounts/sign-in/code/", {"code": typed}, follow=True)
        assert response.status_code == 200
        assert "You have 9 backup codes left" in response.content.decode()
        assert is_signed_in(client)
        assert AuditEvent.objects.get(action=AuditAction.SIGN_IN).detail == {
            "second_factor": "backup_code"
        }

        again = SiteClient(trust)
        password_step(again, staff)
        refused = again.post("/accounts/sign-in/code/", {"code": codes[0]})
        assert refused.status_code == 200
        assert not is_signed_in(again)
        assert StaticToken.objects.filter(device__user=staff).count() == 9

    def test_the_code_step_times_out(self, trust, staff, monkeypatch):
        import datetime

        device, _ = give_two_factor(staff)
        client = SiteClient(trust)
        password_step(client, staff)
        monkeypatch.setattr(
            "accounts.identity.sign_in.PENDING_SIGN_IN_LIFETIME", datetime.timedelta(seconds=-1)
        )
        response = client.post("/accounts/sign-in/code/", {"code": current_code(device)})
        assert response["Location"] == "/accounts/sign-in/"
        assert not is_signed_in(client)
        assert "timed out" in client.get("/accounts/sign-in/").content.decode()

    def test_the_code_step_without_a_password_goes_back_to_sign_in(self, trust):
        response = SiteClient(trust).get("/accounts/sign-in/code/")
        assert response["Location"] == "/accounts/sign-in/"

    def test_the_next_page_survives_the_code_step(self, trust, staff):
        device, _ = give_two_factor(staff)
        client = SiteClient(trust)
        client.post(
            "/accounts/sign-in/",
            {"username": staff.email, "password": TEST_PASSWORD, "next": "/accounts/two-factor/"},
        )
        response = client.post("/accounts/sign-in/code/", {"code": current_code(device)})
        assert response["Location"] == "/accounts/two-factor/"

    def test_a_device_holders_session_without_a_code_is_not_signed_in(
        self, site_client, trust, staff
    ):
        give_two_factor(staff)
        client = site_client(trust, staff)  # a session that never gave a code
        response = client.get("/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/sign-in/")
        assert not is_signed_in(client)
        assert not session_is_verified(response.wsgi_request)


# --- Managing it ------------------------------------------------------------------------------


class TestManaging:
    def test_the_page_shows_the_state(self, trust, staff):
        device, _ = give_two_factor(staff)
        client = signed_in_with_code(trust, staff, device)
        html = client.get("/accounts/two-factor/").content.decode()
        assert "10 of 10 left" in html
        assert "Turn off two-factor sign-in" in html

    def test_new_backup_codes_replace_the_old_ones(self, trust, staff):
        device, old = give_two_factor(staff)
        client = signed_in_with_code(trust, staff, device)
        response = client.post("/accounts/two-factor/backup-codes/")
        assert response["Location"] == "/accounts/two-factor/backup-codes/"
        new = set(StaticToken.objects.filter(device__user=staff).values_list("token", flat=True))
        assert len(new) == 10
        assert not new & set(old)
        html = client.get("/accounts/two-factor/backup-codes/").content.decode()
        assert all(f"{code[:4]}-{code[4:]}" in html for code in new)

    def test_turning_it_off_needs_a_current_code(self, trust, staff):
        device, _ = give_two_factor(staff)
        client = signed_in_with_code(trust, staff, device)
        allow_code_reuse(device)
        refused = client.post("/accounts/two-factor/turn-off/", {"code": wrong_code(device)})
        assert refused.status_code == 400
        assert TOTPDevice.objects.filter(user=staff).exists()
        allow_code_reuse(device)
        response = client.post("/accounts/two-factor/turn-off/", {"code": current_code(device)})
        assert response["Location"] == "/accounts/two-factor/"
        assert not TOTPDevice.objects.filter(user=staff).exists()
        assert not StaticDevice.objects.filter(user=staff).exists()
        event = AuditEvent.objects.get(action=AuditAction.TWO_FACTOR_REMOVED)
        assert (event.site, event.actor) == (trust, staff)
        assert client.get("/").status_code == 200  # still signed in, with a password only

    def test_turning_it_off_is_refused_where_a_site_requires_it(self, trust, staff):
        device, _ = give_two_factor(staff)
        client = signed_in_with_code(trust, staff, device)
        SiteSecurityPolicy.objects.create(site=trust, require_two_factor=True)
        allow_code_reuse(device)
        page = client.get("/accounts/two-factor/turn-off/").content.decode()
        assert "Oak Ridge Trust requires two-factor sign-in" in page
        response = client.post("/accounts/two-factor/turn-off/", {"code": current_code(device)})
        assert response.status_code == 400
        assert "requires it for all staff" in response.content.decode()
        assert TOTPDevice.objects.filter(user=staff).exists()
        assert not AuditEvent.objects.filter(action=AuditAction.TWO_FACTOR_REMOVED).exists()

    def test_managing_it_needs_a_session_that_gave_a_code(self, site_client, trust, staff):
        client = site_client(trust, staff)
        client.get("/")  # no device yet: the gate lets this session be for a minute
        give_two_factor(staff)  # ...then the person sets it up elsewhere
        assert client.session[GATE_CLEAR_UNTIL_SESSION]
        response = client.post("/accounts/two-factor/backup-codes/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/sign-in/")
        assert StaticToken.objects.filter(device__user=staff).count() == 10


# --- A site that requires it --------------------------------------------------------------------


class TestSiteRequiresTwoFactor:
    @pytest.fixture(autouse=True)
    def required(self, trust):
        SiteSecurityPolicy.objects.create(site=trust, require_two_factor=True)

    def test_staff_without_it_set_up_are_sent_to_set_it_up(self, trust, staff):
        grant_permission(staff, trust, USER_DETAILS)
        client = SiteClient(trust)
        response = password_step(client, staff)
        assert response["Location"] == "/accounts/two-factor/"
        for path in ["/", "/audit/", "/accounts/security/"]:
            blocked = client.get(path)
            assert blocked.status_code == 302, path
            assert blocked["Location"] == "/accounts/two-factor/", path
        api = client.get("/api/v1/site/")
        assert api.status_code == 403
        assert "requires two-factor sign-in" in api.json()["error"]["message"]
        page = client.get("/accounts/two-factor/")
        assert page.status_code == 200
        assert "requires two-factor sign-in for all staff" in page.content.decode()
        assert client.get("/accounts/two-factor/qr-code.svg").status_code == 200

        key = client.session[ENROLMENT_KEY_SESSION]
        client.post("/accounts/two-factor/", {"code": code_for_key(key)})
        assert client.get("/").status_code == 200
        assert client.get("/api/v1/site/").status_code == 200

    def test_staff_with_it_set_up_sign_in_as_usual(self, trust, staff):
        device, _ = give_two_factor(staff)
        client = signed_in_with_code(trust, staff, device)
        assert client.get("/").status_code == 200

    def test_a_session_already_signed_in_is_caught_within_a_minute(self, site_client, trust, staff):
        SiteSecurityPolicy.objects.filter(site=trust).update(require_two_factor=False)
        client = site_client(trust, staff)
        assert client.get("/").status_code == 200
        SiteSecurityPolicy.objects.filter(site=trust).update(require_two_factor=True)
        assert client.get("/").status_code == 200  # checked less than a minute ago
        session = client.session
        session[GATE_CLEAR_UNTIL_SESSION] = 0  # a minute later
        session.save()
        assert client.get("/")["Location"] == "/accounts/two-factor/"


# --- The site's setting ---------------------------------------------------------------------------


class TestSecuritySettings:
    url = "/accounts/security/"

    def test_anonymous_visitors_are_sent_to_sign_in(self, trust):
        assert SiteClient(trust).get(self.url)["Location"].startswith("/accounts/sign-in/")

    def test_staff_of_another_site_get_not_found(self, site_client, trust):
        outsider = StaffProfileFactory(site=TrustFactory()).user
        assert site_client(trust, outsider).get(self.url).status_code == 404

    def test_staff_who_only_view_users_are_refused(self, site_client, trust, staff):
        grant_permission(staff, trust, USER_DETAILS, Access.VIEW)
        assert site_client(trust, staff).get(self.url).status_code == 403

    def test_administrators_change_it_and_it_is_audited(self, trust, staff):
        grant_permission(staff, trust, USER_DETAILS)
        device, _ = give_two_factor(staff)
        client = signed_in_with_code(trust, staff, device)
        page = client.get(self.url)
        assert page.status_code == 200
        assert "1 of 1" in page.content.decode()
        response = client.post(self.url, {"require_two_factor": "on"})
        assert response["Location"] == self.url
        assert SiteSecurityPolicy.objects.get(site=trust).require_two_factor
        event = AuditEvent.objects.get(action=AuditAction.SECURITY_POLICY_CHANGED)
        assert (event.site, event.actor, event.detail) == (
            trust,
            staff,
            {"require_two_factor": True},
        )
        client.post(self.url, {"require_two_factor": "on"})  # no change: no second event
        assert AuditEvent.objects.filter(action=AuditAction.SECURITY_POLICY_CHANGED).count() == 1
        client.post(self.url, {})
        assert not SiteSecurityPolicy.objects.get(site=trust).require_two_factor

    def test_requiring_it_needs_the_administrator_to_use_it(self, site_client, trust, staff):
        grant_permission(staff, trust, USER_DETAILS)
        response = site_client(trust, staff).post(self.url, {"require_two_factor": "on"})
        assert response.status_code == 400
        assert "Set up two-factor sign-in for your own account" in response.content.decode()
        assert not SiteSecurityPolicy.objects.filter(require_two_factor=True).exists()


def test_a_session_carrying_a_verified_device_counts_as_verified(trust, staff):
    """What the hop relies on: a device id in the session, for this user, is verification."""
    device, _ = give_two_factor(staff)
    client = SiteClient(trust)
    client.force_login(staff)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    response = client.get("/")
    assert response.status_code == 200
    assert session_is_verified(response.wsgi_request)
