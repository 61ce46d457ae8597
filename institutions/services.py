"""Writes to institutions, group membership and clusters."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from accounts import audit
from accounts.audit import Actor
from accounts.models import AuditAction

from .models import Cluster, ClusterMembership, GroupMembership, Institution, InstitutionKind
from .selectors import current_schools
from .signals import memberships_ended


@transaction.atomic
def institution_ensure(
    *, kind: InstitutionKind, name: str, slug: str, **register_fields
) -> Institution:
    """The institution with ``slug``, created or brought up to date with kind, name and any
    register fields given."""
    wanted = {"kind": kind, "name": name, **register_fields}
    institution, created = Institution.objects.get_or_create(slug=slug, defaults=wanted)
    changed = [f for f, value in wanted.items() if getattr(institution, f) != value]
    if not created and changed:
        for field in changed:
            setattr(institution, field, wanted[field])
        institution.save(update_fields=[*changed, "updated_at"])
    return institution


@transaction.atomic
def membership_ensure(
    *, group: Institution, school: Institution, joined_on: datetime.date | None = None
) -> GroupMembership:
    """``school`` is a current member of ``group`` (a trust or local authority)."""
    if not group.is_group:
        raise ValueError(f"{group} is not a trust or local authority.")
    if not school.is_school:
        raise ValueError(f"{school} is not a school.")
    membership, _ = GroupMembership.objects.get_or_create(
        group=group, school=school, left_on=None, defaults={"joined_on": joined_on}
    )
    return membership


@transaction.atomic
def membership_end(
    *, memberships: Iterable[GroupMembership], actor: Actor, left_on: datetime.date | None = None
) -> int:
    """End the current ones of ``memberships`` on ``left_on`` (default: today; never before
    the school joined), as platform support does when a school leaves a trust or local
    authority. What depends on the membership ends with it, in this transaction
    (``signals.memberships_ended``: a data sharing agreement ends, pending requests are
    withdrawn). Memberships already ended are left as they are. Returns how many ended."""
    left_on = left_on or timezone.localdate()
    ids = sorted({membership.pk for membership in memberships})
    ending = list(
        GroupMembership.objects.select_for_update()
        .filter(pk__in=ids, left_on__isnull=True)
        .order_by("pk")
        .values_list("pk", "group_id", "school_id")
    )
    if not ending:
        return 0
    GroupMembership.objects.filter(pk__in=[pk for pk, _, _ in ending]).update(
        left_on=Greatest(Value(left_on), F("joined_on"))
    )
    memberships_ended.send(
        sender=GroupMembership,
        ended=[(group_id, school_id) for _, group_id, school_id in ending],
        left_on=left_on,
        actor=actor,
    )
    return len(ending)


# --- Clusters: named sets of a group's schools ---------------------------------------------
# ``actor`` (accounts.audit.Actor) is the person making the change; each change is recorded
# in the group's audit trail in the same transaction.


def _audit_cluster(*, actor: Actor, group: Institution, target: str, detail: dict) -> None:
    audit.record(
        actor=actor, action=AuditAction.CLUSTER_CHANGED, target=target, detail=detail, site=group
    )


CLUSTER_NAME_MAX = 100
NOT_THE_GROUPS_SCHOOLS = (
    "Only this group’s own schools can be in its clusters. Nothing was changed."
)


def _cluster_name_clean(*, group: Institution, name: str, exclude: Cluster | None = None) -> str:
    """``name`` trimmed, or ValidationError({"name": ...}) saying what is wrong with it."""
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Enter a name for the cluster."}, code="required")
    if len(name) > CLUSTER_NAME_MAX:
        raise ValidationError(
            {"name": f"Cluster names must be {CLUSTER_NAME_MAX} characters or fewer."},
            code="max_length",
        )
    taken = Cluster.objects.filter(group=group, name__iexact=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise ValidationError({"name": _name_taken(name)}, code="unique")
    return name


def _name_taken(name: str) -> str:
    return f"There is already a cluster called “{name}”. Choose another name."


@transaction.atomic
def cluster_create(*, group: Institution, name: str, actor: Actor) -> Cluster:
    """A new cluster of ``group`` called ``name`` (unique in the group, ignoring case)."""
    if not group.is_group:
        raise ValidationError("Only a trust or local authority has clusters.")
    name = _cluster_name_clean(group=group, name=name)
    try:
        with transaction.atomic():
            cluster = Cluster.objects.create(group=group, name=name)
    except IntegrityError:  # created at the same moment by someone else
        raise ValidationError({"name": _name_taken(name)}, code="unique") from None
    _audit_cluster(actor=actor, group=group, target=name, detail={"created": True})
    return cluster


@transaction.atomic
def cluster_rename(*, cluster: Cluster, name: str, actor: Actor) -> Cluster:
    name = _cluster_name_clean(group=cluster.group, name=name, exclude=cluster)
    if name == cluster.name:
        return cluster
    previous = cluster.name
    cluster.name = name
    try:
        with transaction.atomic():
            cluster.save(update_fields=["name"])
    except IntegrityError:
        raise ValidationError({"name": _name_taken(name)}, code="unique") from None
    _audit_cluster(actor=actor, group=cluster.group, target=name, detail={"renamed_from": previous})
    return cluster


@transaction.atomic
def cluster_delete(*, cluster: Cluster, actor: Actor) -> None:
    """Delete ``cluster`` and its memberships; the schools themselves are untouched."""
    _audit_cluster(actor=actor, group=cluster.group, target=cluster.name, detail={"deleted": True})
    cluster.delete()


@dataclass(frozen=True)
class ClusterSchoolsChange:
    added: int
    removed: int


@transaction.atomic
def cluster_set_schools(
    *, cluster: Cluster, schools: Iterable[Institution], actor: Actor
) -> ClusterSchoolsChange:
    """Make ``schools`` the cluster's current schools: add the missing, remove the rest.

    Every school must be a current school of the cluster's group, or nothing changes
    (ValidationError on ``schools``). Links to schools that are no longer current members
    are left alone: they are invisible while the school is away and count again if it
    comes back.
    """
    group = cluster.group
    wanted = {school.pk for school in schools}
    members = set(current_schools(group=group).filter(pk__in=wanted).values_list("pk", flat=True))
    if wanted - members:
        raise ValidationError(
            {"schools": NOT_THE_GROUPS_SCHOOLS},
            code="not_in_group",
        )
    # Serialise concurrent edits of the same cluster: each reads the links after the last.
    Cluster.objects.select_for_update().filter(pk=cluster.pk).first()
    current = set(
        ClusterMembership.objects.filter(
            cluster=cluster, school__in=current_schools(group=group).order_by().values("pk")
        ).values_list("school_id", flat=True)
    )
    to_add, to_remove = wanted - current, current - wanted
    if to_remove:
        ClusterMembership.objects.filter(cluster=cluster, school_id__in=to_remove).delete()
    ClusterMembership.objects.bulk_create(
        ClusterMembership(group=group, cluster=cluster, school_id=pk) for pk in sorted(to_add)
    )
    if to_add or to_remove:
        _audit_cluster(
            actor=actor,
            group=group,
            target=cluster.name,
            detail={"added": sorted(to_add), "removed": sorted(to_remove)},
        )
    return ClusterSchoolsChange(added=len(to_add), removed=len(to_remove))
