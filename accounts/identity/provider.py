"""Signing in with the organisation's Microsoft or Google account (OpenID Connect).

A small authorization-code flow of our own (PKCE, nonce, signed ID token checked against
the provider's published keys) rather than mozilla-django-oidc or django-allauth: both keep
the flow's state in the session of the host that starts it and expect the callback on that
same host, while here every site is its own host and the deployment registers ONE redirect
URI, on the platform host (bare ``BASE_DOMAIN``).

1. The site's host starts (``provider_sign_in_start``): a ``ProviderSignIn`` row holds the
   state (only its hash), the nonce, the PKCE verifier and the site; the site's session
   remembers which row it started (the browser binding).
2. The provider calls back on the platform host (``provider_callback``): the state is spent
   on first use, the code exchanged, the ID token verified. Only a person with an active
   staff profile at the site, whose verified email lies in a domain the site accepts, gets
   a handover token (random, 60 seconds, single use, only its hash kept). Nobody is created.
3. The site's host redeems the token (``provider_handover_redeem``), in the browser that
   started, and the site's two-factor rule applies (``accounts.identity.views``).

Every refusal of a person (domain, no profile, unverified email) is a sign-in failure,
counted for the lock-out like a wrong password.
"""

import base64
import datetime
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from accounts.models import ProviderSignIn, StaffProfile, User
from accounts.two_factor.selectors import security_policy_for
from institutions.models import Institution

from .sign_in import SignInAttempt, normalise_email, sign_in_failure_record, sign_in_refusal

STATE_LIFETIME = datetime.timedelta(minutes=10)
HANDOVER_LIFETIME = datetime.timedelta(seconds=60)
# On the site's host: the ProviderSignIn this browser started.
STARTED_SESSION_KEY = "_matmis_provider_sign_in"
DISCOVERY_CACHE_SECONDS = 3600
HTTP_TIMEOUT_SECONDS = 10


class FailureReason:
    PROVIDER_REFUSED = "provider_account_refused"


class ProviderSignInRefused(Exception):
    """The sign-in cannot go on; ``str(exc)`` says why in plain words."""


START_AGAIN = "Go back to your site's sign-in page and start again."
INVALID = f"This sign-in link is not valid. {START_AGAIN}"
ALREADY_USED = f"This sign-in link was already used. {START_AGAIN}"
EXPIRED = f"This sign-in took too long. {START_AGAIN}"
NOT_THIS_BROWSER = f"This sign-in was started in another browser. {START_AGAIN}"
PROVIDER_FAILED = f"The identity provider did not sign you in. {START_AGAIN}"
UNVERIFIED = "Your account with the identity provider has no verified email address."


def _hash(value: str) -> str:
    return hashlib.sha256((value or "").encode()).hexdigest()


def _pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class Provider:
    key: str
    name: str
    client_id: str
    client_secret: str
    discovery_url: str


def provider_named(key: str) -> Provider | None:
    """The deployment's configuration of provider ``key``; None when it has no client id."""
    config = settings.SIGN_IN_PROVIDERS.get(key or "")
    if not config or not config.get("client_id"):
        return None
    return Provider(
        key=key,
        name=config["name"],
        client_id=config["client_id"],
        client_secret=config.get("client_secret", ""),
        discovery_url=config["discovery_url"],
    )


def site_sign_in_provider(*, site: Institution | None) -> Provider | None:
    """The provider ``site``'s staff may sign in with, if the site chose one and the
    deployment configures it."""
    if site is None:
        return None
    return provider_named(security_policy_for(site=site).sign_in_provider)


def accepted_domains(text: str) -> list[str]:
    """The domains of a policy's ``sign_in_domains``: one per line (commas work too),
    lower case, without a leading '@'."""
    parts = text.replace(",", "\n").split()
    return sorted({part.strip().lstrip("@").lower() for part in parts if part.strip()})


def callback_url() -> str:
    """The one redirect URI of the deployment, on the platform host."""
    port = f":{settings.SITE_PORT}" if settings.SITE_PORT else ""
    path = reverse("accounts:sign-in-provider-callback", urlconf=settings.PLATFORM_URLCONF)
    return f"{settings.SITE_SCHEME}://{settings.BASE_DOMAIN}{port}{path}"


def _discovery(provider: Provider) -> dict:
    key = f"oidc-discovery:{_hash(provider.discovery_url)}"
    document = cache.get(key)
    if document is None:
        response = requests.get(provider.discovery_url, timeout=HTTP_TIMEOUT_SECONDS)
        response.raise_for_status()
        document = response.json()
        cache.set(key, document, DISCOVERY_CACHE_SECONDS)
    return document


@transaction.atomic
def provider_sign_in_start(*, site: Institution) -> tuple[ProviderSignIn, str]:
    """Start a sign-in at ``site``: the row to remember in the site's session, and the
    provider's authorization address to send the browser to."""
    provider = site_sign_in_provider(site=site)
    if provider is None:
        raise ProviderSignInRefused(f"{site.name} does not offer signing in this way.")
    try:
        endpoint = _discovery(provider)["authorization_endpoint"]
    except (requests.RequestException, ValueError, KeyError) as error:
        raise ProviderSignInRefused(
            f"{provider.name} cannot be reached just now. Try again in a few minutes, or "
            "sign in with your email and password."
        ) from error
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    now = timezone.now()
    attempt = ProviderSignIn.objects.create(
        site=site,
        provider=provider.key,
        state_hash=_hash(state),
        nonce=nonce,
        code_verifier=verifier,
        created_at=now,
        expires_at=now + STATE_LIFETIME,
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": callback_url(),
            "scope": "openid email profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": _pkce_challenge(verifier),
            "code_challenge_method": "S256",
            "prompt": "select_account",
        }
    )
    return attempt, f"{endpoint}?{query}"


def _spend_state(state: str) -> ProviderSignIn:
    """Mark the state used, in its own committed transaction: a replayed callback finds
    it spent whatever became of the first."""
    with transaction.atomic():
        attempt = (
            ProviderSignIn.objects.select_for_update()
            .select_related("site")
            .filter(state_hash=_hash(state))
            .first()
        )
        if attempt is None:
            raise ProviderSignInRefused(INVALID)
        if attempt.called_back_at is not None:
            raise ProviderSignInRefused(ALREADY_USED)
        if attempt.expires_at <= timezone.now():
            raise ProviderSignInRefused(EXPIRED)
        attempt.called_back_at = timezone.now()
        attempt.save(update_fields=["called_back_at"])
    return attempt


def _verified_claims(*, provider: Provider, attempt: ProviderSignIn, code: str) -> dict:
    """Exchange ``code`` and return the ID token's claims, once its signature, issuer,
    audience, lifetime and nonce are right."""
    try:
        document = _discovery(provider)
        response = requests.post(
            document["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": callback_url(),
                "client_id": provider.client_id,
                "client_secret": provider.client_secret,
                "code_verifier": attempt.code_verifier,
            },
            headers={"Accept": "application/json"},
            timeout=HTTP_TIMEOUT_SECONDS,
        )
        if response.status_code != 200:
            raise ProviderSignInRefused(PROVIDER_FAILED)
        id_token = response.json()["id_token"]
        keys = requests.get(document["jwks_uri"], timeout=HTTP_TIMEOUT_SECONDS)
        keys.raise_for_status()
        token = jwt.decode(id_token, KeySet.import_key_set(keys.json()), algorithms=["RS256"])
        claims = token.claims
        # Microsoft's multi-tenant discovery names its issuer with a {tenantid} placeholder.
        issuer = document["issuer"].replace("{tenantid}", str(claims.get("tid", "")))
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": provider.client_id},
            exp={"essential": True},
            nonce={"essential": True, "value": attempt.nonce},
        ).validate(claims)
    except (requests.RequestException, ValueError, KeyError, TypeError, JoseError) as error:
        raise ProviderSignInRefused(PROVIDER_FAILED) from error
    return claims


def _refuse_person(*, attempt: ProviderSignIn, email: str, ip_address, message: str):
    sign_in_failure_record(
        email=email,
        actor=SignInAttempt(user=None, site=attempt.site, ip_address=ip_address),
        reason=FailureReason.PROVIDER_REFUSED,
    )
    raise ProviderSignInRefused(message)


@dataclass(frozen=True)
class Handover:
    attempt: ProviderSignIn
    token: str

    @property
    def url(self) -> str:
        path = reverse("accounts:sign-in-provider-finish", urlconf=settings.ROOT_URLCONF)
        return f"{self.attempt.site.url.removesuffix('/')}{path}?{urlencode({'token': self.token})}"


def provider_callback(
    *, state: str, code: str, error: str, ip_address: str | None
) -> tuple[ProviderSignIn, Handover | None, str | None]:
    """The provider's answer on the platform host. Returns (the sign-in, the handover to
    the site, None) or, once the state is known, (the sign-in, None, why it is refused).
    Raises ProviderSignInRefused when the state itself is not good (no site to name)."""
    attempt = _spend_state(state)
    try:
        return (
            attempt,
            _handover(attempt=attempt, code=code, error=error, ip_address=ip_address),
            None,
        )
    except ProviderSignInRefused as refusal:
        return attempt, None, str(refusal)


def _handover(*, attempt: ProviderSignIn, code: str, error: str, ip_address) -> Handover:
    provider = provider_named(attempt.provider)
    policy = security_policy_for(site=attempt.site)
    if provider is None or policy.sign_in_provider != attempt.provider:
        raise ProviderSignInRefused(
            f"{attempt.site.name} no longer offers signing in with this provider."
        )
    if error or not code:
        raise ProviderSignInRefused(PROVIDER_FAILED)
    claims = _verified_claims(provider=provider, attempt=attempt, code=code)
    email = normalise_email(claims.get("email"))
    if not email or claims.get("email_verified") is not True:
        _refuse_person(attempt=attempt, email=email, ip_address=ip_address, message=UNVERIFIED)
    lock = sign_in_refusal(email=email, ip_address=ip_address)
    if lock is not None:
        raise ProviderSignInRefused(lock.message)
    domain = email.rpartition("@")[2]
    if domain not in accepted_domains(policy.sign_in_domains):
        _refuse_person(
            attempt=attempt,
            email=email,
            ip_address=ip_address,
            message=(
                f"{attempt.site.name} does not accept {provider.name} accounts from "
                f"{domain}. Sign in with the account your organisation gave you, or with "
                "your email and password."
            ),
        )
    user = (
        User.objects.filter(email__iexact=email, is_active=True)
        .filter(
            pk__in=StaffProfile.objects.filter(site=attempt.site, is_active=True).values("user")
        )
        .first()
    )
    if user is None:
        _refuse_person(
            attempt=attempt,
            email=email,
            ip_address=ip_address,
            message=(
                f"There is no active staff account for {email} at {attempt.site.name}. Ask "
                "the site's administrator to add you; signing in does not create accounts."
            ),
        )
    token = secrets.token_urlsafe(32)
    amr = claims.get("amr") or []
    attempt.user = user
    attempt.provider_mfa = isinstance(amr, list) and "mfa" in amr
    attempt.handover_hash = _hash(token)
    attempt.handover_expires_at = timezone.now() + HANDOVER_LIFETIME
    attempt.save(update_fields=["user", "provider_mfa", "handover_hash", "handover_expires_at"])
    return Handover(attempt=attempt, token=token)


def provider_handover_redeem(
    *, token: str, site: Institution, started_id: int | None
) -> ProviderSignIn:
    """Spend the handover ``token`` at ``site`` (first use spends it, whatever follows) and
    return the sign-in, with the person, when it was started in this browser."""
    with transaction.atomic():
        attempt = (
            ProviderSignIn.objects.select_for_update()
            .select_related("user")
            .filter(handover_hash=_hash(token), user__isnull=False)
            .exclude(handover_hash="")
            .first()
        )
        if attempt is None or attempt.site_id != site.pk:
            raise ProviderSignInRefused(INVALID)
        if attempt.handover_used_at is not None:
            raise ProviderSignInRefused(ALREADY_USED)
        if attempt.handover_expires_at is None or attempt.handover_expires_at <= timezone.now():
            raise ProviderSignInRefused(EXPIRED)
        attempt.handover_used_at = timezone.now()
        attempt.save(update_fields=["handover_used_at"])
    if started_id != attempt.pk:
        raise ProviderSignInRefused(NOT_THIS_BROWSER)
    user = attempt.user
    still_staff = StaffProfile.objects.filter(site=site, user=user, is_active=True).exists()
    if not user.is_active or not still_staff:
        raise ProviderSignInRefused(f"There is no active staff account for you at {site.name}.")
    return attempt


# Sign-ins older than this are of no further use: their state and handover have long expired.
SIGN_IN_RETENTION = datetime.timedelta(days=1)


def provider_sign_ins_prune(*, older_than: datetime.timedelta = SIGN_IN_RETENTION) -> int:
    """Delete provider sign-ins started more than ``older_than`` ago; returns how many went.
    For the housekeeping schedule, beside ``sign_in_failures_prune``."""
    deleted, _ = ProviderSignIn.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted
