"""Reads about two-factor sign-in: the session, a person's devices and backup codes, the
sites' policies."""

from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import SiteSecurityPolicy, StaffProfile, User
from institutions.models import Institution

# Set on a session signed in with a provider's multi-factor sign-in that its site accepts.
PROVIDER_MFA_SESSION_KEY = "_matmis_provider_mfa"


def session_is_verified(request: HttpRequest) -> bool:
    """True when the signed-in person passed a second factor in this session (at sign-in,
    on setting up their device, or on the group site before a hop)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    is_verified = getattr(user, "is_verified", None)
    if is_verified and is_verified():
        return True
    # Signed in with an identity provider's multi-factor sign-in, which the site accepts
    # in place of its own (accounts.identity.provider).
    return bool(request.session.get(PROVIDER_MFA_SESSION_KEY))


def authenticator_for(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def user_has_two_factor(*, user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def backup_codes_left(*, user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def site_requires_two_factor(*, site: Institution | None) -> bool:
    """Whether ``site`` requires two-factor sign-in of all its staff; ``site`` None is the
    platform (the bare base domain), which always does."""
    if site is None:
        return True
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


PLATFORM_SUPPORT_NAME = "Platform support"


def two_factor_required_by(*, user: User) -> list[str]:
    """Who requires ``user`` to use two-factor sign-in, by name: platform support (of all
    its staff), then the sites where the person works that require it."""
    names = [PLATFORM_SUPPORT_NAME] if user.is_staff else []
    return names + [site.name for site in sites_requiring_two_factor_of(user=user)]


def staff_two_factor_counts(*, site: Institution) -> tuple[int, int]:
    """(active staff of ``site`` using two-factor sign-in, all active staff of ``site``)."""
    profiles = StaffProfile.objects.filter(site=site, is_active=True)
    total = profiles.count()
    using = profiles.filter(
        Exists(TOTPDevice.objects.filter(user=OuterRef("user"), confirmed=True))
    ).count()
    return using, total


def security_policy_for(*, site: Institution) -> SiteSecurityPolicy:
    """The site's policy (the defaults, unsaved, when it has never chosen)."""
    return SiteSecurityPolicy.objects.filter(site=site).first() or SiteSecurityPolicy(site=site)
