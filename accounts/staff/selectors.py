"""Reads about people. Every read of site data takes the site."""

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Lower
from django.http import Http404
from django.utils import timezone

from accounts.models import (
    AssociatedCluster,
    AssociatedSchool,
    BusinessRole,
    RoleAssignment,
    RoleGrant,
    StaffAssociation,
    StaffProfile,
    User,
    dates_in_force,
)
from institutions.models import Cluster, ClusterMembership, Institution, InstitutionKind
from institutions.selectors import RELEVANCE, current_schools, group_school_list

if TYPE_CHECKING:
    from accounts.permissions import Access


def staff_profile_for(*, site: Institution, user: User) -> StaffProfile | None:
    """The active staff profile of ``user`` at ``site``, or None."""
    if not user.is_authenticated or not user.is_active:
        return None
    return StaffProfile.objects.filter(site=site, user=user, is_active=True).first()


def staff_list(*, site: Institution) -> QuerySet[StaffProfile]:
    return (
        StaffProfile.objects.filter(site=site, is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


# =============================================================================================
# Staff: the list, one person's roles and associations, what a person may do
# =============================================================================================


@dataclass(frozen=True)
class HeldRole:
    """A role a person holds at a site, with its dates, as of ``today``."""

    role: BusinessRole
    starts_on: datetime.date | None
    ends_on: datetime.date | None
    today: datetime.date

    @classmethod
    def of(cls, assignment: RoleAssignment, today: datetime.date) -> "HeldRole":
        return cls(assignment.role, assignment.starts_on, assignment.ends_on, today)

    @property
    def name(self) -> str:
        return self.role.name

    @property
    def not_started(self) -> bool:
        return self.starts_on is not None and self.starts_on > self.today

    @property
    def ended(self) -> bool:
        return self.ends_on is not None and self.ends_on < self.today

    @property
    def in_force(self) -> bool:
        return dates_in_force(self.starts_on, self.ends_on, self.today)


def _assignments_prefetch(site: Institution) -> Prefetch:
    """A profile's role assignments at ``site``, by role name, as ``held_assignments``."""
    assignments = (
        RoleAssignment.objects.filter(site=site)
        .select_related("role")
        .order_by(Lower("role__name"), "pk")
    )
    return Prefetch("assignments", queryset=assignments, to_attr="held_assignments")


def held_roles(profile: StaffProfile, *, today: datetime.date | None = None) -> list[HeldRole]:
    """The roles of a profile fetched by ``staff_directory`` or ``staff_profile_for_id``."""
    today = today or timezone.localdate()
    return [HeldRole.of(assignment, today) for assignment in profile.held_assignments]


@dataclass(frozen=True)
class AssociationSummary:
    """How many of its group's schools a group staff member is associated with."""

    all_schools: bool
    school_count: int  # chosen one by one, among the group's current schools
    cluster_count: int
    effective_count: int | None = None  # None when not worked out

    @property
    def is_none(self) -> bool:
        return not self.all_schools and not self.school_count and not self.cluster_count

    @property
    def text(self) -> str:
        """“All schools”, “3 schools, 1 cluster” or “None”."""
        if self.all_schools:
            return "All schools"
        parts = []
        if self.school_count:
            parts.append(f"{self.school_count} school{'' if self.school_count == 1 else 's'}")
        if self.cluster_count:
            parts.append(f"{self.cluster_count} cluster{'' if self.cluster_count == 1 else 's'}")
        return ", ".join(parts) or "None"


def _count_per_profile(links: QuerySet) -> Coalesce:
    return Coalesce(
        Subquery(links.order_by().values("association").annotate(n=Count("pk")).values("n")), 0
    )


def staff_directory(*, site: Institution, search: str | None = None) -> QuerySet[StaffProfile]:
    """The site's active staff by name, optionally those whose name or email contains
    ``search``; each with ``held_assignments`` (see ``held_roles``) and, on a group site,
    ``assoc_all``, ``assoc_school_count`` and ``assoc_cluster_count`` (see
    ``directory_association_summary``). Three queries whatever the number of staff."""
    profiles = staff_list(site=site)
    text = " ".join((search or "").split())
    if text:
        profiles = profiles.filter(
            Q(user__full_name__icontains=text) | Q(user__email__icontains=text)
        )
    profiles = profiles.prefetch_related(_assignments_prefetch(site))
    if site.is_group:
        current = current_schools(group=site).order_by().values("pk")
        profiles = profiles.annotate(
            assoc_all=Exists(
                StaffAssociation.objects.filter(site=site, profile=OuterRef("pk"), all_schools=True)
            ),
            assoc_school_count=_count_per_profile(
                AssociatedSchool.objects.filter(
                    site=site, association__profile=OuterRef("pk"), school__in=current
                )
            ),
            assoc_cluster_count=_count_per_profile(
                AssociatedCluster.objects.filter(
                    site=site, association__profile=OuterRef("pk"), cluster__group=site
                )
            ),
        )
    return profiles


def directory_association_summary(profile: StaffProfile) -> AssociationSummary:
    """The associations of a profile fetched by ``staff_directory`` on a group site."""
    return AssociationSummary(
        all_schools=profile.assoc_all,
        school_count=profile.assoc_school_count,
        cluster_count=profile.assoc_cluster_count,
    )


def staff_profile_for_id(
    *, site: Institution, profile_id: int | str, with_roles: bool = True
) -> StaffProfile:
    """The active staff profile ``profile_id`` of ``site``, with its user and (unless
    ``with_roles`` is false) ``held_assignments``.

    Raises Http404, the same for an id that does not exist and one of another site.
    """
    try:
        pk = int(profile_id)
    except (TypeError, ValueError):
        raise Http404("No such member of staff here.") from None
    profiles = StaffProfile.objects.filter(site=site, is_active=True, pk=pk).select_related(
        "user", "site"
    )
    if with_roles:
        profiles = profiles.prefetch_related(_assignments_prefetch(site))
    profile = profiles.first()
    if profile is None:
        raise Http404("No such member of staff here.")
    return profile


def site_roles(*, site: Institution) -> QuerySet[BusinessRole]:
    """The business roles of ``site`` by name, with their ``grants``."""
    return (
        BusinessRole.objects.filter(site=site)
        .prefetch_related(
            Prefetch("grants", queryset=RoleGrant.objects.filter(site=site).order_by("pk"))
        )
        .order_by(Lower("name"), "pk")
    )


# --- Associations (group sites) --------------------------------------------------------------


def effective_schools(*, group: Institution, profile: StaffProfile) -> QuerySet[Institution]:
    """The schools ``profile`` (a staff profile of ``group``) works with: every current school
    of the group when associated to all; otherwise the chosen schools and the schools of the
    chosen clusters, in both cases only the group's current schools. One query."""
    if profile.site_id != group.pk or not group.is_group:
        return Institution.objects.none()
    return _schools_of_associations(
        group=group, association=StaffAssociation.objects.filter(site=group, profile=profile)
    )


def user_effective_schools(*, group: Institution, user: User) -> QuerySet[Institution]:
    """``effective_schools`` of ``user``'s active staff profile at ``group`` (none without
    one), without fetching the profile first: one queryset, so that a larger query can ask
    ``Exists`` of it in the same round trip."""
    association = StaffAssociation.objects.filter(
        site=group, profile__site=group, profile__user=user, profile__is_active=True
    )
    return _schools_of_associations(group=group, association=association)


def _schools_of_associations(
    *, group: Institution, association: QuerySet[StaffAssociation]
) -> QuerySet[Institution]:
    """The group's current schools that ``association`` (one person's) covers."""
    chosen = AssociatedSchool.objects.filter(site=group, association__in=association).values(
        "school_id"
    )
    through_clusters = ClusterMembership.objects.filter(
        group=group,
        cluster__in=AssociatedCluster.objects.filter(
            site=group, association__in=association
        ).values("cluster_id"),
    ).values("school_id")
    return current_schools(group=group).filter(
        Q(Exists(association.filter(all_schools=True)))
        | Q(pk__in=chosen)
        | Q(pk__in=through_clusters)
    )


def effective_school_ids(*, group: Institution, profile: StaffProfile) -> set[int]:
    """The ids of ``effective_schools``."""
    return set(
        effective_schools(group=group, profile=profile).order_by().values_list("pk", flat=True)
    )


def association_summary(*, group: Institution, profile: StaffProfile) -> AssociationSummary:
    """Counts of ``profile``'s associations at ``group``, with the effective school count.
    Two queries."""
    current = current_schools(group=group).order_by().values("pk")
    row = (
        StaffAssociation.objects.filter(site=group, profile=profile)
        .annotate(
            school_count=Count(
                "school_links", filter=Q(school_links__school__in=current), distinct=True
            ),
            cluster_count=Count(
                "cluster_links", filter=Q(cluster_links__cluster__group=group), distinct=True
            ),
        )
        .values("all_schools", "school_count", "cluster_count")
        .first()
    ) or {"all_schools": False, "school_count": 0, "cluster_count": 0}
    return AssociationSummary(
        **row, effective_count=effective_schools(group=group, profile=profile).count()
    )


@dataclass(frozen=True)
class AssociatedSchoolLine:
    """A school among a person's associations: chosen on its own, through clusters, or both."""

    school: Institution
    chosen: bool
    via: tuple[Cluster, ...] = ()

    @property
    def removable(self) -> bool:
        """Only a school chosen on its own and not also there through a cluster."""
        return self.chosen and not self.via


@dataclass(frozen=True)
class AssociatedClusterLine:
    cluster: Cluster
    schools: tuple[Institution, ...]


@dataclass(frozen=True)
class AssociationDetail:
    all_schools: bool
    schools: tuple[AssociatedSchoolLine, ...]  # chosen or through a cluster, by name
    clusters: tuple[AssociatedClusterLine, ...]
    effective_count: int
    chosen_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def summary(self) -> AssociationSummary:
        return AssociationSummary(
            all_schools=self.all_schools,
            school_count=len(self.chosen_ids),
            cluster_count=len(self.clusters),
            effective_count=self.effective_count,
        )


def association_detail(*, group: Institution, profile: StaffProfile) -> AssociationDetail:
    """Everything about ``profile``'s associations at ``group``: the chosen schools, the
    chosen clusters with their schools, each school with the chosen clusters that bring it
    (only the group's current schools), and the effective count. Five queries."""
    association = StaffAssociation.objects.filter(site=group, profile=profile).first()
    links = StaffAssociation.objects.filter(site=group, profile=profile)
    chosen = list(
        current_schools(group=group).filter(
            pk__in=AssociatedSchool.objects.filter(site=group, association__in=links).values(
                "school_id"
            )
        )
    )
    current = current_schools(group=group).order_by().values("pk")
    clusters = list(
        Cluster.objects.filter(
            group=group,
            pk__in=AssociatedCluster.objects.filter(site=group, association__in=links).values(
                "cluster_id"
            ),
        )
        .prefetch_related(
            Prefetch(
                "links",
                queryset=ClusterMembership.objects.filter(group=group, school__in=current)
                .select_related("school")
                .order_by(Lower("school__name"), "school_id"),
                to_attr="current_links",
            )
        )
        .order_by(Lower("name"), "pk")
    )
    via: dict[int, list[Cluster]] = {}
    schools: dict[int, Institution] = {school.pk: school for school in chosen}
    for cluster in clusters:
        for link in cluster.current_links:
            via.setdefault(link.school_id, []).append(cluster)
            schools.setdefault(link.school_id, link.school)
    chosen_ids = frozenset(school.pk for school in chosen)
    lines = sorted(
        (
            AssociatedSchoolLine(school, school.pk in chosen_ids, tuple(via.get(school.pk, ())))
            for school in schools.values()
        ),
        key=lambda line: (line.school.name.casefold(), line.school.pk),
    )
    return AssociationDetail(
        all_schools=association.all_schools if association else False,
        schools=tuple(lines),
        clusters=tuple(
            AssociatedClusterLine(cluster, tuple(link.school for link in cluster.current_links))
            for cluster in clusters
        ),
        effective_count=effective_schools(group=group, profile=profile).count(),
        chosen_ids=chosen_ids,
    )


def association_candidates(
    *, group: Institution, profile: StaffProfile, search: str | None = None
) -> QuerySet[Institution]:
    """The group's current schools that ``profile`` has not chosen yet, matching ``search``
    (name, URN, postcode or town), best match first, each with ``group_clusters``."""
    chosen = AssociatedSchool.objects.filter(site=group, association__profile=profile).values(
        "school_id"
    )
    return group_school_list(group=group, search=search, sort=RELEVANCE).exclude(pk__in=chosen)


# --- What a person may do ----------------------------------------------------------------------


@dataclass(frozen=True)
class GrantSource:
    role_name: str
    access: "Access"


@dataclass(frozen=True)
class PermissionLine:
    code: str
    label: str
    description: str
    access: "Access"
    granted_by: tuple[GrantSource, ...]


@dataclass(frozen=True)
class PermissionSummary:
    """What one member of staff may do at a site, and why."""

    profile: StaffProfile
    permissions: tuple[PermissionLine, ...]  # every permission that applies to the site
    # Group sites: the school-level set, what they may do inside a school reached by a hop.
    in_school: tuple[PermissionLine, ...]
    roles: tuple[HeldRole, ...]
    associations: AssociationSummary | None  # group sites only
    account_active: bool

    @property
    def roles_not_in_force(self) -> tuple[HeldRole, ...]:
        return tuple(role for role in self.roles if not role.in_force)


def permission_summary(*, site: Institution, profile: StaffProfile) -> PermissionSummary:
    """For each permission of the registry that applies to ``site``'s kind, the level
    ``profile`` holds today and the roles in force that grant it; on a group site also the
    school-level set and the associations. The same answer as ``access_level``, in a constant
    number of queries (four on a group site, two on a school site, once the profile's user
    is loaded)."""
    # Imported here: accounts.permissions imports this module (staff_profile_for).
    from accounts.permissions import REGISTRY, Access

    if profile.site_id != site.pk:
        raise Http404("No such member of staff here.")
    today = timezone.localdate()
    assignments = list(
        RoleAssignment.objects.filter(site=site, profile=profile)
        .select_related("role")
        .prefetch_related(Prefetch("role__grants", queryset=RoleGrant.objects.filter(site=site)))
        .order_by(Lower("role__name"), "pk")
    )
    roles = tuple(HeldRole.of(assignment, today) for assignment in assignments)
    account_active = profile.is_active and profile.user.is_active
    # A retired role grants nothing (as in ``access_level``).
    in_force = [
        a
        for a, held in zip(assignments, roles, strict=True)
        if held.in_force and not a.role.is_retired
    ]

    def lines(kind: str, in_school: bool) -> tuple[PermissionLine, ...]:
        result = []
        for code, definition in REGISTRY.items():
            if kind not in definition.site_kinds:
                continue
            sources = tuple(
                GrantSource(assignment.role.name, Access(grant.access))
                for assignment in in_force
                for grant in assignment.role.grants.all()
                if grant.code == code and grant.in_school == in_school
            )
            access = max((s.access for s in sources), default=Access.OFF)
            result.append(
                PermissionLine(
                    code=code,
                    label=definition.label,
                    description=definition.description,
                    access=access if account_active else Access.OFF,
                    granted_by=sources if account_active else (),
                )
            )
        return tuple(result)

    return PermissionSummary(
        profile=profile,
        permissions=lines(site.kind, in_school=False),
        in_school=lines(InstitutionKind.SCHOOL, in_school=True) if site.is_group else (),
        roles=roles,
        associations=association_summary(group=site, profile=profile) if site.is_group else None,
        account_active=account_active,
    )


def site_has_active_staff(*, site: Institution) -> bool:
    """Whether anyone works at the site on the platform (an active staff profile): a school
    with nobody here cannot receive a pupil's transfer, it gets a CTF instead."""
    return StaffProfile.objects.filter(site=site, is_active=True).exists()
