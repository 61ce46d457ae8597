"""The gate: how far a signed-in request at a site may go, as far as two-factor sign-in
goes.

``two_factor_gate`` is the one rule every page and API endpoint of a site applies, through
the kernel's site check (``matmis.site_access``, after the kind of host and site access,
by way of ``accounts.permissions.request_site_gate``):
- a verified session passes;
- a person with a device whose session is not verified is not treated as signed in;
- a person without a device at a site that requires two-factor sign-in may only set it up;
- the platform (the bare base domain: the support admin, the register imports) requires it
  of all its staff, always.
"""

import enum
import time

from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import SiteSecurityPolicy, User
from institutions.models import Institution

from .selectors import session_is_verified, user_has_two_factor

GATE_CLEAR_UNTIL_SESSION = "_matmis_two_factor_clear_until"
# An unverified session that was found to need no second factor is asked again after this
# many seconds, so a site switching the requirement on (or the person setting up a device
# at another site) takes effect within this time, at one query a minute per session.
GATE_RECHECK_SECONDS = 60


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
    if not user.is_authenticated or session_is_verified(request):
        return Gate.OPEN
    if site is None:  # the platform: no unverified session of its staff goes any further
        return Gate.SIGN_IN_AGAIN if user_has_two_factor(user=user) else Gate.ENROL
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


def person_two_factor_gate(*, user: User, site: Institution) -> Gate:
    """``two_factor_gate`` for ``user`` at ``site`` once signed in with every factor they
    have (a verified session): only a site's requirement to set one up can stop them."""
    has_device, required = _two_factor_state(user=user, site=site)
    return Gate.ENROL if required and not has_device else Gate.OPEN
