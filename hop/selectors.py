"""Whether a person may be inside a school from a group: asked when a hop is issued, when
its token is redeemed, and on every request made inside it (``HopMiddleware``).

The four conditions come from their own modules, composed here into ONE query:

- the permission “Login to MIS: Associated institutions” at Administer at the group
  (``accounts.permissions.permission_grants``, the grants ``has_permission`` reads);
- the school among the person's effective associations
  (``accounts.staff.selectors.user_effective_schools``);
- the school one of the group's current schools (``institutions.selectors.current_schools``);
- the group's agreement with the school at level 3
  (``sharing.access.schools_with_group_actions``).
"""

from dataclasses import dataclass

from django.contrib.sessions.models import Session
from django.db.models import Exists, Value
from django.utils import timezone

from accounts.models import User
from accounts.permissions import LOGIN_TO_MIS, Access, permission_grants
from accounts.staff.selectors import user_effective_schools
from institutions.models import GROUP_KINDS, Institution
from institutions.selectors import current_schools
from sharing.access import GROUP_ACTIONS_LABEL, schools_with_group_actions

GROUP_SESSION_ENDED = "Your session on your group's site has ended."


@dataclass(frozen=True)
class HopStanding:
    """The answers for one person, group and school; ``refusal`` names the first that fails."""

    school: Institution
    group: Institution | None  # None: no such group (any more)
    group_session_alive: bool
    holds_permission: bool
    is_current_school: bool
    is_associated: bool
    has_group_actions: bool

    @property
    def refusal(self) -> str | None:
        """Why the person may not be (or stay) inside the school, in plain words; None when
        every condition holds."""
        school, group = self.school, self.group
        if group is None or not self.group_session_alive:
            return GROUP_SESSION_ENDED
        if not self.holds_permission:
            return (
                "You need the permission “Login to MIS: Associated institutions” to log in to "
                "a school's MIS."
            )
        if not self.is_current_school:
            return f"{school.name} is not one of {group.name}'s current schools."
        if not self.is_associated:
            return f"You are not associated with {school.name}."
        if not self.has_group_actions:
            return (
                f"{school.name} has not agreed to “{GROUP_ACTIONS_LABEL}”, "
                "which logging in to its MIS needs."
            )
        return None

    @property
    def group_session_ended(self) -> bool:
        return self.group is None or not self.group_session_alive


def hop_standing(
    *,
    user: User,
    group_id: int | None,
    school: Institution,
    group_session_key: str | None = None,
) -> HopStanding:
    """Every condition of being inside ``school`` from group ``group_id``, in one query
    (the group's row, annotated).

    ``group_session_key``: the group session the hop hangs from, which must still exist
    and be unexpired (a session key belongs to one person for its whole life: signing in
    as someone else gets a new key). None when the caller checks the group session itself.
    """
    # A reference by id for the subqueries: the group's row is this query's own result.
    group_ref = Institution(pk=group_id)
    if group_session_key is None:
        session_alive = Value(True)
    else:
        session_alive = Exists(
            Session.objects.filter(session_key=group_session_key, expire_date__gt=timezone.now())
        )
    this_school = Institution.objects.filter(pk=school.pk)
    group = (
        Institution.objects.filter(pk=group_id, kind__in=GROUP_KINDS)
        .annotate(
            group_session_alive=session_alive,
            holds_permission=Exists(
                permission_grants(user=user, site=group_ref, code=LOGIN_TO_MIS).filter(
                    access__gte=Access.ADMINISTER
                )
            ),
            is_current_school=Exists(current_schools(group=group_ref).filter(pk=school.pk)),
            is_associated=Exists(
                user_effective_schools(group=group_ref, user=user).filter(pk=school.pk)
            ),
            has_group_actions=Exists(
                schools_with_group_actions(group=group_ref, schools=this_school)
            ),
        )
        .first()
        if group_id is not None
        else None
    )
    if group is None:
        return HopStanding(school, None, False, False, False, False, False)
    return HopStanding(
        school=school,
        group=group,
        group_session_alive=group.group_session_alive,
        holds_permission=user.is_active and group.holds_permission,
        is_current_school=group.is_current_school,
        is_associated=group.is_associated,
        has_group_actions=group.has_group_actions,
    )
