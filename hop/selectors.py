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

import datetime
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.sessions.models import Session
from django.db.models import Exists, OuterRef, QuerySet, Value
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from accounts.models import AuditAction, AuditEvent, User
from accounts.permissions import (
    LOGIN_TO_MIS,
    USER_DETAILS,
    Access,
    permission_grants,
    permission_holders,
)
from accounts.staff.selectors import user_effective_schools
from institutions.models import GROUP_KINDS, Institution
from institutions.selectors import current_schools
from sharing.access import (
    GROUP_ACTIONS_LABEL,
    agreements_page_tabs,
    schools_with_group_actions,
)

GROUP_SESSION_ENDED = "Your session on your group's site has ended."
TWO_FACTOR_NEEDED = (
    "Logging in to a school's MIS needs two-factor sign-in. Set it up, sign in "
    "again with your code, then try again."
)


class HopRefusal(StrEnum):
    """Which condition of the hop fails, for pages and the API to say what to do."""

    GROUP_SESSION_ENDED = "group_session_ended"
    TWO_FACTOR = "two_factor"
    PERMISSION = "permission"
    NOT_CURRENT_SCHOOL = "not_current_school"
    NOT_ASSOCIATED = "not_associated"
    AGREEMENT = "agreement"


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

    # False when the group session has not passed two-factor sign-in (asked by the caller:
    # a hop session carries the group session's verification).
    two_factor_passed: bool = True

    @property
    def refusal_code(self) -> HopRefusal | None:
        """The first condition that fails, in the order they are explained; None when every
        condition holds."""
        if self.group is None or not self.group_session_alive:
            return HopRefusal.GROUP_SESSION_ENDED
        if not self.two_factor_passed:
            return HopRefusal.TWO_FACTOR
        if not self.holds_permission:
            return HopRefusal.PERMISSION
        if not self.is_current_school:
            return HopRefusal.NOT_CURRENT_SCHOOL
        if not self.is_associated:
            return HopRefusal.NOT_ASSOCIATED
        if not self.has_group_actions:
            return HopRefusal.AGREEMENT
        return None

    @property
    def refusal(self) -> str | None:
        """Why the person may not be (or stay) inside the school, in plain words; None when
        every condition holds."""
        school, group = self.school, self.group
        return {
            None: None,
            HopRefusal.GROUP_SESSION_ENDED: GROUP_SESSION_ENDED,
            HopRefusal.TWO_FACTOR: TWO_FACTOR_NEEDED,
            HopRefusal.PERMISSION: (
                "You need the permission “Login to MIS: Associated institutions” to log in to "
                "a school's MIS."
            ),
            HopRefusal.NOT_CURRENT_SCHOOL: (
                f"{school.name} is not one of {group.name}'s current schools."
            ),
            HopRefusal.NOT_ASSOCIATED: f"You are not associated with {school.name}.",
            HopRefusal.AGREEMENT: (
                f"{school.name} has not agreed to “{GROUP_ACTIONS_LABEL}”, "
                "which logging in to its MIS needs."
            ),
        }[self.refusal_code]

    @property
    def group_session_ended(self) -> bool:
        return self.group is None or not self.group_session_alive


def _conditions(*, user: User, group: Institution, school_id) -> dict:
    """The four conditions for ``user`` between ``group`` and the school ``school_id`` (an
    id, or ``OuterRef("pk")`` on a query of schools), as ``Exists`` annotations."""
    return {
        "holds_permission": Exists(
            permission_grants(user=user, site=group, code=LOGIN_TO_MIS).filter(
                access__gte=Access.ADMINISTER
            )
        ),
        "is_current_school": Exists(current_schools(group=group).filter(pk=school_id)),
        "is_associated": Exists(
            user_effective_schools(group=group, user=user).filter(pk=school_id)
        ),
        "has_group_actions": Exists(
            schools_with_group_actions(
                group=group, schools=Institution.objects.filter(pk=school_id)
            )
        ),
    }


def hop_standing(
    *,
    user: User,
    group_id: int | None,
    school: Institution,
    group_session_key: str | None = None,
    two_factor_passed: bool = True,
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
    group = (
        Institution.objects.filter(pk=group_id, kind__in=GROUP_KINDS)
        .annotate(
            group_session_alive=session_alive,
            **_conditions(user=user, group=group_ref, school_id=school.pk),
        )
        .first()
        if group_id is not None
        else None
    )
    if group is None:
        return HopStanding(school, None, False, False, False, False, False, two_factor_passed)
    return HopStanding(
        school=school,
        group=group,
        group_session_alive=group.group_session_alive,
        holds_permission=user.is_active and group.holds_permission,
        is_current_school=group.is_current_school,
        is_associated=group.is_associated,
        has_group_actions=group.has_group_actions,
        two_factor_passed=two_factor_passed,
    )


def hop_standings(
    *,
    user: User,
    group: Institution,
    two_factor_passed: bool,
    schools: QuerySet[Institution] | None = None,
) -> list[HopStanding]:
    """``hop_standing`` for each of ``schools`` (by default the schools ``user`` is
    associated with at ``group``), by name, in one query however many: for the Log in to
    MIS page and the institution page."""
    if schools is None:
        schools = user_effective_schools(group=group, user=user)
    rows = schools.annotate(
        **_conditions(user=user, group=group, school_id=OuterRef("pk"))
    ).order_by("name")
    return [
        HopStanding(
            school=school,
            group=group,
            group_session_alive=True,
            holds_permission=user.is_active and school.holds_permission,
            is_current_school=school.is_current_school,
            is_associated=school.is_associated,
            has_group_actions=school.has_group_actions,
            two_factor_passed=two_factor_passed,
        )
        for school in rows
    ]


# --- What to do about a refusal (the Log in to MIS place on pages, and the API) -------------


@dataclass(frozen=True)
class HopNextStep:
    """What the person can do about a refusal: a link to follow, or whom to ask."""

    text: str
    link_url: str = ""
    link_text: str = ""
    ask: tuple[str, ...] = ()  # the people who can grant it, by name; empty: see ``text``


@dataclass(frozen=True)
class HopPlace:
    """What the place of the Log in to MIS button shows for one school: the button when
    the hop is possible, otherwise why not (``standing.refusal``) and what to do."""

    standing: HopStanding
    next_step: HopNextStep | None

    @property
    def school(self) -> Institution:
        return self.standing.school

    @property
    def possible(self) -> bool:
        return self.standing.refusal_code is None


def hop_places(
    *,
    user: User,
    group: Institution,
    two_factor_passed: bool,
    schools: QuerySet[Institution] | None = None,
) -> list[HopPlace]:
    """``hop_standings`` with what to do about each refusal: at most three queries however
    many schools (the standings; the agreements of the schools refused for their level;
    the people who can grant a missing permission or association)."""
    standings = hop_standings(
        user=user, group=group, two_factor_passed=two_factor_passed, schools=schools
    )
    codes = {standing.refusal_code for standing in standings}
    tabs = agreements_page_tabs(
        group=group,
        school_ids=[s.school.pk for s in standings if s.refusal_code == HopRefusal.AGREEMENT],
    )
    ask: tuple[str, ...] = ()
    if codes & {HopRefusal.PERMISSION, HopRefusal.NOT_ASSOCIATED}:
        holders = permission_holders(site=group, code=USER_DETAILS, access=Access.ADMINISTER)
        holders = holders.order_by(Lower("full_name"), "email")
        ask = tuple(person.display_name for person in holders)
    return [HopPlace(standing, _next_step(standing, tabs=tabs, ask=ask)) for standing in standings]


def hop_place(
    *, user: User, group: Institution, school: Institution, two_factor_passed: bool
) -> HopPlace:
    """``hop_places`` for one of ``group``'s schools (the institution page)."""
    (place,) = hop_places(
        user=user,
        group=group,
        two_factor_passed=two_factor_passed,
        schools=Institution.objects.filter(pk=school.pk),
    )
    return place


def _next_step(
    standing: HopStanding, *, tabs: dict[int, str], ask: tuple[str, ...]
) -> HopNextStep | None:
    code, school = standing.refusal_code, standing.school
    if code == HopRefusal.TWO_FACTOR:
        return HopNextStep(
            "Set up two-factor sign-in, or sign out and sign in again with your code.",
            link_url=reverse("accounts:two-factor"),
            link_text="Set up two-factor sign-in",
        )
    if code == HopRefusal.AGREEMENT:
        query = urlencode({"tab": tabs[school.pk], "q": school.urn or school.name})
        return HopNextStep(
            f"Ask {school.name} for an agreement at “{GROUP_ACTIONS_LABEL}”.",
            link_url=f"{reverse('sharing:agreements')}?{query}",
            link_text=f"Raise the agreement with {school.name}",
        )
    if code in (HopRefusal.PERMISSION, HopRefusal.NOT_ASSOCIATED):
        what = "this permission" if code == HopRefusal.PERMISSION else "this association"
        if ask:
            return HopNextStep(f"These people can give you {what}:", ask=ask)
        return HopNextStep(f"Ask your trust administrator for {what}.")
    return None


# --- Back on the group's site after a hop ---------------------------------------------------

RETURN_MESSAGE_WINDOW = datetime.timedelta(minutes=5)


def hop_just_ended(*, user: User, group: Institution, school_id: str) -> Institution | None:
    """The school of ``group`` (by id, as the return link names it) whose hop ``user`` ended
    in the last few minutes, by the group's audit trail; None otherwise, so that a link
    alone can never make the group's site say that a session has ended."""
    if not school_id.isdigit():
        return None
    school = current_schools(group=group).filter(pk=int(school_id)).first()
    if school is None:
        return None
    ended = AuditEvent.objects.filter(
        site=group,
        actor=user,
        acting_from=group,
        action=AuditAction.HOP_ENDED,
        target=school.name,
        at__gte=timezone.now() - RETURN_MESSAGE_WINDOW,
    ).exists()
    return school if ended else None
