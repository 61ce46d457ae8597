"""Two-factor sign-in: an authenticator app (TOTP) with single-use backup codes.

A person has at most one confirmed authenticator device and one set of backup codes; both
belong to the person, so they apply at every site where that person signs in. A session is
*verified* once the person has given a code in it (django-otp's ``login``); a sign-in with
a device never starts without one (see ``accounts.sign_in``).

``two_factor_gate`` is the one rule every page and API endpoint of a site applies, through
the kernel's site check (``matmis.site_access``, after the kind of host and site access):
- a verified session passes;
- a person with a device whose session is not verified is not treated as signed in;
- a person without a device at a site that requires two-factor sign-in may only set it up.
"""

import enum
import io
import re
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import segno
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django_otp import verify_token as otp_verify_token
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from institutions.models import Institution

from . import audit
from .audit import Actor
from .models import AuditAction, SiteSecurityPolicy, User

ISSUER = "matmis"
AUTHENTICATOR_NAME = "Authenticator app"
BACKUP_CODES_NAME = "Backup codes"
BACKUP_CODE_COUNT = 10
TOTP_DIGITS = 6
TOTP_STEP = 30
# Codes from the step before and after the current one are accepted (clock drift).
TOTP_TOLERANCE = 1

# Session keys.
ENROLMENT_KEY_SESSION = "_matmis_two_factor_new_key"
FRESH_BACKUP_CODES_SESSION = "_matmis_two_factor_fresh_codes"
GATE_CLEAR_UNTIL_SESSION = "_matmis_two_factor_clear_until"
# An unverified session that was found to need no second factor is asked again after this
# many seconds, so a site switching the requirement on (or the person setting up a device
# at another site) takes effect within this time, at one query a minute per session.
GATE_RECHECK_SECONDS = 60

_AUTHENTICATOR_CODE = re.compile(r"^[0-9]{6}$")
_BACKUP_CODE = re.compile(r"^[a-z2-7]{8}$")


class TwoFactorRefused(Exception):
    """The change is not allowed; ``str(exc)`` says why in plain words."""


def normalise_code(code: str | None) -> str:
    """What a person typed, without spaces or hyphens, lower-cased."""
    return re.sub(r"[\s-]", "", code or "").lower()


def is_authenticator_code(code: str) -> bool:
    return bool(_AUTHENTICATOR_CODE.match(code))


def is_backup_code(code: str) -> bool:
    return bool(_BACKUP_CODE.match(code))


def format_backup_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def backup_code_count_warning(left: int) -> str:
    """What to tell someone who has just used a backup code."""
    if left == 0:
        return (
            "You used your last backup code. Make new backup codes now from Two-factor "
            "sign-in, in case you lose your phone."
        )
    codes = "backup code" if left == 1 else "backup codes"
    advice = " Consider making new ones from Two-factor sign-in." if left <= 3 else ""
    return f"You used a backup code. You have {left} {codes} left.{advice}"


# --- Reads --------------------------------------------------------------------------------


def session_is_verified(request: HttpRequest) -> bool:
    """True when the signed-in person passed a second factor in this session (at sign-in,
    on setting up their device, or on the group site before a hop)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def authenticator_for(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def user_has_two_factor(*, user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def backup_codes_left(*, user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def site_requires_two_factor(*, site: Institution | None) -> bool:
    if site is None:
        return False
    return SiteSecurityPolicy.objects.filter(site=site, require_two_factor=True).exists()


def sites_requiring_two_factor_of(*, user: User) -> list[Institution]:
    """The sites where ``user`` works that require two-factor sign-in."""
    return list(
        Institution.objects.filter(
            staff_profiles__user=user,
            staff_profiles__is_active=True,
            security_policy__require_two_factor=True,
        ).order_by("name")
    )


def staff_two_factor_counts(*, site: Institution) -> tuple[int, int]:
    """(active staff of ``site`` using two-factor sign-in, all active staff of ``site``)."""
    from .models import StaffProfile

    profiles = StaffProfile.objects.filter(site=site, is_active=True)
    total = profiles.count()
    using = profiles.filter(
        Exists(TOTPDevice.objects.filter(user=OuterRef("user"), confirmed=True))
    ).count()
    return using, total


def _two_factor_state(*, user: User, site: Institution) -> tuple[bool, bool]:
    """(``user`` has a confirmed device, ``site`` requires two-factor), in one query."""
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(
            has_device=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
            required=Exists(SiteSecurityPolicy.objects.filter(site=site, require_two_factor=True)),
        )
        .values_list("has_device", "required")
        .first()
    )
    return (bool(row[0]), bool(row[1])) if row else (False, False)


class Gate(enum.Enum):
    OPEN = "open"
    SIGN_IN_AGAIN = "sign_in_again"  # has a device, but this session never gave a code
    ENROL = "enrol"  # the site requires two-factor and the person has no device yet


def two_factor_gate(request: HttpRequest) -> Gate:
    """What a signed-in request at a site may do, as far as two-factor sign-in goes."""
    user = request.user
    site = getattr(request, "site", None)
    if site is None or not user.is_authenticated or session_is_verified(request):
        return Gate.OPEN
    now = time.time()
    if request.session.get(GATE_CLEAR_UNTIL_SESSION, 0) > now:
        return Gate.OPEN
    has_device, required = _two_factor_state(user=user, site=site)
    if has_device:
        return Gate.SIGN_IN_AGAIN
    if required:
        return Gate.ENROL
    request.session[GATE_CLEAR_UNTIL_SESSION] = now + GATE_RECHECK_SECONDS
    return Gate.OPEN


# --- Verifying a code ---------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """The result of checking a code: the device that accepted it, or why not."""

    device: TOTPDevice | StaticDevice | None = None
    throttled: bool = False

    @property
    def ok(self) -> bool:
        return self.device is not None

    @property
    def used_backup_code(self) -> bool:
        return isinstance(self.device, StaticDevice)


def two_factor_verify(*, user: User, code: str) -> Verification:
    """Check a 6-digit authenticator code or a backup code (which is then used up).

    Each device's row is locked while it checks (django-otp's ``verify_token``), so the
    same code cannot be accepted twice by two requests racing each other. Each device also
    slows down repeated failures on its own (1, 2, 4... seconds): ``throttled`` says so.
    """
    code = normalise_code(code)
    if is_authenticator_code(code):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    elif is_backup_code(code):
        device = StaticDevice.objects.filter(user=user, confirmed=True).first()
    else:
        return Verification()
    if device is None:
        return Verification()
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        return Verification(throttled=True)
    verified = otp_verify_token(user, device.persistent_id, code)
    return Verification(device=verified)


# --- Setting up -------------------------------------------------------------------------


def enrolment_key(request: HttpRequest) -> str:
    """The secret offered to this session's person while they set up their app (hex).

    Kept in the session until confirmed, so looking at the page changes nothing stored and
    reloading it shows the same QR code.
    """
    key = request.session.get(ENROLMENT_KEY_SESSION)
    if not key:
        key = random_hex(20)
        request.session[ENROLMENT_KEY_SESSION] = key
    return key


def enrolment_key_peek(request: HttpRequest) -> str | None:
    return request.session.get(ENROLMENT_KEY_SESSION) or None


def secret_for_display(key_hex: str) -> str:
    """The base32 secret in groups of four, for typing into an app by hand."""
    from base64 import b32encode

    secret = b32encode(bytes.fromhex(key_hex)).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def enrolment_config_url(*, user: User, key_hex: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    from base64 import b32encode

    label = quote(f"{ISSUER}:{user.email}")
    params = urlencode(
        {
            "secret": b32encode(bytes.fromhex(key_hex)).decode().rstrip("="),
            "issuer": ISSUER,
            "algorithm": "SHA1",
            "digits": TOTP_DIGITS,
            "period": TOTP_STEP,
        }
    )
    return f"otpauth://totp/{label}?{params}"


def qr_code_svg(*, content: str, title: str) -> bytes:
    """A QR code as a standalone SVG document that scales to any size."""
    buffer = io.BytesIO()
    segno.make(content, error="m", micro=False).save(
        buffer,
        kind="svg",
        scale=1,
        border=4,
        dark="#0b0c0c",
        light="#ffffff",
        omitsize=True,
        title=title,
        svgclass=None,
        lineclass=None,
    )
    return buffer.getvalue()


def _backup_codes_issue(*, user: User) -> list[str]:
    """Replace ``user``'s backup codes with a fresh set; returns them (shown once)."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=BACKUP_CODES_NAME, confirmed=True)
    codes: set[str] = set()
    while len(codes) < BACKUP_CODE_COUNT:
        codes.add(StaticToken.random_token())
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return sorted(codes)


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    backup_codes: list[str]


@transaction.atomic
def two_factor_enrol(*, user: User, key_hex: str, code: str, actor: Actor) -> Enrolment:
    """Save ``user``'s authenticator once they prove it works with a current code.

    Raises TwoFactorRefused when the code is not right or a device already exists.
    """
    User.objects.select_for_update().filter(pk=user.pk).first()  # one enrolment at a time
    if user_has_two_factor(user=user):
        raise TwoFactorRefused("Two-factor sign-in is already set up for your account.")
    code = normalise_code(code)
    if not is_authenticator_code(code):
        raise TwoFactorRefused("Enter the 6-digit code your app shows now.")
    totp = TOTP(bytes.fromhex(key_hex), step=TOTP_STEP, digits=TOTP_DIGITS)
    totp.time = time.time()
    if not totp.verify(int(code), tolerance=TOTP_TOLERANCE):
        raise TwoFactorRefused(
            "That code is not right. Check that your phone sets its time automatically, "
            "then enter the code your app shows now."
        )
    TOTPDevice.objects.filter(user=user).delete()  # any unconfirmed leftovers
    device = TOTPDevice.objects.create(
        user=user,
        name=AUTHENTICATOR_NAME,
        key=key_hex,
        step=TOTP_STEP,
        digits=TOTP_DIGITS,
        tolerance=TOTP_TOLERANCE,
        drift=totp.drift,
        last_t=totp.t(),  # the code just used cannot be used again to sign in
        confirmed=True,
    )
    codes = _backup_codes_issue(user=user)
    audit.record(actor=actor, action=AuditAction.TWO_FACTOR_ENROLLED, target=user.email)
    return Enrolment(device=device, backup_codes=codes)


@transaction.atomic
def backup_codes_regenerate(*, user: User, actor: Actor) -> list[str]:
    """A fresh set of backup codes; every earlier code stops working."""
    User.objects.select_for_update().filter(pk=user.pk).first()
    if not user_has_two_factor(user=user):
        raise TwoFactorRefused("Set up two-factor sign-in first.")
    return _backup_codes_issue(user=user)


def two_factor_remove(*, user: User, code: str, actor: Actor) -> None:
    """Turn off ``user``'s two-factor sign-in, given a current code or a backup code.

    Refused while any site where the person works requires two-factor sign-in. The code is
    checked in its own transaction so that a wrong one still counts towards the device's
    throttling.
    """
    requiring = sites_requiring_two_factor_of(user=user)
    if requiring:
        names = ", ".join(site.name for site in requiring)
        raise TwoFactorRefused(
            f"You cannot turn off two-factor sign-in: {names} "
            f"{'requires' if len(requiring) == 1 else 'require'} it for all staff."
        )
    verification = two_factor_verify(user=user, code=code)
    if verification.throttled:
        raise TwoFactorRefused("Too many wrong codes. Wait a few seconds and try again.")
    if not verification.ok:
        raise TwoFactorRefused(
            "That code is not right. Enter the 6-digit code your app shows now, or one of "
            "your backup codes."
        )
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        audit.record(actor=actor, action=AuditAction.TWO_FACTOR_REMOVED, target=user.email)


# --- The site's policy ----------------------------------------------------------------------


def security_policy_for(*, site: Institution) -> SiteSecurityPolicy:
    """The site's policy (the defaults, unsaved, when it has never chosen)."""
    return SiteSecurityPolicy.objects.filter(site=site).first() or SiteSecurityPolicy(site=site)


@transaction.atomic
def security_policy_update(
    *, site: Institution, require_two_factor: bool, actor: Actor
) -> SiteSecurityPolicy:
    """Set whether ``site`` requires two-factor sign-in of all its staff.

    Switching it on needs the person doing it to use two-factor sign-in themselves, so an
    administrator cannot lock everyone, themselves included, into setting it up unawares.
    """
    policy, _ = SiteSecurityPolicy.objects.select_for_update().get_or_create(site=site)
    if policy.require_two_factor == require_two_factor:
        return policy
    if require_two_factor and (actor.user is None or not user_has_two_factor(user=actor.user)):
        raise TwoFactorRefused(
            "Set up two-factor sign-in for your own account before requiring it of all staff."
        )
    policy.require_two_factor = require_two_factor
    policy.save(update_fields=["require_two_factor"])
    audit.record(
        actor=actor,
        action=AuditAction.SECURITY_POLICY_CHANGED,
        target="Two-factor sign-in " + ("required" if require_two_factor else "optional"),
        detail={"require_two_factor": require_two_factor},
        site=site,
    )
    return policy
