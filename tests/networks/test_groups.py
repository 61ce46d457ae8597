"""Groups: local groups admit their organisation's staff only; a community group needs its
own organisation's administrator; other organisations whitelist it for their staff, and
removing it from a whitelist ends, at once, exactly that organisation's staff's shares."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditAction, AuditEvent
from networks import services
from networks.models import GroupStatus, ResourceShare, ShareGroup
from networks.selectors import share_targets

from .conftest import MP4_BYTES, actor, client_for, leader, staff

pytestmark = pytest.mark.django_db


def video_of(owner, site, title="Lesson"):
    return services.resource_create(
        actor=actor(owner, site),
        site=site,
        title=title,
        upload=SimpleUploadedFile("lesson.mp4", MP4_BYTES),
    )


def opens(resource, user, site) -> bool:
    return client_for(site, user).get(f"/sharing/resources/{resource.pk}/file/").status_code == 200


@pytest.fixture
def community(schools):
    """A community group owned at A, whitelisted by B, with a member at A and one at B."""
    a, b = schools["a"], schools["b"]
    owner, member_a, member_b = staff(a), staff(a), staff(b)
    client = client_for(a, owner)
    response = client.post("/sharing/groups/", {"name": "Reading leads"})
    assert response.status_code == 302
    group = ShareGroup.objects.get()
    client.post(f"/sharing/groups/{group.pk}/members/", {"user": member_a.pk})
    assert client.post(f"/sharing/groups/{group.pk}/community/").status_code == 302
    # A teacher cannot approve it; an administrator of A can; B's cannot.
    b_admin = leader(b)
    assert (
        client_for(b, b_admin).post(f"/sharing/groups/{group.pk}/community/approve/").status_code
        == 404
    )
    assert client.post(f"/sharing/groups/{group.pk}/community/approve/").status_code == 403
    assert (
        client_for(a, leader(a)).post(f"/sharing/groups/{group.pk}/community/approve/").status_code
        == 302
    )
    group.refresh_from_db()
    assert group.status == GroupStatus.COMMUNITY
    # B joins only once its administrator whitelists the group.
    joiner = client_for(b, member_b)
    assert joiner.post(f"/sharing/groups/{group.pk}/members/", {"join": "1"}).status_code == 400
    assert (
        client_for(b, b_admin)
        .post(f"/sharing/groups/{group.pk}/whitelist/", {"action": "add"})
        .status_code
        == 302
    )
    assert joiner.post(f"/sharing/groups/{group.pk}/members/", {"join": "1"}).status_code == 302
    return {
        "group": group,
        "owner": owner,
        "member_a": member_a,
        "member_b": member_b,
        "b_admin": b_admin,
    }


def test_a_local_group_admits_only_its_organisations_staff(schools):
    a, b = schools["a"], schools["b"]
    owner, outsider = staff(a), staff(b)
    group = services.group_create(actor=actor(owner, a), site=a, name="Maths")
    response = client_for(b, outsider).post(f"/sharing/groups/{group.pk}/members/", {"join": "1"})
    assert response.status_code == 404  # another organisation's local group is not there
    client = client_for(a, owner)
    assert (
        client.post(f"/sharing/groups/{group.pk}/members/", {"user": outsider.pk}).status_code
        == 400
    )
    assert group.members.count() == 0


def test_sharing_with_a_community_group_reaches_its_members_at_every_organisation(
    schools, community
):
    a, b = schools["a"], schools["b"]
    group = community["group"]
    video = video_of(community["owner"], a)
    key = f"group:{group.pk}"
    assert key in {t.key for t in share_targets(site=a, user=community["owner"])}
    services.resource_share(actor=actor(community["owner"], a), resource=video, target_key=key)
    assert opens(video, community["member_a"], a)
    assert opens(video, community["member_b"], b)
    assert not opens(video, staff(b), b)  # B staff who did not join


def test_removing_a_group_from_a_whitelist_ends_only_that_organisations_shares_at_once(
    schools, community
):
    a, b = schools["a"], schools["b"]
    group = community["group"]
    from_a = video_of(community["owner"], a, "From A")
    from_b = video_of(community["member_b"], b, "From B")
    for owner, site, resource in (
        (community["owner"], a, from_a),
        (community["member_b"], b, from_b),
    ):
        services.resource_share(
            actor=actor(owner, site), resource=resource, target_key=f"group:{group.pk}"
        )
    assert opens(from_b, community["member_a"], a)
    response = client_for(b, community["b_admin"]).delete(f"/api/v1/groups/{group.pk}/whitelist/")
    assert response.status_code == 200
    assert response.json() == {"shares_ended": 1}
    assert list(ResourceShare.objects.values_list("resource__title", flat=True)) == ["From A"]
    assert not opens(from_b, community["member_a"], a)
    assert opens(from_a, community["member_a"], a)
    # B's member no longer reaches the group's content either, nor may share with it.
    assert not opens(from_a, community["member_b"], b)
    assert f"group:{group.pk}" not in {
        t.key for t in share_targets(site=b, user=community["member_b"])
    }
    assert AuditEvent.objects.filter(action=AuditAction.RESOURCE_UNSHARED, site=b).count() == 1


def test_whitelisting_needs_the_administer_permission_and_another_organisations_community_group(
    schools, community
):
    a, c = schools["a"], schools["c"]
    group = community["group"]
    teacher = client_for(c, staff(c))
    assert teacher.put(f"/api/v1/groups/{group.pk}/whitelist/").status_code == 403
    own = client_for(a, leader(a))
    assert own.put(f"/api/v1/groups/{group.pk}/whitelist/").status_code == 400
    local = services.group_create(actor=actor(community["owner"], a), site=a, name="Local")
    assert client_for(c, leader(c)).put(f"/api/v1/groups/{local.pk}/whitelist/").status_code == 404
