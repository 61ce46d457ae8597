"""The demo's staff sharing (issue 17): a collaboration network of three of the trust's
schools (approved by each head), a coaching network with an outside teacher-training
organisation (one school's approval still missing), a community group, and a few
resources including a short video. Idempotent: a second run finds everything made by the
first and makes nothing again."""

from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.audit import Actor
from accounts.models import StaffProfile, User
from accounts.staff.services import role_assign, roles_ensure_defaults, user_ensure
from institutions.models import Institution
from networks import services
from networks.models import (
    GroupStatus,
    GroupWhitelistEntry,
    Network,
    NetworkKind,
    Resource,
    ShareGroup,
)
from networks.selectors import person_key

# The outside teacher-training organisation: a school of the local authority outside the
# trust, as teaching school hubs are led by schools (the register has no other kind for one,
# and the demo's register stays exactly the generated one).
COLLABORATION = "Oak Ridge schools collaboration"
COACHING = "Northshire early career coaching"
COMMUNITY_GROUP = "Oak Ridge reading leads"
VIDEO = Path(__file__).parent / "demo_media" / "lesson-clip.webm"


def _person(site: Institution, email: str, name: str, role_name: str, password: str) -> User:
    user = user_ensure(email=email, full_name=name, password=password)
    profile, _ = StaffProfile.objects.get_or_create(
        site=site, user=user, defaults={"job_title": role_name}
    )
    role_assign(profile=profile, role=roles_ensure_defaults(site=site)[role_name])
    return user


def _head(site: Institution) -> User:
    return User.objects.get(email=f"head@{site.slug}.test")


def seed_staff_sharing(*, schools: list[Institution], hub: Institution, password: str) -> None:
    """``schools``: the trust's (the first three take part); ``hub``: the coaching
    organisation, outside the trust."""
    first, second, third = schools[:3]
    # The schools' deputies share their lessons (the demo keeps three staff per school).
    teachers = {
        site.pk: User.objects.get(email=f"deputy@{site.slug}.test")
        for site in (first, second, third)
    }
    hub_head = _person(hub, f"head@{hub.slug}.test", "Hannah Hubhead", "Head Teacher", password)
    coach = _person(hub, f"coach@{hub.slug}.test", "Carl Coach", "Teacher", password)

    if not Network.objects.filter(name=COLLABORATION).exists():
        network = services.network_request(
            actor=Actor(user=_head(first), site=first),
            site=first,
            kind=NetworkKind.COLLABORATION,
            name=COLLABORATION,
            purpose="The trust's schools share lesson videos and reflections with each other.",
            organisations=[first, second, third],
        )
        for site in (first, second, third):
            services.network_approve(
                actor=Actor(user=_head(site), site=site),
                network=network,
                site=site,
                statement="Our data sharing agreement with the trust covers staff resources.",
            )
    if not Network.objects.filter(name=COACHING).exists():
        network = services.network_request(
            actor=Actor(user=hub_head, site=hub),
            site=hub,
            kind=NetworkKind.COACHING,
            name=COACHING,
            purpose="Early career teachers share lessons with their hub coach.",
            organisations=[hub, first, second],
            coaching_site=hub,
            members={hub.pk: [coach.pk]},
        )
        for site, who in ((hub, hub_head), (first, _head(first))):  # the second's is missing
            services.network_approve(
                actor=Actor(user=who, site=site),
                network=network,
                site=site,
                statement="Approved for the early career programme.",
            )

    group = ShareGroup.objects.filter(name=COMMUNITY_GROUP, site=first).first()
    if group is None:
        owner = teachers[first.pk]
        group = services.group_create(
            actor=Actor(user=owner, site=first),
            site=first,
            name=COMMUNITY_GROUP,
            description="Reading leads across the trust share phonics ideas.",
        )
        services.group_community_request(actor=Actor(user=owner, site=first), group=group)
        services.group_community_approve(actor=Actor(user=_head(first), site=first), group=group)
    if (
        group.status == GroupStatus.COMMUNITY
        and not GroupWhitelistEntry.objects.filter(group=group, site=second).exists()
    ):
        services.group_whitelist_add(
            actor=Actor(user=_head(second), site=second), group=group, site=second
        )
        services.group_member_add(
            actor=Actor(user=teachers[second.pk], site=second),
            group=group,
            user=teachers[second.pk],
            site=second,
        )

    owner = teachers[first.pk]
    actor = Actor(user=owner, site=first)
    if not Resource.objects.filter(site=first, owner=owner).exists():
        video = services.resource_create(
            actor=actor,
            site=first,
            title="Questioning in Year 5 (clip)",
            description="Two minutes of cold calling; I would like feedback on wait time.",
            upload=SimpleUploadedFile("questioning-year-5.webm", VIDEO.read_bytes()),
        )
        services.resource_share(
            actor=actor, resource=video, target_key=person_key(teachers[second.pk].pk, second.pk)
        )
        services.resource_share(
            actor=actor, resource=video, target_key=person_key(_head(first).pk, first.pk)
        )
        note = services.resource_create(
            actor=actor,
            site=first,
            title="Reflection: wait time",
            note="Counting to five before taking answers doubled the hands up.",
        )
        services.resource_share_everyone(actor=actor, resource=note, everyone=True)
        reading = services.resource_create(
            actor=actor,
            site=first,
            title="Phonics warm-ups",
            note="Five quick games for the start of a phonics lesson.",
        )
        services.resource_share(actor=actor, resource=reading, target_key=f"group:{group.pk}")
