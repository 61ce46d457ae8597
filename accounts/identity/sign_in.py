"""Signing in: throttling of failures, the pending state between password and code, the
audit trail of sign-ins, and who may be sent a password reset link.

Throttling counts ``SignInFailure`` rows in a window, per account (the email typed, whether
or not anyone has it) and per address. A lock is refused before the password is even
checked, so the right password does not get through it, and the message is the same
whether or not the email belongs to anyone. A successful sign-in erases nothing: failures
simply age out of the window.
"""

import datetime
import hashlib
import math
from dataclasses import dataclass

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts import audit
from accounts.audit import Actor
from accounts.models import AuditAction, SignInFailure, User
from accounts.permissions import may_access_site
from institutions.models import Institution

# --- Throttling: every limit in one place ---------------------------------------------
# This many failures for one email address, each within WINDOW of the latest, lock that
# address for LOCKOUT after the latest failure.
ACCOUNT_FAILURE_LIMIT = 5
ACCOUNT_FAILURE_WINDOW = datetime.timedelta(minutes=15)
ACCOUNT_LOCKOUT = datetime.timedelta(minutes=15)
# The same for everything tried from one network address.
ADDRESS_FAILURE_LIMIT = 20
ADDRESS_FAILURE_WINDOW = datetime.timedelta(minutes=15)
ADDRESS_LOCKOUT = datetime.timedelta(minutes=15)
# Failures older than this are of no further use (see prune_sign_in_failures).
FAILURE_RETENTION = datetime.timedelta(days=1)

# Password reset: at most this many requests for one email address (whether or not anyone
# has it), and from one network address, in each window. Beyond them no email is sent, and
# the page says exactly what it says otherwise (see password_reset_allowed).
PASSWORD_RESET_ACCOUNT_LIMIT = 3
PASSWORD_RESET_ADDRESS_LIMIT = 10
PASSWORD_RESET_WINDOW = datetime.timedelta(hours=1)

# Between a right password and a right code: how long the person has to type the code.
PENDING_SIGN_IN_LIFETIME = datetime.timedelta(minutes=5)
PENDING_SIGN_IN_KEY = "_matmis_pending_sign_in"
# A signing salt, not a module path: changing it would void the sign-ins under way.
_PENDING_SALT = "accounts.sign_in.pending"


class FailureReason:
    """Why a sign-in attempt failed, as recorded in the audit event's detail.

    A wrong password and an address with no profile at this site are one reason, so the
    audit trail reveals no more about other sites than the sign-in form does.
    """

    CREDENTIALS = "credentials"
    WRONG_CODE = "wrong_code"


class SecondFactor:
    """How a sign-in was completed, as recorded in the audit event's detail."""

    NONE = "none"
    AUTHENTICATOR = "authenticator_app"
    BACKUP_CODE = "backup_code"
    PROVIDER_MFA = "identity_provider_mfa"  # accepted by the site (accounts.identity.provider)


def normalise_email(email: str | None) -> str:
    """The key failures are counted under: what was typed, trimmed and lower-cased."""
    return (email or "").strip().lower()[:254]


@dataclass(frozen=True)
class SignInAttempt(Actor):
    """Someone who is not signed in. The audit trail names them by the email they typed
    (the event's target), never as the system."""

    @property
    def email(self) -> str:
        return ""


def _locked_until(
    failures: list[datetime.datetime],
    *,
    limit: int,
    window: datetime.timedelta,
    lockout: datetime.timedelta,
) -> datetime.datetime | None:
    """``failures`` newest first. Locked when the newest ``limit`` lie within ``window``."""
    if len(failures) < limit or failures[0] - failures[limit - 1] > window:
        return None
    return failures[0] + lockout


def _recent_failures(
    queryset: QuerySet[SignInFailure],
    *,
    now: datetime.datetime,
    limit: int,
    window: datetime.timedelta,
    lockout: datetime.timedelta,
) -> list[datetime.datetime]:
    return list(
        queryset.filter(at__gt=now - window - lockout)
        .order_by("-at")
        .values_list("at", flat=True)[:limit]
    )


@dataclass(frozen=True)
class SignInRefusal:
    """Sign-in is paused for this email address or this network address."""

    until: datetime.datetime
    for_address: bool

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil((self.until - timezone.now()).total_seconds() / 60))
        wait = "1 minute" if minutes == 1 else f"{minutes} minutes"
        if self.for_address:
            return (
                "There have been too many failed attempts to sign in from your network, so "
                f"signing in from it is paused for your security. Try again in {wait}."
            )
        return (
            "There have been too many failed attempts to sign in with this email address, so "
            f"signing in with it is paused for your security. Try again in {wait}."
        )


def sign_in_refusal(
    *, email: str, ip_address: str | None, now: datetime.datetime | None = None
) -> SignInRefusal | None:
    """Whether sign-in with ``email`` from ``ip_address`` is paused, and until when.

    Depends only on recorded failures, never on whether the email belongs to anyone.
    """
    now = now or timezone.now()
    email = normalise_email(email)
    rules = []
    if ip_address:
        rules.append(
            (
                SignInFailure.objects.filter(ip_address=ip_address),
                (ADDRESS_FAILURE_LIMIT, ADDRESS_FAILURE_WINDOW, ADDRESS_LOCKOUT),
                True,
            )
        )
    if email:
        rules.append(
            (
                SignInFailure.objects.filter(email=email),
                (ACCOUNT_FAILURE_LIMIT, ACCOUNT_FAILURE_WINDOW, ACCOUNT_LOCKOUT),
                False,
            )
        )
    locks = []
    for failures, (limit, window, lockout), for_address in rules:
        recent = _recent_failures(failures, now=now, limit=limit, window=window, lockout=lockout)
        until = _locked_until(recent, limit=limit, window=window, lockout=lockout)
        if until is not None and until > now:
            locks.append(SignInRefusal(until=until, for_address=for_address))
    return max(locks, key=lambda lock: lock.until) if locks else None


@transaction.atomic
def sign_in_failure_record(*, email: str, actor: Actor, reason: str) -> SignInFailure:
    """Count a failed attempt (wrong password, unknown address, wrong code) and audit it at
    the site where it happened."""
    email = normalise_email(email)
    failure = SignInFailure.objects.create(
        email=email, ip_address=actor.ip_address, site=actor.site
    )
    audit.record(
        actor=actor, action=AuditAction.SIGN_IN_FAILED, target=email, detail={"reason": reason}
    )
    return failure


def sign_in_record(*, actor: Actor, second_factor: str) -> None:
    """Audit a completed sign-in (``actor.user`` is the person now signed in)."""
    audit.record(actor=actor, action=AuditAction.SIGN_IN, detail={"second_factor": second_factor})


def sign_out_record(*, actor: Actor) -> None:
    audit.record(actor=actor, action=AuditAction.SIGN_OUT)


def sign_in_failures_prune(*, older_than: datetime.timedelta = FAILURE_RETENTION) -> int:
    """Delete failures older than ``older_than``; returns how many went."""
    deleted, _ = SignInFailure.objects.filter(at__lt=timezone.now() - older_than).delete()
    return deleted


# --- Between the password and the code ---------------------------------------------------


@dataclass(frozen=True)
class PendingSignIn:
    """A person who gave the right password here and still owes a second factor."""

    user: User
    next_url: str


def _site_id(request: HttpRequest) -> int | None:
    site = getattr(request, "site", None)
    return site.pk if site is not None else None


def pending_sign_in_start(request: HttpRequest, *, user: User, next_url: str) -> None:
    """Remember, for ``PENDING_SIGN_IN_LIFETIME``, that ``user`` passed the password step at
    this site. Nobody is signed in by this: ``auth.login`` waits for the code."""
    request.session.cycle_key()
    request.session[PENDING_SIGN_IN_KEY] = signing.dumps(
        {"user": user.pk, "site": _site_id(request), "next": next_url}, salt=_PENDING_SALT
    )


def pending_sign_in_clear(request: HttpRequest) -> None:
    request.session.pop(PENDING_SIGN_IN_KEY, None)


def pending_sign_in_get(request: HttpRequest) -> PendingSignIn | None:
    """The pending sign-in of this session, if it is still young, made at this site, and
    its user may still use the site; otherwise None (and the stale state is dropped)."""
    value = request.session.get(PENDING_SIGN_IN_KEY)
    if not value:
        return None
    try:
        data = signing.loads(
            value, salt=_PENDING_SALT, max_age=PENDING_SIGN_IN_LIFETIME.total_seconds()
        )
    except signing.BadSignature:
        data = None
    user = None
    if data is not None and data.get("site") == _site_id(request):
        user = User.objects.filter(pk=data.get("user"), is_active=True).first()
    if user is None or not may_access_site(user=user, site=getattr(request, "site", None)):
        pending_sign_in_clear(request)
        return None
    return PendingSignIn(user=user, next_url=data.get("next") or "")


def pending_sign_in_expired(request: HttpRequest) -> bool:
    """True when this session held a pending sign-in that has since lapsed."""
    return PENDING_SIGN_IN_KEY in request.session and pending_sign_in_get(request) is None


# --- Password reset ----------------------------------------------------------------------


def _count_in_window(key: str, *, window: datetime.timedelta) -> int:
    """Add one to the counter ``key`` of the shared cache and return it. The counter starts
    with the first request and lapses ``window`` later (a fixed window)."""
    cache.add(key, 0, timeout=window.total_seconds())
    try:
        return cache.incr(key)
    except ValueError:  # lapsed between the two calls: this request starts a new window
        cache.add(key, 1, timeout=window.total_seconds())
        return 1


def password_reset_allowed(*, email: str, ip_address: str | None) -> bool:
    """Count a request for a reset link for ``email`` from ``ip_address``; False once either
    has asked more than its limit within ``PASSWORD_RESET_WINDOW`` (then send nothing).

    Counted in the shared cache (``CACHES``: Redis when there is one, so every process
    counts together), by the email as typed (hashed: no address is kept in the cache),
    never by whether it belongs to anyone, so the limit reveals no account."""
    digest = hashlib.sha256(normalise_email(email).encode()).hexdigest()
    by_account = _count_in_window(f"password-reset:account:{digest}", window=PASSWORD_RESET_WINDOW)
    by_address = (
        _count_in_window(f"password-reset:address:{ip_address}", window=PASSWORD_RESET_WINDOW)
        if ip_address
        else 0
    )
    return by_account <= PASSWORD_RESET_ACCOUNT_LIMIT and by_address <= PASSWORD_RESET_ADDRESS_LIMIT


def password_reset_recipients(*, email: str, site: Institution | None) -> QuerySet[User]:
    """Who may be sent a reset link for ``email`` from ``site``: an active user with a
    usable password and an active staff profile at the site (on the bare base domain,
    platform staff)."""
    users = User.objects.filter(email=normalise_email(email), is_active=True).exclude(
        password__startswith=UNUSABLE_PASSWORD_PREFIX
    )
    if site is None:
        return users.filter(is_staff=True)
    return users.filter(Q(staff_profiles__site=site) & Q(staff_profiles__is_active=True))
