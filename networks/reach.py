"""Who may reach whom: the sharing rules, decided here and nowhere else.

A person is always a (user, organisation) pair: the same user may work at two sites, and
what they may see at one says nothing about the other.

- **Inside the organisation** (the default): the owner shares with colleagues at their own
  site, or with everyone there.
- **Networks** (active only once every member organisation's leadership approved, and
  until one withdraws): in a collaboration network any member shares with any other; in a
  coaching network members share only with the coaching organisation (its named coaches
  when it names any), never with each other, and only the coaching organisation may share
  with everyone in the network.
- **Groups**: a local group admits only its organisation's staff; a community group also
  admits the staff of organisations that whitelist it, who may then contribute to it.

Every cross-organisation share also needs its owner still active at the owner's
organisation: a member of staff who leaves takes their shares beyond it with them.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from accounts.models import StaffProfile

from .models import (
    GroupWhitelistEntry,
    Network,
    NetworkKind,
    NetworkMember,
    NetworkOrganisation,
    ResourceShare,
    ShareGroup,
    ShareGroupMember,
)


@dataclass
class NetworkShape:
    """A network with its organisations and named members, for deciding directions."""

    network: Network
    site_ids: set[int] = field(default_factory=set)
    named: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    @property
    def active(self) -> bool:
        return self.network.is_active

    @property
    def coaching_site_id(self) -> int | None:
        return self.network.coaching_site_id

    @property
    def is_coaching(self) -> bool:
        return self.network.kind == NetworkKind.COACHING

    def includes(self, user_id: int, site_id: int) -> bool:
        """Is this person one of the network's members (named, or anyone at an
        organisation that names nobody)?"""
        if site_id not in self.site_ids:
            return False
        named = self.named.get(site_id)
        return not named or user_id in named

    def allows(self, *, from_user: int, from_site: int, to_user: int, to_site: int) -> bool:
        """May the first person share with the second across organisations through it?"""
        if not self.active or from_site == to_site:
            return False
        if not (self.includes(from_user, from_site) and self.includes(to_user, to_site)):
            return False
        if not self.is_coaching:
            return True
        return self.coaching_site_id in (from_site, to_site)

    def allows_everyone(self, *, from_user: int, from_site: int) -> bool:
        """May this person share with everyone in the network?"""
        if not self.active or not self.includes(from_user, from_site):
            return False
        return not self.is_coaching or from_site == self.coaching_site_id

    def reachable_sites(self, *, from_site: int) -> set[int]:
        """The other organisations a member at ``from_site`` may share with."""
        if not self.is_coaching or from_site == self.coaching_site_id:
            return self.site_ids - {from_site}
        return {self.coaching_site_id} - {from_site}


def network_shapes(network_ids: Iterable[int]) -> dict[int, NetworkShape]:
    """The shapes of these networks: three queries, however many."""
    ids = set(network_ids)
    if not ids:
        return {}
    shapes = {n.pk: NetworkShape(n) for n in Network.objects.filter(pk__in=ids)}
    for network_id, site_id in NetworkOrganisation.objects.filter(network_id__in=ids).values_list(
        "network_id", "site_id"
    ):
        shapes[network_id].site_ids.add(site_id)
    for network_id, site_id, user_id in NetworkMember.objects.filter(
        network_id__in=ids
    ).values_list("network_id", "site_id", "user_id"):
        shapes[network_id].named[site_id].add(user_id)
    return shapes


def member_network_ids(*, site_id: int, active_only: bool = True) -> list[int]:
    """The networks organisation ``site_id`` belongs to (active ones only by default)."""
    rows = NetworkOrganisation.objects.filter(site_id=site_id)
    if active_only:
        rows = rows.filter(network__status="active")
    return list(rows.values_list("network_id", flat=True))


@dataclass
class GroupShape:
    group: ShareGroup
    whitelisted: set[int] = field(default_factory=set)
    members: set[tuple[int, int]] = field(default_factory=set)

    def admits_site(self, site_id: int) -> bool:
        if site_id == self.group.site_id:
            return True
        return self.group.is_community and site_id in self.whitelisted

    def has_member(self, user_id: int, site_id: int) -> bool:
        if not self.admits_site(site_id):
            return False
        owner = (self.group.owner_id, self.group.site_id)
        return (user_id, site_id) == owner or (user_id, site_id) in self.members


def group_shapes(group_ids: Iterable[int]) -> dict[int, GroupShape]:
    ids = set(group_ids)
    if not ids:
        return {}
    shapes = {g.pk: GroupShape(g) for g in ShareGroup.objects.filter(pk__in=ids)}
    for group_id, site_id in GroupWhitelistEntry.objects.filter(group_id__in=ids).values_list(
        "group_id", "site_id"
    ):
        shapes[group_id].whitelisted.add(site_id)
    for group_id, site_id, user_id in ShareGroupMember.objects.filter(group_id__in=ids).values_list(
        "group_id", "site_id", "user_id"
    ):
        shapes[group_id].members.add((user_id, site_id))
    return shapes


def member_group_ids(*, user_id: int, site_id: int) -> list[int]:
    """The groups this person belongs to or owns (whether they admit them is the shape's
    question)."""
    owned = ShareGroup.objects.filter(owner_id=user_id, site_id=site_id).values_list(
        "pk", flat=True
    )
    joined = ShareGroupMember.objects.filter(user_id=user_id, site_id=site_id).values_list(
        "group_id", flat=True
    )
    return list(owned.union(joined))


def active_pairs(pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """Those (user, site) pairs with an active staff profile there: one query."""
    pairs = set(pairs)
    if not pairs:
        return set()
    users = {u for u, _ in pairs}
    sites = {s for _, s in pairs}
    found = StaffProfile.objects.filter(
        user_id__in=users, site_id__in=sites, is_active=True, user__is_active=True
    ).values_list("user_id", "site_id")
    return set(found) & pairs


@dataclass
class ReachContext:
    """Everything needed to decide a batch of shares, loaded in a fixed number of queries."""

    networks: dict[int, NetworkShape]
    groups: dict[int, GroupShape]
    active_owners: set[tuple[int, int]]

    @classmethod
    def for_shares(cls, shares: list[ResourceShare]) -> "ReachContext":
        return cls(
            networks=network_shapes(s.network_id for s in shares if s.network_id),
            groups=group_shapes(s.group_id for s in shares if s.group_id),
            active_owners=active_pairs((s.resource.owner_id, s.resource.site_id) for s in shares),
        )


def share_reaches(share: ResourceShare, *, user_id: int, site_id: int, ctx: ReachContext) -> bool:
    """Does ``share`` (with its resource loaded) open the resource to this person now?"""
    resource = share.resource
    owner, owner_site = resource.owner_id, resource.site_id
    if (user_id, site_id) == (owner, owner_site):
        return True
    if site_id != owner_site and (owner, owner_site) not in ctx.active_owners:
        return False  # the owner left: nothing of theirs crosses any more
    if share.recipient_id is not None:
        if (share.recipient_id, share.recipient_site_id) != (user_id, site_id):
            return False
        if site_id == owner_site:
            return True
        shape = ctx.networks.get(share.network_id)
        return shape is not None and shape.allows(
            from_user=owner, from_site=owner_site, to_user=user_id, to_site=site_id
        )
    if share.group_id is not None:
        shape = ctx.groups.get(share.group_id)
        return (
            shape is not None
            and shape.has_member(owner, owner_site)
            and shape.has_member(user_id, site_id)
        )
    shape = ctx.networks.get(share.network_id)
    return (
        shape is not None
        and shape.allows_everyone(from_user=owner, from_site=owner_site)
        and shape.includes(user_id, site_id)
    )
