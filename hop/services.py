"""Log in to MIS: a group user's hop from the group site into one school site.

Allowed only when all hold (DESIGN.md, "Log in to MIS"):
- the group session has passed two-factor sign-in;
- the user holds ``Login to MIS: Associated institutions`` at the group site;
- the school is among the user's effective associations;
- the school is a current member school of the group;
- the group's approved agreement with the school is at level 3.

The last four are ``hop.selectors.hop_standing``, one query, asked when the token is
issued, when it is redeemed, and again on every request inside the hop.

The group site issues a single-use, 60-second random token bound to user, group, school
and the group session (only its hash is stored). The school host redeems it by POST, checks
everything again, and starts a fresh session there marked as a hop. That session carries
the group session's two-factor verification, shows a banner naming the group, and ends
when the group session ends or any of the four conditions stops holding (``HopMiddleware``).
"""

import datetime
import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.sessions.backends.db import SessionStore
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from accounts import audit
from accounts.audit import Actor, actor_from_request
from accounts.identity.sign_in import sign_out_record
from accounts.models import AuditAction, HopToken, User
from accounts.permissions import LOGIN_TO_MIS, Access, has_permission
from accounts.staff.selectors import effective_schools, staff_profile_for
from institutions.models import Institution
from sharing.access import schools_with_group_actions

from .selectors import GROUP_SESSION_ENDED, TWO_FACTOR_NEEDED, HopStanding, hop_standing

HOP_TOKEN_LIFETIME = datetime.timedelta(seconds=60)
# On the school host: which group session this hop hangs from.
HOP_SESSION_KEY = "_matmis_hop"


class HopRefused(Exception):
    """The hop is not allowed; ``str(exc)`` says why in plain words."""


@dataclass(frozen=True)
class HopBanner:
    group_name: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hop_targets(*, user: User, group: Institution) -> QuerySet[Institution]:
    """The schools ``user`` may hop into from ``group`` (for the Log in to MIS list)."""
    profile = staff_profile_for(site=group, user=user)
    if profile is None or not has_permission(
        user=user, site=group, code=LOGIN_TO_MIS, access=Access.ADMINISTER
    ):
        return Institution.objects.none()
    return schools_with_group_actions(
        group=group, schools=effective_schools(group=group, profile=profile)
    ).order_by("name")


def hop_check(
    *, user: User, group: Institution, school: Institution, session_verified: bool
) -> None:
    """Raise HopRefused, naming the first condition that fails (``hop_standing``)."""
    if not session_verified:
        # Asked before the query: nothing else matters until the session has passed it.
        raise HopRefused(TWO_FACTOR_NEEDED)
    refusal = hop_standing(user=user, group_id=group.pk, school=school).refusal
    if refusal is not None:
        raise HopRefused(refusal)


@transaction.atomic
def hop_token_issue(
    *,
    actor: Actor,
    group: Institution,
    school: Institution,
    group_session_key: str,
    session_verified: bool,
) -> str:
    """A single-use token for ``actor.user`` to enter ``school`` from ``group``."""
    hop_check(user=actor.user, group=group, school=school, session_verified=session_verified)
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    HopToken.objects.create(
        token_hash=_hash(token),
        user=actor.user,
        group=group,
        school=school,
        group_session_key=group_session_key,
        created_at=now,
        expires_at=now + HOP_TOKEN_LIFETIME,
    )
    return token


@dataclass(frozen=True)
class GroupSession:
    key: str
    expires_at: datetime.datetime
    device_id: str | None


def group_session_alive(*, key: str, user: User) -> GroupSession | None:
    """The group session ``key`` if it still exists, unexpired, signed in as ``user``."""
    store = SessionStore(session_key=key)
    if not store.exists(key):
        return None
    data = store.load()
    if str(data.get("_auth_user_id")) != str(user.pk):
        return None
    return GroupSession(
        key=key, expires_at=store.get_expiry_date(), device_id=data.get(DEVICE_ID_SESSION_KEY)
    )


INVALID_LINK_MESSAGE = "This Log in to MIS link is not valid. Start again from your group's site."


def _spend_token(*, token: str, school: Institution) -> HopToken:
    """Mark the token used, in its own committed transaction: a token is spent by its
    first redemption, whether or not the hop then goes ahead."""
    with transaction.atomic():
        hop = (
            HopToken.objects.select_for_update()
            .select_related("user", "group", "school")
            .filter(token_hash=_hash(token or ""))
            .first()
        )
        if hop is None or hop.school_id != school.pk:
            raise HopRefused(INVALID_LINK_MESSAGE)
        if hop.used_at is not None:
            raise HopRefused(
                "This Log in to MIS link was already used. Start again from your group's site."
            )
        if hop.expires_at <= timezone.now():
            raise HopRefused(
                "This Log in to MIS link has expired. Start again from your group's site."
            )
        hop.used_at = timezone.now()
        hop.save(update_fields=["used_at"])
    return hop


NOT_FROM_THE_GROUP_MESSAGE = (
    "This Log in to MIS request did not come from your group's site, so nothing was "
    "changed. Start again from your group's site."
)


def site_origin(site: Institution) -> str:
    """``site``'s pages' origin as a browser names it in ``Origin``: scheme, host, port."""
    return site.url.removesuffix("/")


def hop_sender_check(
    *,
    group: Institution,
    school: Institution,
    origin: str | None,
    fetch_site: str | None,
    from_school_page: bool = False,
) -> None:
    """Raise HopRefused unless the browser's own account of where the redemption came from
    is the group's site, whose Log in to MIS page posts it (``from_school_page``: the
    school's own page asking whether to replace who is signed in here, which Django's CSRF
    check has already tied to this host).

    ``Origin`` decides when it is there: it names the one site allowed. Without it,
    ``Sec-Fetch-Site: cross-site`` is refused; ``Sec-Fetch-Site`` alone cannot tell the
    group's host from any other, and a group's host and its school's are cross-site
    whenever the base domain is itself a registrable suffix (``localhost`` in
    development). A request with neither header is no browser's cross-site form (an API
    client), and the token decides."""
    expected = site_origin(school if from_school_page else group)
    if origin is not None:
        if origin != expected:
            raise HopRefused(NOT_FROM_THE_GROUP_MESSAGE)
    elif fetch_site == "cross-site":
        raise HopRefused(NOT_FROM_THE_GROUP_MESSAGE)


def hop_token_unspent(*, token: str, school: Institution) -> HopToken | None:
    """The hop ``token`` would start at ``school`` (valid here, unused, unexpired), without
    spending it: to ask first when someone else is signed in here. None otherwise, and
    ``hop_token_redeem`` then says why."""
    return (
        HopToken.objects.select_related("user", "group")
        .filter(
            token_hash=_hash(token or ""),
            school=school,
            used_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )


def hop_token_redeem(
    *,
    token: str,
    school: Institution,
    ip_address: str | None,
    origin: str | None,
    fetch_site: str | None,
    from_school_page: bool = False,
):
    """Check and spend ``token`` at ``school``. Returns (hop token, group session).

    Every condition is checked again here: the token alone proves nothing beyond the
    user's intent a few seconds ago. The request must come from the group's site (see
    ``hop_sender_check``): a token posted from anywhere else is spent and refused, so that
    nobody can sign a school's browser in as themselves from their own page.
    """
    hop = _spend_token(token=token, school=school)
    hop_sender_check(
        group=hop.group,
        school=school,
        origin=origin,
        fetch_site=fetch_site,
        from_school_page=from_school_page,
    )
    session = group_session_alive(key=hop.group_session_key, user=hop.user)
    if session is None or not hop.user.is_active:
        raise HopRefused(f"{GROUP_SESSION_ENDED} Sign in there again.")
    hop_check(
        user=hop.user,
        group=hop.group,
        school=school,
        session_verified=session.device_id is not None,
    )
    actor = Actor(user=hop.user, site=school, ip_address=ip_address, acting_from=hop.group)
    with transaction.atomic():
        for site in (school, hop.group):
            audit.record(actor=actor, action=AuditAction.HOP_STARTED, target=school.name, site=site)
    return hop, session


def hop_end(*, actor: Actor, school: Institution, group: Institution, reason: str) -> None:
    """Record the end of a hop at both sites."""
    with transaction.atomic():
        for site in (school, group):
            audit.record(
                actor=actor,
                action=AuditAction.HOP_ENDED,
                target=school.name,
                detail={"reason": reason},
                site=site,
            )


def hop_standing_for_request(request) -> HopStanding | None:
    """For a request inside a hop (a school host's session marked by ``hop_session_start``):
    whether it may go on, asked again in one query. None outside a hop.

    Used by ``HopMiddleware`` only; everything else reads ``request.hop_group``.
    """
    hop = request.session.get(HOP_SESSION_KEY)
    if not hop or request.site is None or not request.user.is_authenticated:
        return None
    return hop_standing(
        user=request.user,
        group_id=hop.get("group"),
        school=request.site,
        group_session_key=hop.get("group_session") or "",
    )


def hop_session_start(request, *, hop: HopToken, group_session: GroupSession) -> None:
    """A fresh session on the school host for the hop: signed in as the person, marked
    with the group session it hangs from, carrying that session's second factor, and
    expiring when it does. Whoever was signed in here is signed out first (recorded, and
    their own hop ended): the views ask before replacing someone else."""
    from django.contrib.auth import login, logout

    if request.user.is_authenticated:
        sign_out_record(actor=actor_from_request(request))
        logout(request)
    request.session.flush()
    login(request, hop.user, backend="accounts.backends.SiteStaffBackend")
    request.session[HOP_SESSION_KEY] = {"group": hop.group_id, "group_session": group_session.key}
    request.session[DEVICE_ID_SESSION_KEY] = group_session.device_id
    request.session.set_expiry(group_session.expires_at)
