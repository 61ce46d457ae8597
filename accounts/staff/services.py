"""Writes about people: users, staff profiles, business roles, role assignments and
associations."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts import audit
from accounts.audit import Actor
from accounts.models import (
    AssociatedCluster,
    AssociatedSchool,
    AuditAction,
    BusinessRole,
    RoleAssignment,
    RoleGrant,
    StaffAssociation,
    StaffProfile,
    User,
    dates_in_force,
)
from accounts.permissions import (
    REGISTRY,
    USER_DETAILS,
    Access,
    default_in_school_grants_for,
    default_roles_for,
)
from institutions.models import Cluster, Institution
from institutions.selectors import current_schools


@transaction.atomic
def user_ensure(
    *, email: str, full_name: str, password: str | None = None, is_platform_staff: bool = False
) -> User:
    """The user with ``email``; created if missing, and its name and password brought up to
    date. Used by the demo data and by support tooling."""
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User(email=email)
    user.full_name = full_name
    user.is_staff = is_platform_staff
    user.is_superuser = is_platform_staff
    if password is not None and not user.check_password(password):
        user.set_password(password)
    user.save()
    return user


@transaction.atomic
def staff_profile_ensure(*, site: Institution, user: User, job_title: str = "") -> StaffProfile:
    profile, created = StaffProfile.objects.get_or_create(
        site=site, user=user, defaults={"job_title": job_title}
    )
    if not created and (profile.job_title != job_title or not profile.is_active):
        profile.job_title, profile.is_active = job_title, True
        profile.save(update_fields=["job_title", "is_active"])
    return profile


@transaction.atomic
def roles_ensure_defaults(*, site: Institution) -> dict[str, BusinessRole]:
    """The site's business roles by name, seeded with the defaults of its kind the first
    time (when it has no seeded role yet). Afterwards the site owns them: a seeded role it
    renamed or deleted stays so.
    """
    roles = list(BusinessRole.objects.filter(site=site))
    existing = {role.name: role for role in roles}
    if any(role.is_seeded for role in roles):
        return existing
    in_school = default_in_school_grants_for(site)
    grants = []
    for name, role_grants in default_roles_for(site).items():
        if name in existing:
            continue
        role = BusinessRole.objects.create(site=site, name=name, is_seeded=True)
        existing[name] = role
        grants += [
            RoleGrant(site=site, role=role, code=code, access=int(access))
            for code, access in role_grants.items()
        ]
        grants += [
            RoleGrant(site=site, role=role, code=code, access=int(access), in_school=True)
            for code, access in in_school.get(name, {}).items()
        ]
    RoleGrant.objects.bulk_create(grants)
    return existing


@transaction.atomic
def role_assign(
    *,
    profile: StaffProfile,
    role: BusinessRole,
    starts_on: datetime.date | None = None,
    ends_on: datetime.date | None = None,
) -> RoleAssignment:
    """``profile`` holds ``role`` (of the same site), between the dates if given."""
    if role.site_id != profile.site_id:
        raise ValueError("A role can only be assigned to staff of its own site.")
    if starts_on and ends_on and ends_on < starts_on:
        raise ValueError("The end date must be on or after the start date.")
    assignment, _ = RoleAssignment.objects.update_or_create(
        profile=profile,
        role=role,
        defaults={"site_id": profile.site_id, "starts_on": starts_on, "ends_on": ends_on},
    )
    return assignment


# =============================================================================================
# Staff: role assignments and associations
# =============================================================================================

NOT_THIS_SITES_ROLES = "Choose from this site’s roles. Nothing was changed."


@dataclass(frozen=True)
class RoleAssignmentsChange:
    """The names of the roles assigned, removed, and kept with new dates."""

    assigned: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    redated: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.assigned or self.removed or self.redated)


def _iso(day: datetime.date | None) -> str | None:
    return day.isoformat() if day else None


def _role_target(profile: StaffProfile, role: BusinessRole) -> str:
    return f"{profile.user.email}: {role.name}"


def _administering_grants(site: Institution):
    return RoleGrant.objects.filter(
        site=site,
        code=USER_DETAILS,
        access=int(Access.ADMINISTER),
        in_school=False,
        role__retired_at__isnull=True,
    )


def administering_role_ids(site: Institution) -> set[int]:
    """The roles of ``site`` granting User Details: Manage All Users at Administer (a
    retired role grants nothing)."""
    return set(_administering_grants(site).values_list("role_id", flat=True))


def lock_administering_roles(site: Institution) -> None:
    """Lock ``site``'s roles granting User Details: Manage All Users at Administer, in one
    order, so that changes that could take the last of them away happen one at a time."""
    list(
        BusinessRole.objects.select_for_update()
        .filter(pk__in=_administering_grants(site).values("role_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def someone_else_administers(
    *, site: Institution, role_ids: set[int], excluding_profile: StaffProfile | None = None
) -> bool:
    """Whether an active person of ``site`` (other than ``excluding_profile``) holds one of
    ``role_ids`` today. Locks the site's administering roles first: two people taking away
    the last administering role or grant at the same moment are decided one after the
    other, the second seeing what the first did."""
    lock_administering_roles(site)
    holders = RoleAssignment.objects.in_force(on=timezone.localdate()).filter(
        site=site,
        role_id__in=role_ids,
        role__retired_at__isnull=True,
        profile__is_active=True,
        profile__user__is_active=True,
    )
    if excluding_profile is not None:
        holders = holders.exclude(profile=excluding_profile)
    return holders.exists()


def _refuse_locking_out(
    *,
    profile: StaffProfile,
    before: Iterable[tuple[int, datetime.date | None, datetime.date | None]],
    after: Iterable[tuple[int, datetime.date | None, datetime.date | None]],
    actor: Actor,
) -> None:
    """ValidationError when taking away ``profile``'s power to manage staff would leave
    nobody at the site who has it (the site would be locked out of its own staff pages)."""
    site, today = profile.site, timezone.localdate()
    administering = administering_role_ids(site)

    def administers(dated) -> bool:
        return any(
            role_id in administering and dates_in_force(starts_on, ends_on, today)
            for role_id, starts_on, ends_on in dated
        )

    if not administers(before) or administers(after):
        return
    others = someone_else_administers(site=site, role_ids=administering, excluding_profile=profile)
    if others:
        return
    label = REGISTRY[USER_DETAILS].label
    if actor.user is not None and actor.user.pk == profile.user_id:
        message = (
            f"You cannot remove your own last role with “{label}” at Administer: you are the "
            f"only person who can manage staff at {site.name}. Give someone else that "
            "permission first."
        )
    else:
        message = (
            f"{profile.user.display_name} is the only person who can manage staff at "
            f"{site.name} (“{label}” at Administer). Give someone else that permission "
            "first, so that nobody is locked out."
        )
    raise ValidationError(message, code="last_administrator")


@transaction.atomic
def role_assignments_set(
    *,
    profile: StaffProfile,
    assignments: list[tuple[BusinessRole, datetime.date | None, datetime.date | None]],
    actor: Actor,
) -> RoleAssignmentsChange:
    """Make ``assignments`` (role, starts_on, ends_on) exactly the roles ``profile`` holds.

    Every role must be one of the profile's site, given once, its end on or after its start;
    otherwise nothing changes (ValidationError). Refused too when it would leave nobody at the
    site able to manage staff. Each role assigned, removed or given new dates is audited.
    """
    wanted: dict[int, tuple[BusinessRole, datetime.date | None, datetime.date | None]] = {}
    for role, starts_on, ends_on in assignments:
        if role.site_id != profile.site_id:
            raise ValidationError(NOT_THIS_SITES_ROLES, code="not_this_site")
        if role.pk in wanted:
            raise ValidationError(
                f"“{role.name}” is given twice. Give each role once.", code="duplicate"
            )
        if starts_on and ends_on and ends_on < starts_on:
            raise ValidationError(
                f"The end date of “{role.name}” must be the same as or after its start date.",
                code="dates_out_of_order",
            )
        wanted[role.pk] = (role, starts_on, ends_on)

    # One change to a person's roles at a time: each decides on what the last one left.
    profile = (
        StaffProfile.objects.select_for_update(of=("self",))
        .select_related("user", "site")
        .get(pk=profile.pk)
    )
    current = {
        assignment.role_id: assignment
        for assignment in RoleAssignment.objects.filter(profile=profile).select_related("role")
    }
    removed = [a for role_id, a in current.items() if role_id not in wanted]
    added = [entry for role_id, entry in wanted.items() if role_id not in current]
    redated = [
        (current[role_id], starts_on, ends_on)
        for role_id, (_, starts_on, ends_on) in wanted.items()
        if role_id in current
        and (current[role_id].starts_on, current[role_id].ends_on) != (starts_on, ends_on)
    ]
    if not (removed or added or redated):
        return RoleAssignmentsChange()
    retired = sorted(
        BusinessRole.objects.filter(
            pk__in=[role.pk for role, _, _ in added], retired_at__isnull=False
        ).values_list("name", flat=True)
    )
    if retired:
        raise ValidationError(
            f"{_quoted(retired)} {'is' if len(retired) == 1 else 'are'} retired and "
            "cannot be given to anyone. Reinstate the role first. Nothing was changed.",
            code="retired_role",
        )
    _refuse_locking_out(
        profile=profile,
        before=[(a.role_id, a.starts_on, a.ends_on) for a in current.values()],
        after=[(role_id, s, e) for role_id, (_, s, e) in wanted.items()],
        actor=actor,
    )

    site = profile.site
    for assignment in removed:
        assignment.delete()
        audit.record(
            actor=actor,
            site=site,
            action=AuditAction.ROLE_REMOVED,
            target=_role_target(profile, assignment.role),
            detail={
                "person": profile.user.email,
                "role": assignment.role.name,
                "role_id": assignment.role_id,
            },
        )
    for role, starts_on, ends_on in added:
        RoleAssignment.objects.create(
            site=site, profile=profile, role=role, starts_on=starts_on, ends_on=ends_on
        )
        audit.record(
            actor=actor,
            site=site,
            action=AuditAction.ROLE_ASSIGNED,
            target=_role_target(profile, role),
            detail={
                "person": profile.user.email,
                "role": role.name,
                "role_id": role.pk,
                "starts_on": _iso(starts_on),
                "ends_on": _iso(ends_on),
            },
        )
    for assignment, starts_on, ends_on in redated:
        previous = {"starts_on": _iso(assignment.starts_on), "ends_on": _iso(assignment.ends_on)}
        assignment.starts_on, assignment.ends_on = starts_on, ends_on
        assignment.save(update_fields=["starts_on", "ends_on"])
        audit.record(
            actor=actor,
            site=site,
            action=AuditAction.ROLE_ASSIGNED,
            target=_role_target(profile, assignment.role),
            detail={
                "person": profile.user.email,
                "role": assignment.role.name,
                "role_id": assignment.role_id,
                "starts_on": _iso(starts_on),
                "ends_on": _iso(ends_on),
                "previous": previous,
            },
        )
    return RoleAssignmentsChange(
        assigned=tuple(role.name for role, _, _ in added),
        removed=tuple(a.role.name for a in removed),
        redated=tuple(a.role.name for a, _, _ in redated),
    )


# --- Associations: which of its group's schools a group staff member works with -----------

NO_ASSOCIATIONS_HERE = "Only staff of a trust or local authority have associated schools."


def not_the_groups_schools(group: Institution) -> str:
    return f"Choose from {group.name}’s current schools. Nothing was changed."


def not_the_groups_clusters(group: Institution) -> str:
    return f"Choose from {group.name}’s clusters. Nothing was changed."


def _quoted(names: list[str]) -> str:
    quoted = [f"“{name}”" for name in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def through_cluster_message(school: Institution, clusters: list[Cluster]) -> str:
    """Why ``school`` cannot be removed on its own: every chosen cluster that brings it."""
    names = [cluster.name for cluster in clusters]
    if len(names) == 1:
        return (
            f"{school.name} is associated through the cluster {_quoted(names)}. Remove the "
            "cluster to remove this school."
        )
    return (
        f"{school.name} is associated through the clusters {_quoted(names)}. Remove those "
        "clusters to remove this school."
    )


@dataclass(frozen=True)
class AssociationChange:
    """What changed in one person's associations."""

    all_schools: tuple[bool, bool] | None = None  # (from, to) when it changed
    schools_added: tuple[Institution, ...] = ()
    schools_removed: tuple[Institution, ...] = ()
    clusters_added: tuple[Cluster, ...] = ()
    clusters_removed: tuple[Cluster, ...] = ()
    detail: dict = field(default_factory=dict, compare=False)

    @property
    def changed(self) -> bool:
        return bool(
            self.all_schools
            or self.schools_added
            or self.schools_removed
            or self.clusters_added
            or self.clusters_removed
        )


def _school_refs(schools) -> list[dict]:
    return [{"urn": school.urn, "name": school.name} for school in schools]


def _cluster_refs(clusters) -> list[dict]:
    return [{"id": cluster.pk, "name": cluster.name} for cluster in clusters]


def _association_for_update(profile: StaffProfile) -> tuple[StaffProfile, StaffAssociation]:
    """The profile, locked (changes to one person's associations happen one at a time), and
    its association, created if missing."""
    if not profile.site.is_group:
        raise ValidationError(NO_ASSOCIATIONS_HERE, code="not_a_group")
    profile = (
        StaffProfile.objects.select_for_update(of=("self",))
        .select_related("user", "site")
        .get(pk=profile.pk)
    )
    association, _ = StaffAssociation.objects.get_or_create(
        profile=profile, defaults={"site": profile.site}
    )
    return profile, association


def _group_schools(group: Institution, schools: Iterable[Institution]) -> list[Institution]:
    """``schools`` without repeats, by name; ValidationError unless every one is a current
    school of ``group`` (the same error for any other school, wherever it is)."""
    schools = list({school.pk: school for school in schools}.values())
    ids = {school.pk for school in schools}
    if ids and current_schools(group=group).filter(pk__in=ids).count() != len(ids):
        raise ValidationError({"schools": not_the_groups_schools(group)}, code="not_in_group")
    return sorted(schools, key=lambda school: (school.name.casefold(), school.pk))


def _group_clusters(group: Institution, clusters: Iterable[Cluster]) -> list[Cluster]:
    clusters = list({cluster.pk: cluster for cluster in clusters}.values())
    if any(cluster.group_id != group.pk for cluster in clusters):
        raise ValidationError({"clusters": not_the_groups_clusters(group)}, code="not_in_group")
    return sorted(clusters, key=lambda cluster: (cluster.name.casefold(), cluster.pk))


def _chosen_current_schools(association: StaffAssociation) -> dict[int, Institution]:
    chosen = AssociatedSchool.objects.filter(association=association).values("school_id")
    return {
        school.pk: school
        for school in current_schools(group=association.site).filter(pk__in=chosen)
    }


def _clusters_bringing(
    association: StaffAssociation, schools: list[Institution], cluster_ids: set[int]
) -> dict[int, list[Cluster]]:
    """For each of ``schools``, those of the clusters ``cluster_ids`` that contain it."""
    result: dict[int, list[Cluster]] = {}
    if not schools or not cluster_ids:
        return result
    clusters = (
        Cluster.objects.filter(
            group=association.site,
            pk__in=cluster_ids,
            links__school__in=[school.pk for school in schools],
        )
        .values_list("links__school_id", "pk", "name")
        .order_by(Lower("name"), "pk")
    )
    for school_id, pk, name in clusters:
        result.setdefault(school_id, []).append(Cluster(pk=pk, name=name))
    return result


def _audit_association(
    *, actor: Actor, profile: StaffProfile, change: AssociationChange
) -> AssociationChange:
    detail: dict = {"person": profile.user.email}
    if change.all_schools:
        detail["all_schools"] = {"from": change.all_schools[0], "to": change.all_schools[1]}
    if change.schools_added:
        detail["schools_added"] = _school_refs(change.schools_added)
    if change.schools_removed:
        detail["schools_removed"] = _school_refs(change.schools_removed)
    if change.clusters_added:
        detail["clusters_added"] = _cluster_refs(change.clusters_added)
    if change.clusters_removed:
        detail["clusters_removed"] = _cluster_refs(change.clusters_removed)
    if change.changed:
        audit.record(
            actor=actor,
            site=profile.site,
            action=AuditAction.ASSOCIATION_CHANGED,
            target=profile.user.email,
            detail=detail,
        )
    return AssociationChange(
        all_schools=change.all_schools,
        schools_added=change.schools_added,
        schools_removed=change.schools_removed,
        clusters_added=change.clusters_added,
        clusters_removed=change.clusters_removed,
        detail=detail,
    )


def _apply_all_schools(association: StaffAssociation, all_schools: bool):
    if association.all_schools == all_schools:
        return None
    association.all_schools = all_schools
    association.save(update_fields=["all_schools"])
    return (not all_schools, all_schools)


def _apply_schools_added(
    association: StaffAssociation, schools: list[Institution]
) -> tuple[Institution, ...]:
    have = set(
        AssociatedSchool.objects.filter(association=association).values_list("school_id", flat=True)
    )
    new = [school for school in schools if school.pk not in have]
    AssociatedSchool.objects.bulk_create(
        AssociatedSchool(site=association.site, association=association, school=school)
        for school in new
    )
    return tuple(new)


def _apply_clusters(
    association: StaffAssociation, clusters: list[Cluster]
) -> tuple[tuple[Cluster, ...], tuple[Cluster, ...]]:
    current = {
        link.cluster_id: link.cluster
        for link in AssociatedCluster.objects.filter(association=association).select_related(
            "cluster"
        )
    }
    wanted = {cluster.pk: cluster for cluster in clusters}
    added = tuple(cluster for pk, cluster in wanted.items() if pk not in current)
    removed = tuple(
        sorted(
            (cluster for pk, cluster in current.items() if pk not in wanted),
            key=lambda cluster: (cluster.name.casefold(), cluster.pk),
        )
    )
    if removed:
        AssociatedCluster.objects.filter(
            association=association, cluster_id__in=[c.pk for c in removed]
        ).delete()
    AssociatedCluster.objects.bulk_create(
        AssociatedCluster(site=association.site, association=association, cluster=cluster)
        for cluster in added
    )
    return added, removed


@transaction.atomic
def association_set_all(*, profile: StaffProfile, all_schools: bool, actor: Actor) -> bool:
    """Associate ``profile`` with every current school of its group, or not. The chosen
    schools and clusters are kept either way. Returns whether anything changed."""
    profile, association = _association_for_update(profile)
    change = AssociationChange(all_schools=_apply_all_schools(association, bool(all_schools)))
    return _audit_association(actor=actor, profile=profile, change=change).changed


@transaction.atomic
def association_add_schools(
    *, profile: StaffProfile, schools: Iterable[Institution], actor: Actor
) -> tuple[Institution, ...]:
    """Associate ``profile`` with ``schools`` (current schools of its group; otherwise
    nothing changes). Returns the schools that were not already chosen."""
    if not profile.site.is_group:
        raise ValidationError(NO_ASSOCIATIONS_HERE, code="not_a_group")
    schools = _group_schools(profile.site, schools)
    profile, association = _association_for_update(profile)
    change = AssociationChange(schools_added=_apply_schools_added(association, schools))
    return _audit_association(actor=actor, profile=profile, change=change).schools_added


@transaction.atomic
def association_remove_school(*, profile: StaffProfile, school: Institution, actor: Actor) -> None:
    """Stop associating ``profile`` with ``school`` on its own.

    Refused (ValidationError naming every such cluster) while a chosen cluster brings the
    school: removing it would change nothing the person can reach.
    """
    if not profile.site.is_group:
        raise ValidationError(NO_ASSOCIATIONS_HERE, code="not_a_group")
    (school,) = _group_schools(profile.site, [school])
    profile, association = _association_for_update(profile)
    cluster_ids = set(
        AssociatedCluster.objects.filter(association=association).values_list(
            "cluster_id", flat=True
        )
    )
    bringing = _clusters_bringing(association, [school], cluster_ids).get(school.pk)
    if bringing:
        raise ValidationError(
            {"schools": through_cluster_message(school, bringing)}, code="through_cluster"
        )
    deleted, _ = AssociatedSchool.objects.filter(association=association, school=school).delete()
    if not deleted:
        raise ValidationError(
            {
                "schools": f"{school.name} is not one of the schools chosen for "
                f"{profile.user.display_name}. Nothing was changed."
            },
            code="not_chosen",
        )
    _audit_association(
        actor=actor, profile=profile, change=AssociationChange(schools_removed=(school,))
    )


@transaction.atomic
def association_set_clusters(
    *, profile: StaffProfile, clusters: Iterable[Cluster], actor: Actor
) -> AssociationChange:
    """Make ``clusters`` (of ``profile``'s group; otherwise nothing changes) exactly the
    clusters ``profile`` is associated with."""
    if not profile.site.is_group:
        raise ValidationError(NO_ASSOCIATIONS_HERE, code="not_a_group")
    clusters = _group_clusters(profile.site, clusters)
    profile, association = _association_for_update(profile)
    added, removed = _apply_clusters(association, clusters)
    change = AssociationChange(clusters_added=added, clusters_removed=removed)
    return _audit_association(actor=actor, profile=profile, change=change)


@transaction.atomic
def association_replace(
    *,
    profile: StaffProfile,
    all_schools: bool,
    schools: Iterable[Institution],
    clusters: Iterable[Cluster],
    actor: Actor,
) -> AssociationChange:
    """Make ``profile``'s associations exactly these, all or nothing, in one audit event.

    The chosen schools that are not in ``schools`` are removed, unless one of ``clusters``
    still brings them: then nothing changes (ValidationError naming the clusters). Chosen
    schools that are no longer current members of the group are left alone.
    """
    if not profile.site.is_group:
        raise ValidationError(NO_ASSOCIATIONS_HERE, code="not_a_group")
    group = profile.site
    schools = _group_schools(group, schools)
    clusters = _group_clusters(group, clusters)
    profile, association = _association_for_update(profile)
    wanted_ids = {school.pk for school in schools}
    to_remove = [
        school
        for pk, school in sorted(
            _chosen_current_schools(association).items(),
            key=lambda item: (item[1].name.casefold(), item[0]),
        )
        if pk not in wanted_ids
    ]
    bringing = _clusters_bringing(association, to_remove, {cluster.pk for cluster in clusters})
    refusals = [
        through_cluster_message(school, bringing[school.pk])
        for school in to_remove
        if school.pk in bringing
    ]
    if refusals:
        raise ValidationError({"schools": refusals}, code="through_cluster")

    all_change = _apply_all_schools(association, bool(all_schools))
    clusters_added, clusters_removed = _apply_clusters(association, clusters)
    schools_added = _apply_schools_added(association, schools)
    if to_remove:
        AssociatedSchool.objects.filter(
            association=association, school__in=[school.pk for school in to_remove]
        ).delete()
    change = AssociationChange(
        all_schools=all_change,
        schools_added=schools_added,
        schools_removed=tuple(to_remove),
        clusters_added=clusters_added,
        clusters_removed=clusters_removed,
    )
    return _audit_association(actor=actor, profile=profile, change=change)
