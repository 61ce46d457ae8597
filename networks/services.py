"""Writes of staff sharing: resources, shares, networks and their approvals, groups.

Every function takes the acting person (``actor``) and writes its audit event in the same
transaction; bad input raises ``ValidationError`` with a message for the person and
changes nothing. Whom a share may reach is ``selectors.share_targets``: the service asks it,
so the API cannot share anywhere the page would not offer.
"""

import uuid

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.audit import Actor
from accounts.models import AuditAction, RoleAssignment, StaffProfile, User
from accounts.permissions import NETWORK_LEADERSHIP, SHARING_NETWORKS, Access, has_permission
from institutions.models import Institution
from institutions.selectors import current_schools

from .models import (
    GroupStatus,
    GroupWhitelistEntry,
    Network,
    NetworkKind,
    NetworkMember,
    NetworkOrganisation,
    NetworkStatus,
    Resource,
    ResourceKind,
    ResourceShare,
    ShareGroup,
    ShareGroupMember,
)
from .selectors import ShareTarget, share_targets
from .uploads import CheckedUpload, UploadRefused, check_upload

TITLE_MAX = 200
NOTE_MAX = 100_000


def _clean_text(*, title: str, description: str) -> tuple[str, str]:
    title = (title or "").strip()
    description = (description or "").strip()
    errors = {}
    if not title:
        errors["title"] = ["Give the resource a title."]
    elif len(title) > TITLE_MAX:
        errors["title"] = [f"The title can be at most {TITLE_MAX} characters."]
    if len(description) > 5000:
        errors["description"] = ["The description can be at most 5,000 characters."]
    if errors:
        raise ValidationError(errors)
    return title, description


def _checked(upload: UploadedFile) -> CheckedUpload:
    try:
        return check_upload(upload)
    except UploadRefused as refusal:
        raise ValidationError({"file": [str(refusal)]}) from None


def _store(*, site: Institution, upload: UploadedFile) -> str:
    """Store the checked file under a generated name (never the uploader's). Called last,
    after every check, so that a refusal stores nothing."""
    return default_storage.save(f"resources/{site.pk}/{uuid.uuid4().hex}", upload)


def _delete_stored_on_commit(name: str) -> None:
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))


def _audit_detail(resource: Resource) -> dict:
    return {"resource": resource.pk, "title": resource.title, "kind": resource.kind}


@transaction.atomic
def resource_create(
    *,
    actor: Actor,
    site: Institution,
    title: str,
    description: str = "",
    note: str = "",
    upload: UploadedFile | None = None,
) -> Resource:
    """A file (``upload``) or a note (``note``) owned by the actor at ``site``, shared with
    nobody yet."""
    title, description = _clean_text(title=title, description=description)
    note = (note or "").strip()
    if upload is None and not note:
        raise ValidationError({"file": ["Choose a file to upload, or write a note."]})
    if upload is not None and note:
        raise ValidationError({"note": ["A resource is a file or a note, not both."]})
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": [f"A note can be at most {NOTE_MAX:,} characters."]})
    resource = Resource(site=site, owner=actor.user, title=title, description=description)
    if upload is not None:
        checked = _checked(upload)
        resource.kind = ResourceKind.FILE
        resource.stored_name = _store(site=site, upload=upload)
        resource.original_name = checked.name
        resource.content_type = checked.file_type.content_type
        resource.size = checked.size
    else:
        resource.kind = ResourceKind.NOTE
        resource.note = note
    resource.save()
    audit.record(
        actor=actor, action=AuditAction.RESOURCE_ADDED, target=title, detail=_audit_detail(resource)
    )
    return resource


@transaction.atomic
def resource_update(
    *, actor: Actor, resource: Resource, title: str, description: str, note: str | None = None
) -> Resource:
    title, description = _clean_text(title=title, description=description)
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    fields = ["title", "description", "updated_at"]
    resource.title, resource.description = title, description
    if resource.kind == ResourceKind.NOTE and note is not None:
        note = note.strip()
        if not note:
            raise ValidationError({"note": ["A note needs some text."]})
        if len(note) > NOTE_MAX:
            raise ValidationError({"note": [f"A note can be at most {NOTE_MAX:,} characters."]})
        resource.note = note
        fields.append("note")
    resource.save(update_fields=fields)
    audit.record(
        actor=actor,
        action=AuditAction.RESOURCE_CHANGED,
        target=title,
        detail={**_audit_detail(resource), "change": "details"},
    )
    return resource


@transaction.atomic
def resource_replace_file(*, actor: Actor, resource: Resource, upload: UploadedFile) -> Resource:
    """A new file in place of the old one; the shares stay."""
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    if resource.kind != ResourceKind.FILE:
        raise ValidationError({"file": ["A note has no file to replace: edit its text instead."]})
    checked = _checked(upload)
    old = resource.stored_name
    resource.stored_name = _store(site=resource.site, upload=upload)
    resource.original_name = checked.name
    resource.content_type = checked.file_type.content_type
    resource.size = checked.size
    resource.save(
        update_fields=["stored_name", "original_name", "content_type", "size", "updated_at"]
    )
    _delete_stored_on_commit(old)
    audit.record(
        actor=actor,
        action=AuditAction.RESOURCE_CHANGED,
        target=resource.title,
        detail={**_audit_detail(resource), "change": "file", "file": checked.name},
    )
    return resource


@transaction.atomic
def resource_delete(*, actor: Actor, resource: Resource) -> None:
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    detail = _audit_detail(resource)
    stored = resource.stored_name
    resource.delete()
    _delete_stored_on_commit(stored)
    audit.record(
        actor=actor, action=AuditAction.RESOURCE_DELETED, target=detail["title"], detail=detail
    )


def resource_downloaded(*, actor: Actor, resource: Resource) -> None:
    """Record, for the owner's organisation, an opening by someone outside it."""
    if actor.site is None or actor.site.pk == resource.site_id:
        return
    audit.record(
        actor=actor,
        site=resource.site,
        action=AuditAction.RESOURCE_DOWNLOADED,
        target=resource.title,
        detail={**_audit_detail(resource), "from_organisation": actor.site.name},
    )


# --- Sharing ----------------------------------------------------------------------------------


def _target_detail(target: ShareTarget) -> dict:
    return {"to": target.label, "organisation": target.organisation, "kind": target.kind}


@transaction.atomic
def resource_share(*, actor: Actor, resource: Resource, target_key: str) -> ResourceShare:
    """Share ``resource`` with one of the owner's share targets (``share_targets``), named
    by its key. Anything else is refused with the same message, whatever it names."""
    site = resource.site
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    targets = {t.key: t for t in share_targets(site=site, user=actor.user)}
    target = targets.get(str(target_key or ""))
    if target is None:
        raise ValidationError(
            {"target": ["Choose someone from the list: you can share only with them."]}
        )
    share = ResourceShare(site=site, resource=resource, shared_by=actor.user)
    if target.kind == "person":
        share.recipient_id, share.recipient_site_id = target.user_id, target.site_id
        share.network_id = target.network_id
        exists = resource.shares.filter(
            recipient_id=target.user_id, recipient_site_id=target.site_id
        )
    elif target.kind == "group":
        share.group_id = target.group_id
        exists = resource.shares.filter(group_id=target.group_id)
    else:
        share.network_id = target.network_id
        exists = resource.shares.filter(
            network_id=target.network_id, recipient__isnull=True, group__isnull=True
        )
    if exists.exists():
        raise ValidationError(
            {"target": [f"“{resource.title}” is shared with {target.label} already."]}
        )
    share.save()
    audit.record(
        actor=actor,
        action=AuditAction.RESOURCE_SHARED,
        target=resource.title,
        detail={**_audit_detail(resource), **_target_detail(target)},
    )
    return share


@transaction.atomic
def resource_share_everyone(*, actor: Actor, resource: Resource, everyone: bool) -> Resource:
    """Share with (or stop sharing with) everyone at the owner's organisation."""
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    if resource.everyone_at_site == everyone:
        return resource
    resource.everyone_at_site = everyone
    resource.save(update_fields=["everyone_at_site"])
    audit.record(
        actor=actor,
        action=AuditAction.RESOURCE_SHARED if everyone else AuditAction.RESOURCE_UNSHARED,
        target=resource.title,
        detail={**_audit_detail(resource), "to": f"Everyone at {resource.site.name}"},
    )
    return resource


def share_description(share: ResourceShare) -> str:
    if share.recipient_id is not None:
        where = share.recipient_site.name if share.recipient_site_id else ""
        return f"{share.recipient.display_name} ({where})"
    if share.group_id is not None:
        return f"Group: {share.group.name}"
    return f"Everyone in {share.network.name}"


@transaction.atomic
def resource_unshare(*, actor: Actor, share: ResourceShare, reason: str = "") -> None:
    resource = share.resource
    described = share_description(share)
    share.delete()
    audit.record(
        actor=actor,
        site=resource.site,
        action=AuditAction.RESOURCE_UNSHARED,
        target=resource.title,
        detail={
            **_audit_detail(resource),
            "to": described,
            **({"reason": reason} if reason else {}),
        },
    )


def _end_shares(*, actor: Actor, shares, reason: str) -> int:
    """End these shares (a queryset), each recorded at its owner's organisation."""
    rows = list(
        shares.select_related("resource", "recipient", "recipient_site", "group", "network")
    )
    if not rows:
        return 0
    events = [
        audit.Entry(
            row.site_id,
            row.resource.title,
            {**_audit_detail(row.resource), "to": share_description(row), "reason": reason},
        )
        for row in rows
    ]
    ResourceShare.objects.filter(pk__in=[r.pk for r in rows]).delete()
    audit.record_many(actor=actor, action=AuditAction.RESOURCE_UNSHARED, events=events)
    return len(rows)


@transaction.atomic
def cross_organisation_shares_end(*, actor: Actor, user: User, site: Institution) -> int:
    """``user`` left ``site``: every share of their resources there beyond it ends (to
    people elsewhere, to community groups, to networks). Returns how many ended."""
    shares = ResourceShare.objects.filter(resource__owner=user, resource__site=site).exclude(
        recipient_site=site
    )
    shares = shares.exclude(group__site=site, group__status=GroupStatus.LOCAL)
    return _end_shares(
        actor=actor, shares=shares, reason=f"{user.display_name} no longer works at {site.name}."
    )


# --- Networks -----------------------------------------------------------------------------------


def _may(*, user: User, site: Institution, code: str) -> bool:
    return has_permission(user=user, site=site, code=code, access=Access.ADMINISTER)


def _members_at(*, site: Institution, user_ids: list[int] | None) -> list[User]:
    if not user_ids:
        return []
    users = list(
        User.objects.filter(
            pk__in=user_ids,
            is_active=True,
            staff_profiles__site=site,
            staff_profiles__is_active=True,
        ).distinct()
    )
    if len(users) != len(set(user_ids)):
        raise ValidationError(
            {"members": [f"Choose members among the active staff of {site.name}."]}
        )
    return users


@transaction.atomic
def network_request(
    *,
    actor: Actor,
    site: Institution,
    kind: str,
    name: str,
    organisations: list[Institution],
    purpose: str = "",
    coaching_site: Institution | None = None,
    members: dict[int, list[int]] | None = None,
    requester_is_member: bool = True,
) -> Network:
    """Request a network among ``organisations`` (which must include the requesting site
    unless a trust proposes one of its own schools); active only once each organisation's
    leadership approved (``network_approve``)."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if kind not in NetworkKind.values:
        errors["kind"] = ["Choose a collaboration network or a coaching network."]
    if not name:
        errors["name"] = ["Give the network a name."]
    elif len(name) > 150:
        errors["name"] = ["The name can be at most 150 characters."]
    unique = {o.pk: o for o in organisations}
    if requester_is_member and site.pk not in unique:
        errors["organisations"] = [f"A network you request includes {site.name}."]
    if len(unique) < 2:
        errors.setdefault("organisations", []).append(
            "A network needs at least two member organisations."
        )
    if kind == NetworkKind.COACHING:
        if coaching_site is None or coaching_site.pk not in unique:
            errors["coaching_organisation"] = [
                "Choose the coaching organisation among the member organisations."
            ]
    elif coaching_site is not None:
        errors["coaching_organisation"] = ["Only a coaching network has a coaching organisation."]
    members = members or {}
    if set(members) - set(unique):
        errors["members"] = ["Members can be named only at the network's organisations."]
    if errors:
        raise ValidationError(errors)
    named = {pk: _members_at(site=unique[pk], user_ids=ids) for pk, ids in members.items()}
    network = Network.objects.create(
        kind=kind,
        name=name,
        purpose=(purpose or "").strip(),
        site=site,
        requested_by=actor.user,
        coaching_site=coaching_site if kind == NetworkKind.COACHING else None,
    )
    NetworkOrganisation.objects.bulk_create(
        NetworkOrganisation(network=network, site=o) for o in unique.values()
    )
    NetworkMember.objects.bulk_create(
        NetworkMember(network=network, site_id=pk, user=u)
        for pk, users in named.items()
        for u in users
    )
    detail = {
        "network": network.pk,
        "name": name,
        "kind": kind,
        "organisations": sorted(o.name for o in unique.values()),
    }
    sites = {site.pk, *unique}
    audit.record_many(
        actor=actor,
        action=AuditAction.NETWORK_REQUESTED,
        events=[audit.Entry(pk, name, detail) for pk in sorted(sites)],
    )
    return network


def network_propose_for_trust(
    *, actor: Actor, trust: Institution, name: str, purpose: str = ""
) -> Network:
    """A trust's collaboration network of its current schools, in one step; each school
    still approves."""
    if not trust.is_group:
        raise ValidationError(
            {"organisations": ["Only a trust or local authority can propose this."]}
        )
    schools = list(current_schools(group=trust))
    return network_request(
        actor=actor,
        site=trust,
        kind=NetworkKind.COLLABORATION,
        name=name,
        purpose=purpose,
        organisations=schools,
        requester_is_member=False,
    )


def _role_names(*, user: User, site: Institution) -> str:
    names = RoleAssignment.objects.filter(
        profile__user=user, profile__site=site, role__retired_at__isnull=True
    ).values_list("role__name", flat=True)
    return ", ".join(sorted(set(names)))[:150]


def _refresh_status(network: Network) -> None:
    places = list(network.organisations.all())
    if any(p.withdrawn_at is not None for p in places):
        status = NetworkStatus.SUSPENDED
    elif all(p.approved_at is not None for p in places):
        status = NetworkStatus.ACTIVE
    else:
        status = NetworkStatus.PENDING if network.activated_at is None else NetworkStatus.SUSPENDED
    if status != network.status:
        network.status = status
        fields = ["status"]
        if status == NetworkStatus.ACTIVE:
            network.activated_at = timezone.now()
            fields.append("activated_at")
        network.save(update_fields=fields)


@transaction.atomic
def network_approve(
    *, actor: Actor, network: Network, site: Institution, statement: str
) -> NetworkOrganisation:
    """``site``'s leadership approves its part in ``network`` (name, role, date and
    statement recorded); the network becomes active with the last approval."""
    network = Network.objects.select_for_update().get(pk=network.pk)
    place = NetworkOrganisation.objects.filter(network=network, site=site).first()
    if place is None:
        raise ValidationError(f"{site.name} is not one of this network's organisations.")
    if not _may(user=actor.user, site=site, code=NETWORK_LEADERSHIP):
        raise ValidationError(
            "Approving a network needs the permission “Sharing Networks: Leadership Approval”."
        )
    statement = (statement or "").strip()
    if not statement:
        raise ValidationError(
            {
                "statement": [
                    "Write the statement of approval (for example, that a data sharing "
                    "agreement and privacy notice are in place)."
                ]
            }
        )
    if place.approved_at is not None and place.withdrawn_at is None:
        raise ValidationError(f"{site.name} has approved this network already.")
    place.approved_by = actor.user
    place.approver_name = actor.user.display_name
    place.approver_role = _role_names(user=actor.user, site=site)
    place.approved_at = timezone.now()
    place.statement = statement[:5000]
    place.withdrawn_at = None
    place.withdrawn_by = None
    place.withdrawal_reason = ""
    place.save()
    _refresh_status(network)
    audit.record(
        actor=actor,
        action=AuditAction.NETWORK_APPROVED,
        target=network.name,
        detail={"network": network.pk, "statement": place.statement, "status": network.status},
    )
    return place


@transaction.atomic
def network_withdraw(
    *, actor: Actor, network: Network, site: Institution, reason: str = ""
) -> Network:
    """``site`` withdraws: the network is suspended, and what crossed through it is hidden
    at once (``reach`` asks for an active network at every read)."""
    network = Network.objects.select_for_update().get(pk=network.pk)
    place = NetworkOrganisation.objects.filter(network=network, site=site).first()
    if place is None:
        raise ValidationError(f"{site.name} is not one of this network's organisations.")
    if not _may(user=actor.user, site=site, code=NETWORK_LEADERSHIP) and not _may(
        user=actor.user, site=site, code=SHARING_NETWORKS
    ):
        raise ValidationError("Withdrawing needs a sharing networks permission.")
    if place.withdrawn_at is not None:
        raise ValidationError(f"{site.name} has withdrawn from this network already.")
    place.withdrawn_at = timezone.now()
    place.withdrawn_by = actor.user
    place.withdrawal_reason = (reason or "").strip()[:2000]
    place.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_reason"])
    _refresh_status(network)
    audit.record(
        actor=actor,
        action=AuditAction.NETWORK_WITHDRAWN,
        target=network.name,
        detail={"network": network.pk, "reason": place.withdrawal_reason},
    )
    return network


# --- Groups -------------------------------------------------------------------------------------


@transaction.atomic
def group_create(
    *, actor: Actor, site: Institution, name: str, description: str = ""
) -> ShareGroup:
    name = (name or "").strip()
    if not name or len(name) > 150:
        raise ValidationError({"name": ["Give the group a name of at most 150 characters."]})
    group = ShareGroup.objects.create(
        site=site, owner=actor.user, name=name, description=(description or "").strip()
    )
    audit.record(
        actor=actor,
        action=AuditAction.SHARE_GROUP_CHANGED,
        target=name,
        detail={"group": group.pk, "change": "created"},
    )
    return group


@transaction.atomic
def group_member_add(
    *, actor: Actor, group: ShareGroup, user: User, site: Institution
) -> ShareGroupMember:
    """Add a member: the owner adds colleagues from the group's organisation; staff of an
    organisation that whitelists a community group join it themselves. Anyone else is
    refused, as is anyone not active staff of the organisation they are added at."""
    by_owner = (
        actor.user == group.owner and actor.site is not None and actor.site.pk == group.site_id
    )
    joining = actor.user == user and actor.site is not None and actor.site.pk == site.pk
    admitted = site.pk == group.site_id or (
        group.status == GroupStatus.COMMUNITY
        and GroupWhitelistEntry.objects.filter(group=group, site=site).exists()
    )
    active = StaffProfile.objects.filter(
        user=user, site=site, is_active=True, user__is_active=True
    ).exists()
    if not (by_owner and site.pk == group.site_id) and not (joining and admitted):
        raise ValidationError(
            {
                "member": [
                    "The group's owner adds colleagues; staff of an organisation that allows "
                    "its staff to contribute to a community group join it themselves."
                ]
            }
        )
    if not admitted or not active:
        raise ValidationError({"member": [f"Choose active staff of {group.site.name}."]})
    member, created = ShareGroupMember.objects.get_or_create(group=group, user=user, site=site)
    if created:
        audit.record(
            actor=actor,
            site=group.site,
            action=AuditAction.SHARE_GROUP_CHANGED,
            target=group.name,
            detail={
                "group": group.pk,
                "change": "member added",
                "member": user.email,
                "organisation": site.name,
            },
        )
    return member


@transaction.atomic
def group_community_request(*, actor: Actor, group: ShareGroup) -> ShareGroup:
    """The owner asks for the group to become a community group."""
    group = ShareGroup.objects.select_for_update().get(pk=group.pk)
    if actor.user != group.owner:
        raise ValidationError("Only the group's owner can ask for it to become a community group.")
    if group.status != GroupStatus.LOCAL:
        raise ValidationError("This group is a community group already, or its upgrade is waiting.")
    group.status = GroupStatus.REQUESTED
    group.save(update_fields=["status"])
    audit.record(
        actor=actor,
        site=group.site,
        action=AuditAction.SHARE_GROUP_CHANGED,
        target=group.name,
        detail={"group": group.pk, "change": "community group requested"},
    )
    return group


@transaction.atomic
def group_community_approve(*, actor: Actor, group: ShareGroup) -> ShareGroup:
    """An administrator of the group's own organisation (``Sharing Networks: Administer``)
    makes it a community group."""
    group = ShareGroup.objects.select_for_update().get(pk=group.pk)
    if not _may(user=actor.user, site=group.site, code=SHARING_NETWORKS):
        raise ValidationError(
            "Approving a community group needs “Sharing Networks: Administer” at "
            f"{group.site.name}."
        )
    if group.status == GroupStatus.COMMUNITY:
        raise ValidationError("This group is a community group already.")
    group.status = GroupStatus.COMMUNITY
    group.approved_by = actor.user
    group.approved_at = timezone.now()
    group.save(update_fields=["status", "approved_by", "approved_at"])
    audit.record(
        actor=actor,
        site=group.site,
        action=AuditAction.SHARE_GROUP_CHANGED,
        target=group.name,
        detail={"group": group.pk, "change": "community group approved"},
    )
    return group


@transaction.atomic
def group_whitelist_add(
    *, actor: Actor, group: ShareGroup, site: Institution
) -> GroupWhitelistEntry:
    """``site`` (another organisation) lets its staff contribute to community ``group``."""
    if not _may(user=actor.user, site=site, code=SHARING_NETWORKS):
        raise ValidationError("Whitelisting needs “Sharing Networks: Administer”.")
    if group.status != GroupStatus.COMMUNITY or group.site_id == site.pk:
        raise ValidationError("Only another organisation's community group can be whitelisted.")
    entry, created = GroupWhitelistEntry.objects.get_or_create(
        group=group, site=site, defaults={"decided_by": actor.user}
    )
    if created:
        audit.record(
            actor=actor,
            site=site,
            action=AuditAction.SHARE_GROUP_WHITELIST,
            target=group.name,
            detail={"group": group.pk, "change": "whitelisted"},
        )
    return entry


@transaction.atomic
def group_whitelist_remove(*, actor: Actor, group: ShareGroup, site: Institution) -> int:
    """``site`` no longer lets its staff contribute to ``group``: every resource its staff
    shared with the group stops being shared with it, at once; other organisations' shares
    stay. Returns how many shares ended."""
    if not _may(user=actor.user, site=site, code=SHARING_NETWORKS):
        raise ValidationError("Changing the whitelist needs “Sharing Networks: Administer”.")
    deleted, _ = GroupWhitelistEntry.objects.filter(group=group, site=site).delete()
    if not deleted:
        raise ValidationError(f"{group.name} is not on {site.name}'s whitelist.")
    ended = _end_shares(
        actor=actor,
        shares=ResourceShare.objects.filter(group=group, resource__site=site),
        reason=f"{site.name} removed {group.name} from its whitelist.",
    )
    audit.record(
        actor=actor,
        site=site,
        action=AuditAction.SHARE_GROUP_WHITELIST,
        target=group.name,
        detail={"group": group.pk, "change": "removed from whitelist", "shares_ended": ended},
    )
    return ended
