"""Writes of two-factor sign-in: checking a code (a backup code is used up), setting up an
authenticator app, new backup codes, turning it off, and the site's policy."""

import time
from dataclasses import dataclass

from django.db import transaction
from django.utils.crypto import salted_hmac
from django_otp import verify_token as otp_verify_token
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import audit
from accounts.audit import Actor
from accounts.models import AuditAction, SiteSecurityPolicy, UsedBackupCode, User
from institutions.models import Institution

from .codes import (
    BACKUP_CODE_COUNT,
    TOTP_DIGITS,
    TOTP_STEP,
    TOTP_TOLERANCE,
    is_authenticator_code,
    is_backup_code,
    normalise_code,
)
from .selectors import two_factor_required_by, user_has_two_factor

AUTHENTICATOR_NAME = "Authenticator app"
BACKUP_CODES_NAME = "Backup codes"
BACKUP_CODE_SPENT = (
    "That backup code has already been used. Each backup code works once: enter another "
    "one, or the code your authenticator app shows now."
)


class TwoFactorRefused(Exception):
    """The change is not allowed; ``str(exc)`` says why in plain words."""


# --- Verifying a code ---------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """The result of checking a code: the device that accepted it, or why not."""

    device: TOTPDevice | StaticDevice | None = None
    throttled: bool = False
    # Refused because it is one of the person's backup codes that has been used already.
    spent_backup_code: bool = False

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
    if isinstance(verified, StaticDevice):
        UsedBackupCode.objects.bulk_create(
            [UsedBackupCode(user=user, digest=backup_code_digest(user=user, code=code))],
            ignore_conflicts=True,  # a code restored and used again (the demo's)
        )
    elif verified is None and is_backup_code(code):
        spent = UsedBackupCode.objects.filter(
            user=user, digest=backup_code_digest(user=user, code=code)
        ).exists()
        return Verification(spent_backup_code=spent)
    return Verification(device=verified)


def backup_code_digest(*, user: User, code: str) -> str:
    """What is kept of a used backup code: a digest keyed by the secret key and the person."""
    return salted_hmac(_USED_BACKUP_CODE_SALT, f"{user.pk}:{code}", algorithm="sha256").hexdigest()


_USED_BACKUP_CODE_SALT = "matmis.accounts.two_factor.used-backup-code"


# --- Setting up -------------------------------------------------------------------------


def _backup_codes_issue(*, user: User) -> list[str]:
    """Replace ``user``'s backup codes with a fresh set; returns them (shown once)."""
    StaticDevice.objects.filter(user=user).delete()
    UsedBackupCode.objects.filter(user=user).delete()
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

    Refused for platform staff, and while any site where the person works requires
    two-factor sign-in. The code is checked in its own transaction so that a wrong one
    still counts towards the device's throttling.
    """
    requiring = two_factor_required_by(user=user)
    if requiring:
        names = ", ".join(requiring)
        raise TwoFactorRefused(
            f"You cannot turn off two-factor sign-in: {names} "
            f"{'requires' if len(requiring) == 1 else 'require'} it for all staff."
        )
    verification = two_factor_verify(user=user, code=code)
    if verification.throttled:
        raise TwoFactorRefused("Too many wrong codes. Wait a few seconds and try again.")
    if verification.spent_backup_code:
        raise TwoFactorRefused(BACKUP_CODE_SPENT)
    if not verification.ok:
        raise TwoFactorRefused(
            "That code is not right. Enter the 6-digit code your app shows now, or one of "
            "your backup codes."
        )
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        UsedBackupCode.objects.filter(user=user).delete()
        audit.record(actor=actor, action=AuditAction.TWO_FACTOR_REMOVED, target=user.email)


# --- The site's policy ----------------------------------------------------------------------


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


@transaction.atomic
def sign_in_provider_update(
    *,
    site: Institution,
    provider: str,
    domains: list[str],
    accept_provider_mfa: bool,
    actor: Actor,
) -> SiteSecurityPolicy:
    """Set how ``site``'s staff may sign in with an identity provider (``provider`` blank:
    not at all). The form has checked the provider is configured and the domains."""
    policy, _ = SiteSecurityPolicy.objects.select_for_update().get_or_create(site=site)
    values = {
        "sign_in_provider": provider,
        "sign_in_domains": "\n".join(domains) if provider else "",
        "accept_provider_mfa": accept_provider_mfa and bool(provider),
    }
    if all(getattr(policy, name) == value for name, value in values.items()):
        return policy
    for name, value in values.items():
        setattr(policy, name, value)
    policy.save(update_fields=list(values))
    audit.record(
        actor=actor,
        action=AuditAction.SECURITY_POLICY_CHANGED,
        target=(
            f"Sign-in with {policy.get_sign_in_provider_display()}"
            if provider
            else "Sign-in with an identity provider off"
        ),
        detail={
            "sign_in_provider": provider,
            "sign_in_domains": domains if provider else [],
            "accept_provider_mfa": values["accept_provider_mfa"],
        },
        site=site,
    )
    return policy
