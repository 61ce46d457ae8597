"""Writes of staff onboarding: adding a member of staff (a new person is invited, an
existing user is added), the invitation's life (resend, revoke, accept), and deactivating
and reactivating a member of staff.

Who is added how
================
- **A new address** (no user has it, compared case-insensitively): a user is created with
  no usable password, and a staff profile here that stays inactive until the invitation
  is accepted. The invitation email carries a single-use link on the site's host, valid
  for ``INVITATION_LIFETIME``, to set a password (and then set up two-factor sign-in where
  the site requires it: the site check sends a person without it there).
- **An existing user** (they already have a password, from another site): never a second
  user, and their password is never touched. They get an active profile here at once and
  an email saying they were added, naming the site and its address, to sign in there with
  the password they already use.
- An existing user who never set a password (invited elsewhere, not accepted yet) is
  invited here too: the first invitation accepted sets the password; accepting the other
  later only joins that site.
- Refused, changing nothing: someone with an active profile here, someone invited here
  whose invitation is still open (resend it instead), someone deactivated here (reactivate
  them instead).

Emails go through the outbox, which sits above accounts: this module only announces them
(``staff_invitation_sent``, ``staff_added_to_site``); ``portal.staff_emails`` queues the
deliveries and builds the emails. The link's token is made when the email is built
(``invitation_link_issue``), and only its SHA-256 is stored.
"""

import datetime
import enum
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from accounts import audit
from accounts.audit import Actor
from accounts.models import (
    AuditAction,
    BusinessRole,
    RoleAssignment,
    StaffInvitation,
    StaffProfile,
    User,
)
from institutions.models import Cluster, Institution
from matmis.tenancy import session_mark

from .services import _refuse_locking_out, association_replace, role_assignments_set

INVITATION_LIFETIME = datetime.timedelta(days=7)

# Sent (in the transaction) with ``invitation`` (StaffInvitation): email its link.
staff_invitation_sent = Signal()
# Sent (in the transaction) with ``profile`` (StaffProfile) and ``added_by`` (User or None): tell
# an existing user they were added.
staff_added_to_site = Signal()

# Sent (in the transaction) with ``user``, ``site``, ``actor`` and ``sessions`` (each ended
# session's ``key`` and decoded ``data``) when someone's sessions at a site were ended:
# what hangs from them ends too (``hop.receivers``: the Log in to MIS hops).
staff_sessions_ended = Signal()
# Sent when a member of staff is deactivated at a site (``staff_deactivate``), whether or
# not they had sessions there: what they shared beyond the site ends (``networks``).
staff_deactivated = Signal()

NAME_MAX, EMAIL_MAX, JOB_TITLE_MAX = 150, 254, 150


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- Adding a member of staff -----------------------------------------------------------------


@dataclass(frozen=True)
class NewStaffMember:
    """Who to add: the associations apply on a group site only (none chosen: none)."""

    full_name: str
    email: str
    job_title: str
    roles: Sequence[BusinessRole]
    all_schools: bool = False
    schools: Sequence[Institution] = ()
    clusters: Sequence[Cluster] = ()


class AddOutcome(enum.StrEnum):
    INVITED = "invited"
    EXISTING_USER_ADDED = "existing_user_added"


@dataclass(frozen=True)
class StaffAddResult:
    outcome: AddOutcome
    profile: StaffProfile
    invitation: StaffInvitation | None = None


def _normalised_email(email: str) -> str:
    return User.objects.normalize_email((email or "").strip()).lower()


def staff_member_check(*, site: Institution, member: NewStaffMember) -> NewStaffMember:
    """``member`` tidied (spaces, the address in lower case), or ValidationError naming
    every field that is wrong (by field: full_name, email, job_title, roles, associations).
    Reads only: the same check runs on every line of a CSV before any line is added."""
    errors: dict[str, list[str]] = {}
    name = " ".join((member.full_name or "").split())
    email = _normalised_email(member.email)
    job_title = " ".join((member.job_title or "").split())
    if not name:
        errors.setdefault("full_name", []).append("Enter the person’s full name.")
    elif len(name) > NAME_MAX:
        errors.setdefault("full_name", []).append(
            f"The full name must be {NAME_MAX} characters or fewer."
        )
    if not email:
        errors.setdefault("email", []).append("Enter the person’s email address.")
    else:
        try:
            if len(email) > EMAIL_MAX:
                raise ValidationError("too long")
            validate_email(email)
        except ValidationError:
            errors.setdefault("email", []).append("Enter an email address like name@school.org.uk.")
    if len(job_title) > JOB_TITLE_MAX:
        errors.setdefault("job_title", []).append(
            f"The job title must be {JOB_TITLE_MAX} characters or fewer."
        )
    roles = list({role.pk: role for role in member.roles}.values())
    if not roles:
        errors.setdefault("roles", []).append("Choose at least one role.")
    elif any(role.site_id != site.pk for role in roles):
        errors.setdefault("roles", []).append("Choose from this site’s roles.")
    else:
        for role in roles:
            if role.is_retired:
                errors.setdefault("roles", []).append(
                    f"“{role.name}” is retired: it cannot be given to anyone."
                )
    if not site.is_group and (member.all_schools or member.schools or member.clusters):
        errors.setdefault("associations", []).append(
            "Only staff of a trust or local authority have associated schools."
        )
    if "email" not in errors:
        refusal = _already_here(site=site, email=email)
        if refusal:
            errors.setdefault("email", []).append(refusal)
    if errors:
        raise ValidationError(errors)
    return NewStaffMember(
        full_name=name,
        email=email,
        job_title=job_title,
        roles=roles,
        all_schools=member.all_schools,
        schools=member.schools,
        clusters=member.clusters,
    )


def _already_here(*, site: Institution, email: str) -> str | None:
    """Why the person with ``email`` cannot be added at ``site``, or None."""
    if User.objects.filter(email=email, is_active=False).exists():
        return (
            f"The account of {email} is switched off for the whole platform. Ask platform support."
        )
    profile = (
        StaffProfile.objects.filter(site=site, user__email=email).select_related("user").first()
    )
    if profile is None:
        return None
    if profile.is_active:
        return (
            f"{profile.user.display_name} ({email}) already works at {site.name}. Change "
            "their roles from their page on the Staff list instead."
        )
    if open_invitation(profile) is not None:
        return (
            f"{email} has been invited to {site.name} already and has not accepted yet. "
            "Send the invitation again from the Staff list instead."
        )
    if profile_ever_joined(profile):
        return (
            f"{profile.user.display_name} ({email}) was deactivated at {site.name}. "
            "Reactivate them from the Staff list instead."
        )
    return None  # invited before, revoked or never accepted: invited again


def open_invitation(profile: StaffProfile) -> StaffInvitation | None:
    """The invitation of ``profile`` that is neither used nor revoked (maybe expired)."""
    return StaffInvitation.objects.filter(
        profile=profile, used_at__isnull=True, revoked_at__isnull=True
    ).first()


@transaction.atomic
def staff_member_add(
    *, site: Institution, member: NewStaffMember, actor: Actor, checked: bool = False
) -> StaffAddResult:
    """Add ``member`` at ``site`` (see the module's docstring), with their roles and, on a
    group site, associations; audited. ValidationError (by field) changes nothing.
    ``checked``: ``member`` is what ``staff_member_check`` returned already."""
    if not checked:
        member = staff_member_check(site=site, member=member)
    user = User.objects.select_for_update().filter(email=member.email).first()
    created_user = user is None
    if created_user:
        user = User.objects.create_user(email=member.email, full_name=member.full_name)
    elif not user.full_name:
        user.full_name = member.full_name
        user.save(update_fields=["full_name"])
    invited = not user.has_usable_password()
    profile, _ = StaffProfile.objects.update_or_create(
        site=site,
        user=user,
        defaults={"job_title": member.job_title, "is_active": not invited},
    )
    profile.user, profile.site = user, site
    role_assignments_set(
        profile=profile, assignments=[(role, None, None) for role in member.roles], actor=actor
    )
    if site.is_group:
        association_replace(
            profile=profile,
            all_schools=member.all_schools,
            schools=member.schools,
            clusters=member.clusters,
            actor=actor,
        )
    detail = {
        "person": user.email,
        "name": user.display_name,
        "job_title": member.job_title,
        "roles": sorted(role.name for role in member.roles),
        "new_user": created_user,
    }
    if not invited:
        audit.record(
            actor=actor, site=site, action=AuditAction.STAFF_ADDED, target=user.email, detail=detail
        )
        staff_added_to_site.send(sender=StaffProfile, profile=profile, added_by=actor.user)
        return StaffAddResult(AddOutcome.EXISTING_USER_ADDED, profile)
    now = timezone.now()
    invitation = StaffInvitation.objects.create(
        site=site,
        profile=profile,
        invited_by=actor.user,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    audit.record(
        actor=actor,
        site=site,
        action=AuditAction.STAFF_INVITED,
        target=user.email,
        detail={**detail, "expires_at": invitation.expires_at.isoformat()},
    )
    _announce(invitation)
    return StaffAddResult(AddOutcome.INVITED, profile, invitation)


def _announce(invitation: StaffInvitation) -> None:
    """Have the invitation's email queued, in this transaction (sent once it commits)."""
    if not staff_invitation_sent.receivers:
        raise ImproperlyConfigured(
            "Nothing sends staff invitations: the portal app connects staff_invitation_sent "
            "to the outbox when it is installed."
        )
    staff_invitation_sent.send(sender=StaffInvitation, invitation=invitation)


# --- The invitation's life ----------------------------------------------------------------------


class InvitationState(enum.StrEnum):
    PENDING = "pending"
    EXPIRED = "expired"
    ACCEPTED = "accepted"
    REVOKED = "revoked"


def invitation_state(invitation: StaffInvitation, *, now: datetime.datetime | None = None):
    if invitation.used_at is not None:
        return InvitationState.ACCEPTED
    if invitation.revoked_at is not None:
        return InvitationState.REVOKED
    if invitation.expires_at <= (now or timezone.now()):
        return InvitationState.EXPIRED
    return InvitationState.PENDING


def _locked_open(invitation: StaffInvitation) -> StaffInvitation:
    invitation = (
        StaffInvitation.objects.select_for_update(of=("self",))
        .select_related("profile__user", "site")
        .get(pk=invitation.pk)
    )
    state = invitation_state(invitation)
    if state is InvitationState.ACCEPTED:
        raise ValidationError(
            f"{invitation.profile.user.email} has accepted the invitation already: "
            "nothing was changed.",
            code="accepted",
        )
    if state is InvitationState.REVOKED:
        raise ValidationError(
            f"The invitation of {invitation.profile.user.email} was revoked: nothing was "
            "changed. Add them again to send a new one.",
            code="revoked",
        )
    return invitation


@transaction.atomic
def invitation_resend(*, invitation: StaffInvitation, actor: Actor) -> StaffInvitation:
    """Email a new link (valid for ``INVITATION_LIFETIME`` from now); every earlier link
    stops working at once. An expired invitation may be sent again; an accepted or revoked
    one may not (ValidationError)."""
    invitation = _locked_open(invitation)
    now = timezone.now()
    invitation.sends += 1
    invitation.token_hash = ""  # the earlier links die now, before the new email is built
    invitation.expires_at = now + INVITATION_LIFETIME
    invitation.save(update_fields=["sends", "token_hash", "expires_at"])
    audit.record(
        actor=actor,
        site=invitation.site,
        action=AuditAction.INVITATION_RESENT,
        target=invitation.profile.user.email,
        detail={"person": invitation.profile.user.email, "sends": invitation.sends},
    )
    _announce(invitation)
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: StaffInvitation, actor: Actor) -> StaffInvitation:
    """The invitation's link stops working; the person stays off the site (their profile
    inactive, their roles kept for the record). ValidationError when already accepted or
    revoked."""
    invitation = _locked_open(invitation)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit.record(
        actor=actor,
        site=invitation.site,
        action=AuditAction.INVITATION_REVOKED,
        target=invitation.profile.user.email,
        detail={"person": invitation.profile.user.email},
    )
    return invitation


def invitation_link_issue(
    *, invitation_id: int, send_number: int
) -> tuple[StaffInvitation, str] | None:
    """A new token for the email of send ``send_number`` of the invitation, its hash stored
    in place of any earlier one; None when that email must not be sent any more (a newer
    one was asked for, or the invitation was accepted, revoked or has expired). One
    conditional UPDATE, so two builds of the same email cannot both hold a working link."""
    token = secrets.token_urlsafe(32)
    issued = StaffInvitation.objects.filter(
        pk=invitation_id,
        sends=send_number,
        used_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
        profile__is_active=False,
    ).update(token_hash=token_hash(token))
    if not issued:
        return None
    invitation = StaffInvitation.objects.select_related("profile__user", "site").get(
        pk=invitation_id
    )
    return invitation, token


class InvitationLinkProblem(enum.StrEnum):
    NOT_VALID = "not_valid"  # forged, another site's, or replaced by a newer email
    EXPIRED = "expired"
    USED = "used"
    REVOKED = "revoked"


LINK_PROBLEM_MESSAGES = {
    InvitationLinkProblem.NOT_VALID: (
        "This invitation link is not valid here. If you were sent the invitation more than "
        "once, only the newest email’s link works. Otherwise ask whoever invited you to send "
        "it again."
    ),
    InvitationLinkProblem.EXPIRED: (
        "This invitation link has expired: links work for 7 days. Ask whoever invited you to "
        "send the invitation again."
    ),
    InvitationLinkProblem.USED: (
        "This invitation has been accepted already, and each link works once. Sign in with "
        "your email address and password."
    ),
    InvitationLinkProblem.REVOKED: (
        "This invitation was withdrawn. Ask whoever invited you if you think this is a mistake."
    ),
}


class InvitationLinkRefused(Exception):
    def __init__(self, problem: InvitationLinkProblem):
        super().__init__(LINK_PROBLEM_MESSAGES[problem])
        self.problem = problem


def invitation_for_link(*, site: Institution, token: str) -> StaffInvitation:
    """The invitation a link's ``token`` opens at ``site``; InvitationLinkRefused saying
    why not. A token of another site's invitation is refused like a forged one."""
    if not token or len(token) > 200:
        raise InvitationLinkRefused(InvitationLinkProblem.NOT_VALID)
    invitation = (
        StaffInvitation.objects.filter(site=site, token_hash=token_hash(token))
        .select_related("profile__user", "site")
        .first()
    )
    if invitation is None:
        raise InvitationLinkRefused(InvitationLinkProblem.NOT_VALID)
    state = invitation_state(invitation)
    if state is InvitationState.ACCEPTED:
        raise InvitationLinkRefused(InvitationLinkProblem.USED)
    if state is InvitationState.REVOKED:
        raise InvitationLinkRefused(InvitationLinkProblem.REVOKED)
    if state is InvitationState.EXPIRED:
        raise InvitationLinkRefused(InvitationLinkProblem.EXPIRED)
    return invitation


@transaction.atomic
def invitation_accept(
    *, site: Institution, token: str, password: str | None, ip_address: str | None
) -> StaffProfile:
    """Accept the invitation ``token`` opens at ``site``: the password is set (only when the
    person has none yet: an invitation never changes a password), the profile becomes
    active and the link is spent. InvitationLinkRefused changes nothing; so does a missing
    password for someone who has none (ValueError: the form asks for it first)."""
    found = invitation_for_link(site=site, token=token)
    invitation = (
        StaffInvitation.objects.select_for_update(of=("self",))
        .select_related("profile__user", "site")
        .get(pk=found.pk)
    )
    if invitation.token_hash != token_hash(token):  # a resend got there first
        raise InvitationLinkRefused(InvitationLinkProblem.NOT_VALID)
    state = invitation_state(invitation)
    if state is not InvitationState.PENDING:
        raise InvitationLinkRefused(
            {
                InvitationState.ACCEPTED: InvitationLinkProblem.USED,
                InvitationState.REVOKED: InvitationLinkProblem.REVOKED,
                InvitationState.EXPIRED: InvitationLinkProblem.EXPIRED,
            }[state]
        )
    profile, user = invitation.profile, invitation.profile.user
    password_set = False
    if not user.has_usable_password():
        if not password:
            raise ValueError("A password is needed: this person has none yet.")
        user.set_password(password)
        user.save(update_fields=["password"])
        password_set = True
    invitation.used_at = timezone.now()
    invitation.save(update_fields=["used_at"])
    profile.is_active = True
    profile.save(update_fields=["is_active"])
    audit.record(
        actor=Actor(user=user, site=site, ip_address=ip_address),
        site=site,
        action=AuditAction.INVITATION_ACCEPTED,
        target=user.email,
        detail={"person": user.email, "password_set": password_set},
    )
    return profile


# --- Deactivating and reactivating --------------------------------------------------------------


def site_sessions_end(*, user: User, site: Institution, actor: Actor) -> int:
    """Delete ``user``'s sessions on ``site``'s host (their own, or a Log in to MIS hop
    into it) and announce them (``staff_sessions_ended``), so that the hops hanging from
    them end too, audited. Returns how many ended.

    Sessions are stored signed and encoded, one row each, so this reads the live ones;
    deactivating someone is rare enough for that."""
    mark = session_mark(site)
    ended = []
    live = Session.objects.filter(expire_date__gt=timezone.now())
    for session in live.iterator(chunk_size=500):
        data = session.get_decoded()
        if str(data.get("_auth_user_id")) == str(user.pk) and data.get("_matmis_site") == mark:
            ended.append({"key": session.session_key, "data": data})
    if ended:
        Session.objects.filter(session_key__in=[s["key"] for s in ended]).delete()
        staff_sessions_ended.send(
            sender=StaffProfile, user=user, site=site, actor=actor, sessions=ended
        )
    return len(ended)


@dataclass(frozen=True)
class DeactivationResult:
    profile: StaffProfile
    sessions_ended: int = 0
    roles: tuple[str, ...] = field(default=())


@transaction.atomic
def staff_deactivate(*, profile: StaffProfile, actor: Actor) -> DeactivationResult:
    """``profile`` may no longer use its site: inactive, its sessions there ended (and so
    the hops from a group site), its roles, associations and audit trail kept. Refused
    (ValidationError, nothing changed) for oneself and for the last person who can manage
    staff there."""
    profile = (
        StaffProfile.objects.select_for_update(of=("self",))
        .select_related("user", "site")
        .get(pk=profile.pk)
    )
    if not profile.is_active:
        raise ValidationError(
            f"{profile.user.display_name} is not active at {profile.site.name}: nothing was "
            "changed.",
            code="inactive",
        )
    if actor.user is not None and actor.user.pk == profile.user_id:
        raise ValidationError(
            "You cannot deactivate yourself. Ask another person who manages staff here.",
            code="self",
        )
    held = list(
        RoleAssignment.objects.filter(profile=profile).select_related("role").order_by("role__name")
    )
    _refuse_locking_out(
        profile=profile,
        before=[(a.role_id, a.starts_on, a.ends_on) for a in held],
        after=[],
        actor=actor,
    )
    profile.is_active = False
    profile.save(update_fields=["is_active"])
    ended = site_sessions_end(user=profile.user, site=profile.site, actor=actor)
    roles = tuple(a.role.name for a in held)
    audit.record(
        actor=actor,
        site=profile.site,
        action=AuditAction.STAFF_DEACTIVATED,
        target=profile.user.email,
        detail={"person": profile.user.email, "roles_kept": list(roles), "sessions_ended": ended},
    )
    staff_deactivated.send(sender=StaffProfile, user=profile.user, site=profile.site, actor=actor)
    return DeactivationResult(profile, ended, roles)


def profile_ever_joined(profile: StaffProfile) -> bool:
    """Whether ``profile`` ever worked at its site: added as an existing user (no
    invitation), or an invitation of it was accepted."""
    invitations = StaffInvitation.objects.filter(profile=profile)
    return not invitations.exists() or invitations.filter(used_at__isnull=False).exists()


@transaction.atomic
def staff_reactivate(*, profile: StaffProfile, actor: Actor) -> StaffProfile:
    """A deactivated member of staff may use the site again, with the roles they held.
    Refused for someone active, or invited and never joined (invite them again)."""
    profile = (
        StaffProfile.objects.select_for_update(of=("self",))
        .select_related("user", "site")
        .get(pk=profile.pk)
    )
    name = profile.user.display_name
    if profile.is_active:
        raise ValidationError(f"{name} is active already: nothing was changed.", code="active")
    if not profile_ever_joined(profile):
        raise ValidationError(
            f"{name} never accepted their invitation to {profile.site.name}: add them again "
            "to send a new one, or send the open invitation again.",
            code="never_joined",
        )
    profile.is_active = True
    profile.save(update_fields=["is_active"])
    audit.record(
        actor=actor,
        site=profile.site,
        action=AuditAction.STAFF_REACTIVATED,
        target=profile.user.email,
        detail={"person": profile.user.email},
    )
    return profile
