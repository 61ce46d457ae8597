"""Reads about business roles. Every read takes the site."""

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce, Lower
from django.http import Http404
from django.utils import timezone

from accounts.models import BusinessRole, RoleAssignment, RoleGrant, StaffProfile, in_force_q
from accounts.permissions import REGISTRY, Access, PermissionDef
from institutions.models import Institution, InstitutionKind

NO_SUCH_ROLE = "No such role here."


def current_holdings(site: Institution) -> QuerySet[RoleAssignment]:
    """Assignments at ``site`` in force today, of active people."""
    return RoleAssignment.objects.filter(
        in_force_q(timezone.localdate()),
        site=site,
        profile__is_active=True,
        profile__user__is_active=True,
    )


def role_list(*, site: Institution, with_grants: bool = False) -> QuerySet[BusinessRole]:
    """The business roles of ``site`` by name, retired ones included (``retired_at``), each
    with ``holder_count``: the active people holding it today. One query, however many
    roles and holders (a second for ``grants`` when ``with_grants``)."""
    holders = (
        current_holdings(site)
        .filter(role=OuterRef("pk"))
        .order_by()
        .values("role")
        .annotate(n=Count("profile", distinct=True))
        .values("n")
    )
    roles = (
        BusinessRole.objects.filter(site=site)
        .annotate(holder_count=Coalesce(Subquery(holders, output_field=IntegerField()), 0))
        .order_by(Lower("name"), "pk")
    )
    if with_grants:
        roles = roles.prefetch_related(
            Prefetch("grants", queryset=RoleGrant.objects.filter(site=site).order_by("pk"))
        )
    return roles


def role_for_id(*, site: Institution, role_id: int | str) -> BusinessRole:
    """The role ``role_id`` of ``site`` with ``holder_count`` and ``grants``; Http404 the
    same for a role that does not exist and one of another site."""
    try:
        pk = int(role_id)
    except (TypeError, ValueError):
        raise Http404(NO_SUCH_ROLE) from None
    role = role_list(site=site, with_grants=True).filter(pk=pk).first()
    if role is None:
        raise Http404(NO_SUCH_ROLE)
    return role


def role_holders(*, site: Institution, role: BusinessRole) -> list[StaffProfile]:
    """The active people of ``site`` holding ``role`` today, by name."""
    return list(
        StaffProfile.objects.filter(
            site=site,
            is_active=True,
            user__is_active=True,
            pk__in=current_holdings(site).filter(role=role).values("profile_id"),
        )
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


# --- What a role grants, permission by permission ---------------------------------------------


def editable_permissions(*, site: Institution, in_school: bool = False) -> list[PermissionDef]:
    """The permissions of the registry a role of ``site`` can grant (``in_school``: the
    in-school set of a group role, the permissions of a school site), in registry order.
    Built from the registry alone, so a permission added there appears with no more work."""
    if in_school and not site.is_group:
        return []
    kind = InstitutionKind.SCHOOL.value if in_school else site.kind
    return [
        definition
        for definition in REGISTRY.values()
        if kind in definition.site_kinds and (definition.in_school_set or not in_school)
    ]


@dataclass(frozen=True)
class GrantLine:
    """One permission of the registry and the level a role grants it at."""

    definition: PermissionDef
    access: Access

    @property
    def code(self) -> str:
        return self.definition.code

    @property
    def levels(self) -> tuple[Access, ...]:
        """Off and the levels the registry allows (and the level held, if it is not one)."""
        allowed = set(self.definition.levels) | {self.access}
        return tuple(level for level in Access if level is Access.OFF or level in allowed)


@dataclass(frozen=True)
class GrantGroup:
    """Permissions sharing the subject before the colon of their labels."""

    subject: str
    lines: tuple[GrantLine, ...]


def role_grant_lines(
    *, site: Institution, role: BusinessRole, in_school: bool = False
) -> list[GrantLine]:
    """Every permission ``role`` (fetched with ``grants``) may grant in that scope, with the
    level it grants today (Off when absent)."""
    held = {
        grant.code: Access(grant.access)
        for grant in role.grants.all()
        if grant.in_school == in_school
    }
    return [
        GrantLine(definition, held.get(definition.code, Access.OFF))
        for definition in editable_permissions(site=site, in_school=in_school)
    ]


def grouped(lines: list[GrantLine]) -> list[GrantGroup]:
    """``lines`` grouped by subject (“Institution”, “User Details”...), in registry order."""
    groups: dict[str, list[GrantLine]] = {}
    for line in lines:
        subject = line.definition.label.split(":", 1)[0].strip()
        groups.setdefault(subject, []).append(line)
    return [GrantGroup(subject, tuple(items)) for subject, items in groups.items()]


def grant_words(role: BusinessRole, *, in_school: bool = False) -> Iterator[str]:
    """What a role (fetched with ``grants``) grants, in words."""
    for grant in role.grants.all():
        if grant.in_school == in_school and grant.code in REGISTRY:
            yield f"{REGISTRY[grant.code].label} ({Access(grant.access).label})"


def active_people(*, site: Institution) -> QuerySet[StaffProfile]:
    """The active staff of ``site`` by name (whom the access check may be asked about)."""
    return (
        StaffProfile.objects.filter(site=site, is_active=True, user__is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
