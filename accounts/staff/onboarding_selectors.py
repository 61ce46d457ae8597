"""Reads of staff onboarding: the invitations not yet accepted and the deactivated staff of
a site (for the Staff list and the API). Every read takes the site."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.db.models.functions import Lower
from django.http import Http404
from django.utils import timezone

from accounts.models import RoleAssignment, StaffInvitation, StaffProfile
from institutions.models import Institution

from .onboarding import InvitationState, invitation_state


def _roles_prefetch(site: Institution, prefix: str = "") -> Prefetch:
    assignments = (
        RoleAssignment.objects.filter(site=site)
        .select_related("role")
        .order_by(Lower("role__name"), "pk")
    )
    return Prefetch(f"{prefix}assignments", queryset=assignments, to_attr="held_assignments")


@dataclass(frozen=True)
class InvitationRow:
    invitation: StaffInvitation
    state: InvitationState

    @property
    def person(self):
        return self.invitation.profile.user

    @property
    def role_names(self) -> list[str]:
        return [a.role.name for a in self.invitation.profile.held_assignments]


def open_invitations(*, site: Institution) -> QuerySet[StaffInvitation]:
    """The site's invitations neither accepted nor revoked (pending or expired), newest
    first, each with its person, inviter and roles. Two queries however many."""
    return (
        StaffInvitation.objects.filter(site=site, used_at__isnull=True, revoked_at__isnull=True)
        .select_related("profile__user", "invited_by")
        .prefetch_related(_roles_prefetch(site, "profile__"))
        .order_by("-created_at", "-pk")
    )


def invitation_rows(*, site: Institution) -> list[InvitationRow]:
    now = timezone.now()
    return [
        InvitationRow(invitation, invitation_state(invitation, now=now))
        for invitation in open_invitations(site=site)
    ]


def invitation_for_id(*, site: Institution, invitation_id: int | str) -> StaffInvitation:
    """The invitation ``invitation_id`` of ``site`` (any state); Http404 the same for a
    missing id and another site's."""
    try:
        pk = int(invitation_id)
    except (TypeError, ValueError):
        raise Http404("No such invitation here.") from None
    invitation = (
        StaffInvitation.objects.filter(site=site, pk=pk)
        .select_related("profile__user", "site")
        .first()
    )
    if invitation is None:
        raise Http404("No such invitation here.")
    return invitation


def deactivated_staff(*, site: Institution) -> QuerySet[StaffProfile]:
    """The site's deactivated staff (inactive profiles that had joined: added as existing
    users, or whose invitation was accepted), by name, with their roles."""
    invitations = StaffInvitation.objects.filter(profile=OuterRef("pk"))
    return (
        StaffProfile.objects.filter(site=site, is_active=False)
        .filter(~Exists(invitations) | Exists(invitations.filter(used_at__isnull=False)))
        .exclude(Exists(invitations.filter(used_at__isnull=True, revoked_at__isnull=True)))
        .select_related("user")
        .prefetch_related(_roles_prefetch(site))
        .order_by("user__full_name", "user__email")
    )


def deactivated_profile_for_id(*, site: Institution, profile_id: int | str) -> StaffProfile:
    """A deactivated member of staff of ``site``; Http404 for anyone else (missing, active,
    another site's, never joined)."""
    try:
        pk = int(profile_id)
    except (TypeError, ValueError):
        raise Http404("No such member of staff here.") from None
    profile = deactivated_staff(site=site).filter(pk=pk).first()
    if profile is None:
        raise Http404("No such member of staff here.")
    return profile
