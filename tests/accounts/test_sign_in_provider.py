"""Sign-in with Microsoft or Google (accounts.identity.provider), end to end against a real
OpenID Connect provider running locally (tests/accounts/oidc_provider.py): the site's host
starts, the provider auto-approves, the platform host takes the callback, the site's host
redeems the handover."""

import datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.identity.provider import callback_url, provider_sign_ins_prune
from accounts.models import (
    AuditAction,
    AuditEvent,
    ProviderSignIn,
    SignInFailure,
    SiteSecurityPolicy,
    User,
)
from accounts.two_factor.selectors import session_is_verified
from tests.accounts.factories import person, staff_admin
from tests.accounts.oidc_provider import CLIENT_ID, CLIENT_SECRET, Account, Provider
from tests.conftest import SiteClient
from tests.factories import StaffProfileFactory, TrustFactory

DOMAIN = "oakridge.example"


@pytest.fixture(scope="session")
def identity_provider():
    provider = Provider().start()
    yield provider
    provider.stop()


@pytest.fixture
def provider(identity_provider, settings):
    settings.SIGN_IN_PROVIDERS = {
        "microsoft": {
            "name": "Microsoft",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "discovery_url": identity_provider.discovery_url,
        },
        "google": {"name": "Google", "client_id": "", "client_secret": "", "discovery_url": ""},
    }
    identity_provider.redirect_uris = {callback_url()}
    identity_provider.account = None
    identity_provider.codes.clear()
    return identity_provider


def enable(site, *, domains=DOMAIN, accept_mfa=False, require_two_factor=False):
    SiteSecurityPolicy.objects.update_or_create(
        site=site,
        defaults={
            "sign_in_provider": "microsoft",
            "sign_in_domains": domains,
            "accept_provider_mfa": accept_mfa,
            "require_two_factor": require_two_factor,
        },
    )


@pytest.fixture
def trust_site(db):
    site = TrustFactory(name="Oak Ridge Trust", slug="oak-ridge-trust")
    enable(site)
    return site


@pytest.fixture
def teacher(trust_site):
    return person(trust_site, email=f"ada@{DOMAIN}").user


def start(client) -> str:
    """The site's "Sign in with Microsoft" link: the provider's authorization address."""
    response = client.get("/accounts/sign-in/provider/")
    assert response.status_code == 302, response.content
    return response["Location"]


def at_provider(address: str) -> str:
    """The browser at the provider, which approves at once: where it sends the browser."""
    response = requests.get(address, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def on_platform(address: str, client: Client | None = None):
    """The callback on the platform host (the browser has no session there)."""
    parts = urlsplit(address)
    assert parts.hostname == settings.BASE_DOMAIN
    client = client or Client(HTTP_HOST=settings.BASE_DOMAIN)
    return client.get(f"{parts.path}?{parts.query}")


def on_site(client, address: str):
    parts = urlsplit(address)
    assert parts.hostname == client.site.slug + "." + settings.BASE_DOMAIN
    return client.get(f"{parts.path}?{parts.query}")


def sign_in_through_provider(client, provider, account):
    provider.account = account
    callback = on_platform(at_provider(start(client)))
    assert callback.status_code == 302, callback.content.decode()
    return callback, on_site(client, callback["Location"])


def signed_in_as(client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


# --- The flow ----------------------------------------------------------------------------


def test_sign_in_end_to_end_with_one_redirect_uri_and_a_single_use_handover(
    provider, trust_site, teacher
):
    client = SiteClient(trust_site)
    authorize = start(client)
    query = parse_qs(urlsplit(authorize).query)
    # The one redirect URI, on the platform host; state, nonce and PKCE travel.
    assert query["redirect_uri"] == [f"http://{settings.BASE_DOMAIN}/sign-in/provider/callback/"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"] and query["nonce"] and query["code_challenge"]
    provider.account = Account(email=f"ADA@{DOMAIN}")

    callback = on_platform(at_provider(authorize))
    handover = urlsplit(callback["Location"])
    assert callback.status_code == 302
    assert handover.hostname == f"oak-ridge-trust.{settings.BASE_DOMAIN}"
    assert handover.path == "/accounts/sign-in/provider/finish/"
    attempt = ProviderSignIn.objects.get()
    token = parse_qs(handover.query)["token"][0]
    assert token not in attempt.handover_hash and attempt.user == teacher

    finish = on_site(client, callback["Location"])
    assert finish.status_code == 302 and finish["Location"] == "/"
    assert signed_in_as(client) == teacher.pk
    assert client.get("/").status_code == 200
    event = AuditEvent.objects.get(action=AuditAction.SIGN_IN)
    assert event.actor_id == teacher.pk and event.detail == {"second_factor": "none"}
    assert not SignInFailure.objects.exists()

    # The handover works once.
    again = SiteClient(trust_site)
    session = again.session
    session["_matmis_provider_sign_in"] = attempt.pk
    session.save()
    refused = on_site(again, callback["Location"])
    assert refused.status_code == 403
    assert "already used" in refused.content.decode()
    assert signed_in_as(again) is None


def test_the_sign_in_page_offers_the_provider_only_where_the_site_enabled_it(provider, trust_site):
    assert (
        "Sign in with Microsoft"
        in SiteClient(trust_site).get("/accounts/sign-in/").content.decode()
    )
    other = TrustFactory(name="Elm Trust", slug="elm-trust")
    page = SiteClient(other).get("/accounts/sign-in/").content.decode()
    assert "Sign in with" not in page
    refused = SiteClient(other).get("/accounts/sign-in/provider/")
    assert refused.status_code == 403
    assert "does not offer signing in this way" in refused.content.decode()
    assert not ProviderSignIn.objects.exists()


def test_an_email_outside_the_accepted_domains_is_refused_and_counted(provider, trust_site):
    person(trust_site, email="ada@gmail.example")
    users = User.objects.count()
    client = SiteClient(trust_site)
    provider.account = Account(email="ada@gmail.example")
    callback = on_platform(at_provider(start(client)))
    assert callback.status_code == 403
    page = callback.content.decode()
    assert "Oak Ridge Trust does not accept Microsoft accounts from gmail.example" in page
    assert f"http://oak-ridge-trust.{settings.BASE_DOMAIN}/accounts/sign-in/" in page
    assert SignInFailure.objects.get().email == "ada@gmail.example"
    assert AuditEvent.objects.get(action=AuditAction.SIGN_IN_FAILED).site == trust_site
    assert User.objects.count() == users
    assert ProviderSignIn.objects.get().handover_hash == ""


def test_an_unknown_person_is_refused_and_nothing_is_created(provider, trust_site):
    users = User.objects.count()
    client = SiteClient(trust_site)
    provider.account = Account(email=f"stranger@{DOMAIN}")
    callback = on_platform(at_provider(start(client)))
    assert callback.status_code == 403
    assert f"no active staff account for stranger@{DOMAIN}" in callback.content.decode()
    assert User.objects.count() == users
    assert SignInFailure.objects.filter(email=f"stranger@{DOMAIN}").count() == 1


def test_a_person_without_a_profile_at_this_site_is_refused(provider, trust_site):
    elsewhere = TrustFactory(name="Elm Trust", slug="elm-trust")
    person(elsewhere, email=f"bo@{DOMAIN}")
    provider.account = Account(email=f"bo@{DOMAIN}")
    callback = on_platform(at_provider(start(SiteClient(trust_site))))
    assert callback.status_code == 403
    assert "no active staff account" in callback.content.decode()


def test_an_unverified_email_is_refused(provider, trust_site, teacher):
    provider.account = Account(email=teacher.email, email_verified=False)
    callback = on_platform(at_provider(start(SiteClient(trust_site))))
    assert callback.status_code == 403
    assert "no verified email address" in callback.content.decode()
    assert ProviderSignIn.objects.get().user is None


def test_a_locked_email_is_refused_before_anything_else(provider, trust_site, teacher):
    for _ in range(5):
        SignInFailure.objects.create(email=teacher.email, site=trust_site)
    provider.account = Account(email=teacher.email)
    callback = on_platform(at_provider(start(SiteClient(trust_site))))
    assert callback.status_code == 403
    assert "too many failed attempts" in callback.content.decode()
    assert ProviderSignIn.objects.get().user is None


def test_a_replayed_callback_is_refused(provider, trust_site, teacher):
    client = SiteClient(trust_site)
    provider.account = Account(email=teacher.email)
    address = at_provider(start(client))
    assert on_platform(address).status_code == 302
    replay = on_platform(address)
    assert replay.status_code == 403
    assert "already used" in replay.content.decode()
    assert ProviderSignIn.objects.filter(handover_hash__gt="").count() == 1


def test_a_code_reused_with_a_fresh_state_is_refused_by_the_provider(provider, trust_site, teacher):
    client = SiteClient(trust_site)
    provider.account = Account(email=teacher.email)
    first = parse_qs(urlsplit(at_provider(start(client))).query)
    assert (
        on_platform(
            callback_url() + "?" + urlencode({"code": first["code"][0], "state": first["state"][0]})
        ).status_code
        == 302
    )
    second_state = parse_qs(urlsplit(start(client)).query)["state"][0]
    reused = on_platform(
        callback_url() + "?" + urlencode({"code": first["code"][0], "state": second_state})
    )
    assert reused.status_code == 403
    assert "did not sign you in" in reused.content.decode()


def test_a_state_that_was_never_issued_is_refused(provider, trust_site, teacher):
    client = SiteClient(trust_site)
    provider.account = Account(email=teacher.email)
    address = at_provider(start(client))
    code = parse_qs(urlsplit(address).query)["code"][0]
    forged = on_platform(callback_url() + "?" + urlencode({"code": code, "state": "forged"}))
    assert forged.status_code == 403
    assert "not valid" in forged.content.decode()
    assert ProviderSignIn.objects.get().called_back_at is None


def test_a_handover_token_for_another_site_is_refused(provider, trust_site, teacher):
    other = TrustFactory(name="Elm Trust", slug="elm-trust")
    StaffProfileFactory(site=other, user=teacher)  # works at both: still only at the first
    enable(other)
    client = SiteClient(trust_site)
    provider.account = Account(email=teacher.email)
    callback = on_platform(at_provider(start(client)))
    token = parse_qs(urlsplit(callback["Location"]).query)["token"][0]
    other_client = SiteClient(other)
    refused = other_client.get("/accounts/sign-in/provider/finish/?" + urlencode({"token": token}))
    assert refused.status_code == 403
    assert "not valid" in refused.content.decode()
    assert signed_in_as(other_client) is None


def test_an_expired_handover_token_is_refused(provider, trust_site, teacher):
    client = SiteClient(trust_site)
    provider.account = Account(email=teacher.email)
    callback = on_platform(at_provider(start(client)))
    ProviderSignIn.objects.update(
        handover_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    refused = on_site(client, callback["Location"])
    assert refused.status_code == 403
    assert "took too long" in refused.content.decode()
    assert signed_in_as(client) is None


def test_a_handover_in_another_browser_is_refused(provider, trust_site, teacher):
    provider.account = Account(email=teacher.email)
    callback = on_platform(at_provider(start(SiteClient(trust_site))))
    elsewhere = SiteClient(trust_site)
    refused = on_site(elsewhere, callback["Location"])
    assert refused.status_code == 403
    assert "started in another browser" in refused.content.decode()
    assert signed_in_as(elsewhere) is None


# --- The site's two-factor rule ----------------------------------------------------------


def test_the_provider_mfa_claim_stands_for_two_factor_where_the_site_accepts_it(
    provider, trust_site, teacher
):
    TOTPDevice.objects.create(user=teacher, name="Authenticator app", confirmed=True)
    enable(trust_site, accept_mfa=True, require_two_factor=True)
    client = SiteClient(trust_site)
    _, finish = sign_in_through_provider(
        client, provider, Account(email=teacher.email, amr=["pwd", "mfa"])
    )
    assert finish["Location"] == "/"
    assert signed_in_as(client) == teacher.pk
    assert client.get("/").status_code == 200  # the two-factor gate lets the session through
    event = AuditEvent.objects.get(action=AuditAction.SIGN_IN)
    assert event.detail == {"second_factor": "identity_provider_mfa"}


def test_without_the_claim_the_person_goes_on_to_the_code_step(provider, trust_site, teacher):
    TOTPDevice.objects.create(user=teacher, name="Authenticator app", confirmed=True)
    enable(trust_site, accept_mfa=True)
    client = SiteClient(trust_site)
    _, finish = sign_in_through_provider(client, provider, Account(email=teacher.email))
    assert finish["Location"] == "/accounts/sign-in/code/"
    assert signed_in_as(client) is None


def test_a_site_that_does_not_accept_the_claim_asks_for_its_own_code(provider, trust_site, teacher):
    TOTPDevice.objects.create(user=teacher, name="Authenticator app", confirmed=True)
    enable(trust_site, accept_mfa=False)
    client = SiteClient(trust_site)
    _, finish = sign_in_through_provider(
        client, provider, Account(email=teacher.email, amr=["pwd", "mfa"])
    )
    assert finish["Location"] == "/accounts/sign-in/code/"
    assert signed_in_as(client) is None
    assert client.get("/accounts/sign-in/code/").status_code == 200


def test_a_site_requiring_two_factor_sends_someone_without_it_to_set_it_up(
    provider, trust_site, teacher
):
    enable(trust_site, require_two_factor=True)
    client = SiteClient(trust_site)
    _, finish = sign_in_through_provider(
        client, provider, Account(email=teacher.email, amr=["pwd", "mfa"])
    )
    assert finish["Location"] == "/accounts/two-factor/"
    assert signed_in_as(client) == teacher.pk
    request = type("R", (), {"user": teacher, "session": client.session})()
    teacher.is_verified = lambda: False
    assert not session_is_verified(request)


# --- The site's settings -------------------------------------------------------------------


def test_an_administrator_enables_the_provider_and_it_is_audited(provider, db):
    site = TrustFactory(name="Ash Trust", slug="ash-trust")
    admin = staff_admin(site).user
    client = SiteClient(site)
    client.force_login(admin)
    page = client.get("/accounts/security/sign-in-provider/")
    assert page.status_code == 200
    assert 'value="microsoft"' in page.content.decode()
    assert 'value="google"' not in page.content.decode()  # not configured here
    response = client.post(
        "/accounts/security/sign-in-provider/",
        {
            "provider": "microsoft",
            "domains": "@Ash.example\nash-staff.example",
            "accept_provider_mfa": "on",
        },
    )
    assert response.status_code == 302
    policy = SiteSecurityPolicy.objects.get(site=site)
    assert policy.sign_in_provider == "microsoft"
    assert policy.sign_in_domains == "ash-staff.example\nash.example"
    assert policy.accept_provider_mfa
    event = AuditEvent.objects.get(action=AuditAction.SECURITY_POLICY_CHANGED)
    assert event.detail["sign_in_domains"] == ["ash-staff.example", "ash.example"]


def test_a_saved_provider_the_deployment_does_not_offer_is_named_with_a_warning(provider, db):
    site = TrustFactory(name="Ash Trust", slug="ash-trust")
    SiteSecurityPolicy.objects.create(
        site=site, sign_in_provider="google", sign_in_domains="ash.example"
    )
    client = SiteClient(site)
    client.force_login(staff_admin(site).user)
    page = client.get("/accounts/security/sign-in-provider/").content.decode()
    assert "Ash Trust chose sign-in with Google, which this deployment does not offer" in page
    SiteSecurityPolicy.objects.filter(site=site).update(sign_in_provider="microsoft")
    page = client.get("/accounts/security/sign-in-provider/").content.decode()
    assert "which this deployment does not offer" not in page  # Microsoft is configured here


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"provider": "microsoft", "domains": ""}, "Enter at least one email domain"),
        ({"provider": "microsoft", "domains": "not a domain"}, "is not an email domain"),
        ({"provider": "google", "domains": "ash.example"}, "Choose one of the identity providers"),
    ],
)
def test_bad_settings_are_refused_with_a_message_and_change_nothing(provider, db, form, message):
    site = TrustFactory(name="Ash Trust", slug="ash-trust")
    client = SiteClient(site)
    client.force_login(staff_admin(site).user)
    response = client.post("/accounts/security/sign-in-provider/", form)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not SiteSecurityPolicy.objects.filter(site=site, sign_in_provider="microsoft").exists()
    assert not AuditEvent.objects.filter(action=AuditAction.SECURITY_POLICY_CHANGED).exists()


def test_only_user_details_administrators_change_the_settings(provider, db):
    site = TrustFactory(name="Ash Trust", slug="ash-trust")
    client = SiteClient(site)
    client.force_login(person(site).user)
    response = client.post(
        "/accounts/security/sign-in-provider/", {"provider": "microsoft", "domains": "a.example"}
    )
    assert response.status_code == 403
    assert not SiteSecurityPolicy.objects.filter(site=site).exists()


# --- The same over REST ----------------------------------------------------------------------


def test_the_api_reads_and_replaces_the_settings_with_the_pages_checks(provider, db):
    site = TrustFactory(name="Ash Trust", slug="ash-trust")
    client = SiteClient(site)
    client.force_login(staff_admin(site).user)
    url = "/api/v1/security/sign-in-provider/"
    assert client.get(url).json() == {"provider": "", "domains": [], "accept_provider_mfa": False}
    bad = client.put(
        url,
        {"provider": "microsoft", "domains": ["not a domain"], "accept_provider_mfa": True},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert "is not an email domain" in str(bad.json())
    assert not SiteSecurityPolicy.objects.filter(site=site).exists()
    good = client.put(
        url,
        {"provider": "microsoft", "domains": ["ash.example"], "accept_provider_mfa": True},
        content_type="application/json",
    )
    assert good.status_code == 200
    assert good.json() == {
        "provider": "microsoft",
        "domains": ["ash.example"],
        "accept_provider_mfa": True,
    }
    assert AuditEvent.objects.filter(action=AuditAction.SECURITY_POLICY_CHANGED).count() == 1
    viewer = SiteClient(site)
    viewer.force_login(person(site).user)
    assert viewer.get(url).status_code == 403


def test_old_provider_sign_ins_are_pruned(provider, trust_site, teacher):
    client = SiteClient(trust_site)
    start(client)
    start(client)
    ProviderSignIn.objects.filter(pk=ProviderSignIn.objects.order_by("pk").first().pk).update(
        created_at=timezone.now() - datetime.timedelta(days=1, minutes=1)
    )
    assert provider_sign_ins_prune() == 1
    assert ProviderSignIn.objects.count() == 1
