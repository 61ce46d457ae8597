"""Reads of staff resources, groups and networks; each takes the organisation it is asked
at, and answers a resource someone may not reach exactly as a missing one (404)."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import StaffProfile, User
from institutions.models import Institution

from .models import (
    GroupStatus,
    GroupWhitelistEntry,
    Network,
    NetworkOrganisation,
    Resource,
    ResourceShare,
    ShareGroup,
    ShareGroupMember,
)
from .reach import (
    NetworkShape,
    ReachContext,
    group_shapes,
    member_group_ids,
    member_network_ids,
    network_shapes,
    share_reaches,
)


def _int_id(value) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise Http404("No such resource.") from None
    if number <= 0 or number > 2**62:
        raise Http404("No such resource.")
    return number


# --- Resources ---------------------------------------------------------------------------


def own_resources(*, site: Institution, user: User) -> QuerySet[Resource]:
    return Resource.objects.filter(site=site, owner=user).order_by("-updated_at", "-pk")


def resource_for_owner(*, site: Institution, user: User, resource_id) -> Resource:
    """The owner's resource at this site, or 404 (missing, or anyone else's)."""
    resource = (
        Resource.objects.filter(site=site, owner=user, pk=_int_id(resource_id))
        .select_related("site", "owner")
        .first()
    )
    if resource is None:
        raise Http404("No such resource.")
    return resource


def _reader_candidates(*, site: Institution, user: User) -> Q:
    """Shares that might open something to this person at this site."""
    condition = Q(recipient=user, recipient_site=site)
    group_ids = member_group_ids(user_id=user.pk, site_id=site.pk)
    if group_ids:
        condition |= Q(group_id__in=group_ids)
    network_ids = member_network_ids(site_id=site.pk)
    if network_ids:
        condition |= Q(network_id__in=network_ids, recipient__isnull=True)
    return condition


def resource_for_reader(*, site: Institution, user: User, resource_id) -> Resource:
    """The resource, if the sharing rules open it to ``user`` at ``site`` now; otherwise
    the same 404 as for one that does not exist."""
    resource = (
        Resource.objects.filter(pk=_int_id(resource_id)).select_related("site", "owner").first()
    )
    if resource is None:
        raise Http404("No such resource.")
    if resource.site_id == site.pk and (resource.owner_id == user.pk or resource.everyone_at_site):
        return resource
    shares = list(
        resource.shares.filter(_reader_candidates(site=site, user=user)).select_related("resource")
    )
    ctx = ReachContext.for_shares(shares)
    if any(share_reaches(s, user_id=user.pk, site_id=site.pk, ctx=ctx) for s in shares):
        return resource
    raise Http404("No such resource.")


@dataclass(frozen=True)
class SharedResource:
    resource: Resource
    via: str  # how it reaches the reader, in words


def _via_phrase(share: ResourceShare | None, ctx: ReachContext | None) -> str:
    if share is None:
        return "Everyone at your organisation"
    if share.recipient_id is not None:
        if share.network_id is not None and ctx is not None:
            return f"You, through {ctx.networks[share.network_id].network.name}"
        return "You"
    if share.group_id is not None and ctx is not None:
        return f"Group: {ctx.groups[share.group_id].group.name}"
    if ctx is not None:
        return f"Everyone in {ctx.networks[share.network_id].network.name}"
    return ""


def shared_with_me(*, site: Institution, user: User, limit: int = 200) -> list[SharedResource]:
    """What others have shared with ``user`` at ``site`` and still reaches them, newest
    first: a fixed number of queries however many shares there are."""
    shares = list(
        ResourceShare.objects.filter(_reader_candidates(site=site, user=user))
        .exclude(resource__owner=user, resource__site=site)
        .select_related("resource", "resource__owner", "resource__site")
        .order_by("-resource__updated_at", "-pk")[: limit * 4]
    )
    ctx = ReachContext.for_shares(shares)
    found: dict[int, SharedResource] = {}
    everyone = (
        Resource.objects.filter(site=site, everyone_at_site=True)
        .exclude(owner=user)
        .select_related("owner", "site")
        .order_by("-updated_at")[:limit]
    )
    for resource in everyone:
        found[resource.pk] = SharedResource(resource, _via_phrase(None, None))
    for share in shares:
        if share.resource_id in found:
            continue
        if share_reaches(share, user_id=user.pk, site_id=site.pk, ctx=ctx):
            found[share.resource_id] = SharedResource(share.resource, _via_phrase(share, ctx))
    ordered = sorted(found.values(), key=lambda s: (s.resource.updated_at, s.resource.pk))
    return list(reversed(ordered))[:limit]


def resource_shares(*, resource: Resource) -> list[ResourceShare]:
    """The owner's view of a resource's shares."""
    return list(
        resource.shares.select_related("recipient", "recipient_site", "group", "network").order_by(
            "pk"
        )
    )


# --- The share picker ----------------------------------------------------------------------


@dataclass(frozen=True)
class ShareTarget:
    """Someone (or a group, or a whole network) the owner may share with."""

    key: str  # "person:<user>:<site>", "group:<id>", "network:<id>"
    label: str
    organisation: str
    kind: str  # "person", "group" or "network"
    user_id: int | None = None
    site_id: int | None = None
    group_id: int | None = None
    network_id: int | None = None

    @property
    def is_colleague(self) -> bool:
        return self.kind == "person" and self.network_id is None


def person_key(user_id: int, site_id: int) -> str:
    return f"person:{user_id}:{site_id}"


def share_targets(*, site: Institution, user: User) -> list[ShareTarget]:
    """Exactly whom ``user`` may share with from ``site``: colleagues there, the people
    their active networks reach (each labelled with their organisation), the groups they
    may contribute to, and the networks they may share with as a whole. Nothing else."""
    shapes: dict[int, NetworkShape] = network_shapes(member_network_ids(site_id=site.pk))
    usable = [
        shape for shape in shapes.values() if shape.active and shape.includes(user.pk, site.pk)
    ]
    # Which organisations (and, where members are named, which people) each network opens.
    reach: dict[int, int] = {}  # site id -> network id (the first that reaches it)
    for shape in sorted(usable, key=lambda s: s.network.pk):
        for other in shape.reachable_sites(from_site=site.pk):
            reach.setdefault(other, shape.network.pk)
    profiles = (
        StaffProfile.objects.filter(
            Q(site=site) | Q(site_id__in=list(reach)), is_active=True, user__is_active=True
        )
        .exclude(user=user, site=site)
        .select_related("user", "site")
        .order_by("site__name", "user__full_name", "user__email")
    )
    targets: list[ShareTarget] = []
    for profile in profiles:
        if profile.site_id == site.pk:
            network_id = None
        else:
            network_id = next(
                (
                    shape.network.pk
                    for shape in sorted(usable, key=lambda s: s.network.pk)
                    if shape.allows(
                        from_user=user.pk,
                        from_site=site.pk,
                        to_user=profile.user_id,
                        to_site=profile.site_id,
                    )
                ),
                None,
            )
            if network_id is None:
                continue
        targets.append(
            ShareTarget(
                key=person_key(profile.user_id, profile.site_id),
                label=profile.user.display_name,
                organisation=profile.site.name,
                kind="person",
                user_id=profile.user_id,
                site_id=profile.site_id,
                network_id=network_id,
            )
        )
    # Own organisation first, then the others by name.
    targets.sort(key=lambda t: (t.site_id != site.pk, t.organisation, t.label.lower()))
    groups = group_shapes(member_group_ids(user_id=user.pk, site_id=site.pk))
    for shape in sorted(groups.values(), key=lambda g: g.group.name.lower()):
        if shape.has_member(user.pk, site.pk):
            targets.append(
                ShareTarget(
                    key=f"group:{shape.group.pk}",
                    label=shape.group.name,
                    organisation=shape.group.get_status_display(),
                    kind="group",
                    group_id=shape.group.pk,
                )
            )
    for shape in usable:
        if shape.allows_everyone(from_user=user.pk, from_site=site.pk):
            targets.append(
                ShareTarget(
                    key=f"network:{shape.network.pk}",
                    label=f"Everyone in {shape.network.name}",
                    organisation=shape.network.get_kind_display(),
                    kind="network",
                    network_id=shape.network.pk,
                )
            )
    return targets


# --- Networks -------------------------------------------------------------------------------


def site_networks(*, site: Institution) -> QuerySet[Network]:
    """The networks this organisation belongs to or requested."""
    return (
        Network.objects.filter(Q(organisations__site=site) | Q(site=site))
        .distinct()
        .select_related("coaching_site", "site")
        .order_by("-created_at", "-pk")
    )


def network_for_site(*, site: Institution, network_id) -> Network:
    """A network this organisation belongs to or requested, or 404."""
    network = site_networks(site=site).filter(pk=_int_id(network_id)).first()
    if network is None:
        raise Http404("No such network.")
    return network


def network_organisations(*, network: Network) -> list[NetworkOrganisation]:
    return list(
        network.organisations.select_related("site", "approved_by", "withdrawn_by").order_by(
            "site__name"
        )
    )


def network_named_members(*, network: Network) -> dict[int, list[User]]:
    named: dict[int, list[User]] = {}
    for member in network.members.select_related("user").order_by("user__full_name"):
        named.setdefault(member.site_id, []).append(member.user)
    return named


# --- Groups ---------------------------------------------------------------------------------


def site_groups(*, site: Institution) -> QuerySet[ShareGroup]:
    """This organisation's own groups."""
    return ShareGroup.objects.filter(site=site).select_related("owner").order_by("name")


def group_for_site(*, site: Institution, group_id) -> ShareGroup:
    group = site_groups(site=site).filter(pk=_int_id(group_id)).first()
    if group is None:
        raise Http404("No such group.")
    return group


def share_for_resource(*, resource: Resource, share_id) -> ResourceShare:
    share = (
        resource.shares.filter(pk=_int_id(share_id))
        .select_related(
            "resource", "resource__site", "recipient", "recipient_site", "group", "network"
        )
        .first()
    )
    if share is None:
        raise Http404("No such share.")
    return share


def group_visible(*, site: Institution, group_id) -> ShareGroup:
    """One of this organisation's groups, or another organisation's community group (their
    names are listed so that administrators can whitelist them); otherwise 404."""
    group = (
        ShareGroup.objects.filter(Q(site=site) | Q(status=GroupStatus.COMMUNITY))
        .filter(pk=_int_id(group_id))
        .select_related("site", "owner")
        .first()
    )
    if group is None:
        raise Http404("No such group.")
    return group


def community_groups_elsewhere(*, site: Institution) -> list[tuple[ShareGroup, bool]]:
    """Every other organisation's community group, and whether ``site`` whitelists it."""
    whitelisted = set(
        GroupWhitelistEntry.objects.filter(site=site).values_list("group_id", flat=True)
    )
    groups = (
        ShareGroup.objects.filter(status=GroupStatus.COMMUNITY)
        .exclude(site=site)
        .select_related("site")
        .order_by("name", "pk")[:500]
    )
    return [(group, group.pk in whitelisted) for group in groups]


def group_members(*, group: ShareGroup) -> list[ShareGroupMember]:
    return list(
        group.members.select_related("user", "site").order_by("site__name", "user__full_name")
    )


def group_whitelist(*, group: ShareGroup) -> list[GroupWhitelistEntry]:
    return list(group.whitelist.select_related("site").order_by("site__name"))
