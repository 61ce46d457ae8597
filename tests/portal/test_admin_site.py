"""The support admin (``/support/`` on the bare base domain) has no sign-in of its own: its
door is the platform's sign-in, with lock-out and two-factor sign-in, and the site check,
which requires a session verified with a device of every platform staff member."""

import pytest
from django.contrib import admin
from django.test import override_settings
from django_otp.admin import OTPAdminSite

from accounts.identity.sign_in import ACCOUNT_FAILURE_LIMIT, PENDING_SIGN_IN_KEY
from accounts.models import AuditAction, AuditEvent, SignInFailure
from accounts.two_factor.enrolment import ENROLMENT_KEY_SESSION
from accounts.two_factor.selectors import session_is_verified
from portal.admin_site import SupportAdminSite
from tests.accounts.test_two_factor import (
    code_for_key,
    current_code,
    give_two_factor,
    is_signed_in,
)
from tests.conftest import SiteClient, sign_in_verified
from tests.factories import TEST_PASSWORD, StaffProfileFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def support():
    """A platform superuser, as the demo and ``createsuperuser`` make them."""
    return UserFactory(email="support@matmis.test", is_staff=True, is_superuser=True)


def credentials(user, password=TEST_PASSWORD) -> dict:
    return {"username": user.email, "password": password}


def test_every_registered_model_is_on_the_support_admin():
    assert isinstance(admin.site, SupportAdminSite)
    assert isinstance(admin.site, OTPAdminSite)
    assert admin.site._registry  # the apps' models went to this site


# --- The login page signs nobody in ----------------------------------------------------------


@pytest.mark.parametrize("next_url", ["", "/support/"])
def test_the_login_page_checks_no_password_and_sends_people_to_the_sign_in(support, next_url):
    """Before: a superuser session from the password alone (and a 500 without ``next``)."""
    client = SiteClient()
    query = f"?next={next_url}" if next_url else ""
    response = client.post(f"/support/login/{query}", credentials(support))
    assert response.status_code == 302
    assert response["Location"] == "/sign-in/?next=/support/"
    assert not is_signed_in(client)
    assert client.get("/support/").status_code == 302
    assert not AuditEvent.objects.filter(action=AuditAction.SIGN_IN).exists()


def test_a_locked_account_stays_out_of_the_admin(support):
    """Before: locked at /sign-in/, yet in through /support/login/."""
    client = SiteClient()
    for _ in range(ACCOUNT_FAILURE_LIMIT):
        client.post("/sign-in/", credentials(support, "not-the-password"))
    locked = client.post("/sign-in/?next=/support/", credentials(support))
    assert locked.status_code == 429
    client.post("/support/login/?next=/support/", credentials(support))
    assert not is_signed_in(client)
    assert client.get("/support/")["Location"].startswith("/support/login/")


def test_wrong_passwords_for_the_admin_are_counted_at_the_one_sign_in(support):
    client = SiteClient()
    door = client.get("/support/", follow=True)
    assert door.redirect_chain[-1][0] == "/sign-in/?next=/support/"
    client.post("/sign-in/?next=/support/", credentials(support, "not-the-password"))
    assert SignInFailure.objects.filter(email=support.email).count() == 1


def test_the_password_alone_does_not_open_it_for_a_device_holder(support):
    """Before: an account with a confirmed authenticator got in with its password."""
    device, _ = give_two_factor(support)
    client = SiteClient()
    client.post("/support/login/?next=/support/", credentials(support))
    assert not is_signed_in(client)

    response = client.post("/sign-in/?next=/support/", credentials(support))
    assert response["Location"] == "/sign-in/code/"
    assert not is_signed_in(client)
    assert client.get("/support/").status_code == 302
    response = client.post("/sign-in/code/", {"code": current_code(device)})
    assert response["Location"] == "/support/"
    page = client.get("/support/")
    assert page.status_code == 200
    assert session_is_verified(page.wsgi_request)
    assert "matmis platform support" in page.content.decode()


def test_the_code_step_without_next_lands_on_the_register_imports(support):
    """Before: a 500 (``Reverse for 'home'``), the platform having no home page."""
    device, _ = give_two_factor(support)
    client = SiteClient()
    client.post("/sign-in/", credentials(support))
    response = client.post("/sign-in/code/", {"code": current_code(device)})
    assert response["Location"] == "/imports/"
    assert PENDING_SIGN_IN_KEY not in client.session


# --- Only a verified session of platform staff gets in ---------------------------------------


def test_a_session_that_never_gave_a_code_is_signed_out_and_sent_to_sign_in(support):
    give_two_factor(support)
    client = SiteClient()
    client.force_login(support)  # the password step of an older sign-in, say
    response = client.get("/support/", follow=True)
    assert response.redirect_chain[-1][0] == "/sign-in/?next=/support/"
    assert not is_signed_in(client)
    for url in ("/support/accounts/user/", "/imports/"):
        assert client.get(url).status_code == 302


def test_platform_staff_without_two_factor_are_sent_to_set_it_up(support):
    client = SiteClient()
    client.force_login(support)
    for url in ("/support/", "/support/institutions/institution/", "/imports/"):
        response = client.get(url, follow=True)
        assert response.redirect_chain[-1][0] == "/two-factor/", url
        assert "Platform support requires two-factor sign-in" in response.content.decode()
    post = client.post("/support/accounts/user/add/", {"email": "x@example.test"})
    assert post.status_code == 302
    assert not type(support).objects.filter(email="x@example.test").exists()


def test_signing_in_without_two_factor_leads_to_setting_it_up_then_the_admin(support):
    client = SiteClient()
    response = client.post("/sign-in/?next=/support/", credentials(support))
    assert response["Location"] == "/two-factor/"
    assert client.get("/two-factor/").status_code == 200
    key = client.session[ENROLMENT_KEY_SESSION]
    code = code_for_key(key)  # what an app given the offered key shows
    response = client.post("/two-factor/", {"code": code}, follow=True)
    assert response.redirect_chain[-1][0] == "/two-factor/backup-codes/"
    assert 'href="/support/"' in response.content.decode()  # "I have saved my codes"
    assert client.get("/support/").status_code == 200


def test_people_who_are_not_platform_staff_get_not_found(trust):
    head = StaffProfileFactory(site=trust).user
    client = sign_in_verified(SiteClient(), head)
    response = client.get("/support/", follow=True)
    assert response.status_code == 404
    assert client.get("/support/login/").status_code == 404


def test_a_verified_platform_staff_member_uses_the_admin(support):
    client = sign_in_verified(SiteClient(), support)
    assert client.get("/support/").status_code == 200
    assert client.get("/support/institutions/institution/").status_code == 200
    response = client.get("/support/login/?next=/support/accounts/user/")
    assert response["Location"] == "/support/accounts/user/"
    assert client.get("/support/login/?next=https://evil.test/")["Location"] == "/support/"


def test_signing_out_of_the_admin_is_the_platform_sign_out(support):
    client = sign_in_verified(SiteClient(), support)
    response = client.post("/support/logout/")
    assert response["Location"] == "/sign-in/"
    assert not is_signed_in(client)
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_OUT, actor=support).exists()


def test_platform_staff_cannot_turn_two_factor_off(support):
    device, _ = give_two_factor(support)
    client = sign_in_verified(SiteClient(), support)
    response = client.post("/two-factor/turn-off/", {"code": current_code(device)})
    assert response.status_code == 400
    assert "Platform support requires it for all staff" in response.content.decode()
    assert type(device).objects.filter(pk=device.pk).exists()


@override_settings(PRODUCTION=True)
def test_the_login_page_signs_nobody_in_in_production_too(support):
    give_two_factor(support)
    client = SiteClient()
    client.post("/support/login/?next=/support/", credentials(support))
    assert not is_signed_in(client)
