"""Networks: active only after the last member organisation's leadership approves; every
direction of both kinds, allowed and refused, in the picker, the service, the page and the
API; withdrawal suspends at once; a trust proposes one for its schools in one step."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditAction, AuditEvent, StaffProfile
from accounts.permissions import USER_DETAILS
from accounts.staff.onboarding import staff_deactivate
from networks import services
from networks.models import Network, NetworkKind, NetworkStatus, ResourceShare
from networks.selectors import person_key, share_targets
from tests.factories import MembershipFactory, grant_permission

from .conftest import MP4_BYTES, actor, approved_network, client_for, leader, staff

pytestmark = pytest.mark.django_db


def video_of(owner, site, title="Lesson"):
    return services.resource_create(
        actor=actor(owner, site),
        site=site,
        title=title,
        upload=SimpleUploadedFile("lesson.mp4", MP4_BYTES),
    )


def keys(user, site) -> set[str]:
    return {t.key for t in share_targets(site=site, user=user)}


def can_share(owner, site, resource, to_user, to_site) -> bool:
    """Through the page, the API and the service: all three must agree."""
    key = person_key(to_user.pk, to_site.pk)
    client = client_for(site, owner)
    page = client.post(f"/sharing/resources/{resource.pk}/share/", {"target": key})
    shared_by_page = ResourceShare.objects.filter(resource=resource, recipient=to_user).exists()
    ResourceShare.objects.filter(resource=resource).delete()
    api = client.post(
        f"/api/v1/resources/{resource.pk}/shares/", {"target": key}, content_type="application/json"
    )
    shared_by_api = ResourceShare.objects.filter(resource=resource, recipient=to_user).exists()
    ResourceShare.objects.filter(resource=resource).delete()
    assert (page.status_code == 302) == shared_by_page == (api.status_code == 201) == shared_by_api
    assert (key in keys(owner, site)) == shared_by_page
    return shared_by_page


def opens(resource, user, site) -> bool:
    client = client_for(site, user)
    page = client.get(f"/sharing/resources/{resource.pk}/file/").status_code
    api = client.get(f"/api/v1/resources/{resource.pk}/file/").status_code
    assert page == api and page in (200, 404)
    return page == 200


@pytest.fixture
def teachers(schools):
    return {key: staff(schools[key]) for key in ("a", "b", "c", "hub")}


def test_a_network_is_active_only_after_the_last_approval(schools, teachers):
    a, b, c = schools["a"], schools["b"], schools["c"]
    requester = leader(a)
    network = services.network_request(
        actor=actor(requester, a),
        site=a,
        kind=NetworkKind.COLLABORATION,
        name="Trio",
        organisations=[a, b, c],
    )
    video = video_of(teachers["a"], a)
    for site in (a, b):
        who = requester if site == a else leader(site)
        services.network_approve(
            actor=actor(who, site), network=network, site=site, statement="Yes"
        )
        network.refresh_from_db()
        assert network.status == NetworkStatus.PENDING
        assert not can_share(teachers["a"], a, video, teachers["b"], b)
    head_c = leader(c)
    client = client_for(c, head_c)
    refused = client.post(f"/sharing/networks/{network.pk}/approve/", {"statement": ""})
    assert refused.status_code == 400 and "statement of approval" in refused.content.decode()
    approved = client.post(f"/sharing/networks/{network.pk}/approve/", {"statement": "DSA signed."})
    assert approved.status_code == 302
    network.refresh_from_db()
    assert network.status == NetworkStatus.ACTIVE
    place = network.organisations.get(site=c)
    assert (place.approver_name, place.statement) == (head_c.display_name, "DSA signed.")
    assert place.approved_at is not None
    assert can_share(teachers["a"], a, video, teachers["b"], b)


def test_approving_needs_the_leadership_permission_at_that_organisation(schools, teachers):
    a, b = schools["a"], schools["b"]
    network = services.network_request(
        actor=actor(leader(a), a),
        site=a,
        kind=NetworkKind.COLLABORATION,
        name="Pair",
        organisations=[a, b],
    )
    teacher = client_for(b, teachers["b"])
    assert (
        teacher.post(f"/sharing/networks/{network.pk}/approve/", {"statement": "x"}).status_code
        == 403
    )
    assert (
        teacher.post(
            f"/api/v1/networks/{network.pk}/approval/",
            {"statement": "x"},
            content_type="application/json",
        ).status_code
        == 403
    )
    # A leader elsewhere cannot approve for B, nor see a network it is not in.
    outsider = client_for(schools["c"], leader(schools["c"]))
    assert (
        outsider.post(f"/sharing/networks/{network.pk}/approve/", {"statement": "x"}).status_code
        == 404
    )
    assert outsider.get(f"/api/v1/networks/{network.pk}/").status_code == 404
    assert network.organisations.filter(approved_at__isnull=False).count() == 0


def test_collaboration_every_member_shares_with_every_other(schools, teachers):
    a, b, c = schools["a"], schools["b"], schools["c"]
    approved_network(kind=NetworkKind.COLLABORATION, sites=[a, b, c])
    for owner_key, to_key in (("a", "b"), ("b", "c"), ("c", "a")):
        owner_site, to_site = schools[owner_key], schools[to_key]
        video = video_of(teachers[owner_key], owner_site)
        assert can_share(teachers[owner_key], owner_site, video, teachers[to_key], to_site)
    # Nobody outside the network.
    video = video_of(teachers["a"], a)
    assert not can_share(teachers["a"], a, video, teachers["hub"], schools["hub"])


def test_coaching_spokes_share_only_with_the_coaches_never_each_other(schools, teachers):
    a, b, hub = schools["a"], schools["b"], schools["hub"]
    coach = staff(hub)
    other_hub_staff = teachers["hub"]
    approved_network(
        kind=NetworkKind.COACHING, sites=[hub, a, b], coaching=hub, members={hub.pk: [coach.pk]}
    )
    video = video_of(teachers["a"], a)
    assert can_share(teachers["a"], a, video, coach, hub)
    assert not can_share(teachers["a"], a, video, teachers["b"], b)  # spoke to spoke
    assert not can_share(teachers["a"], a, video, other_hub_staff, hub)  # not a named coach
    # The coach shares with anyone in the network, and with everyone in it at once.
    coach_video = video_of(coach, hub)
    assert can_share(coach, hub, coach_video, teachers["a"], a)
    assert can_share(coach, hub, coach_video, teachers["b"], b)
    spoke_keys = keys(teachers["a"], a)
    assert not any(k.startswith("network:") for k in spoke_keys)
    assert any(k.startswith("network:") for k in keys(coach, hub))
    # The picker labels each person with their organisation and lists nothing else.
    targets = share_targets(site=a, user=teachers["a"])
    assert {(t.label, t.organisation) for t in targets if t.site_id != a.pk} == {
        (coach.display_name, hub.name)
    }


def test_a_spoke_teacher_cannot_find_another_spokes_teacher_in_the_picker_or_api(schools, teachers):
    a, b, hub = schools["a"], schools["b"], schools["hub"]
    approved_network(kind=NetworkKind.COACHING, sites=[hub, a, b], coaching=hub)
    client = client_for(a, teachers["a"])
    video = video_of(teachers["a"], a)
    page = client.get(f"/sharing/resources/{video.pk}/").content.decode()
    assert teachers["hub"].display_name in page
    assert teachers["b"].display_name not in page
    listed = {t["key"] for t in client.get("/api/v1/share-targets/").json()}
    assert person_key(teachers["b"].pk, b.pk) not in listed


def test_withdrawal_suspends_the_network_and_hides_its_shares_at_once(schools, teachers):
    a, b = schools["a"], schools["b"]
    network = approved_network(kind=NetworkKind.COLLABORATION, sites=[a, b])
    video = video_of(teachers["a"], a)
    services.resource_share(
        actor=actor(teachers["a"], a), resource=video, target_key=person_key(teachers["b"].pk, b.pk)
    )
    assert opens(video, teachers["b"], b)
    head_b = leader(b)
    response = client_for(b, head_b).post(
        f"/sharing/networks/{network.pk}/withdraw/", {"reason": "New head reviewing"}
    )
    assert response.status_code == 302
    network.refresh_from_db()
    assert network.status == NetworkStatus.SUSPENDED
    assert not opens(video, teachers["b"], b)
    assert person_key(teachers["b"].pk, b.pk) not in keys(teachers["a"], a)
    assert AuditEvent.objects.filter(action=AuditAction.NETWORK_WITHDRAWN, site=b).exists()
    # Approving again brings it back.
    services.network_approve(actor=actor(head_b, b), network=network, site=b, statement="Reviewed")
    network.refresh_from_db()
    assert network.status == NetworkStatus.ACTIVE
    assert opens(video, teachers["b"], b)


def test_a_departed_owners_cross_organisation_shares_end(schools, teachers):
    a, b = schools["a"], schools["b"]
    approved_network(kind=NetworkKind.COLLABORATION, sites=[a, b])
    colleague = staff(a)
    video = video_of(teachers["a"], a)
    for to_user, to_site in ((teachers["b"], b), (colleague, a)):
        services.resource_share(
            actor=actor(teachers["a"], a),
            resource=video,
            target_key=person_key(to_user.pk, to_site.pk),
        )
    head = leader(a)
    grant_permission(head, a, USER_DETAILS)
    staff_deactivate(
        profile=StaffProfile.objects.get(user=teachers["a"], site=a), actor=actor(head, a)
    )
    assert not opens(video, teachers["b"], b)
    assert list(ResourceShare.objects.values_list("recipient", flat=True)) == [colleague.pk]
    assert AuditEvent.objects.filter(action=AuditAction.RESOURCE_UNSHARED, site=a).count() == 1


def test_cross_organisation_downloads_are_audited_for_the_owners_organisation(schools, teachers):
    a, b = schools["a"], schools["b"]
    approved_network(kind=NetworkKind.COLLABORATION, sites=[a, b])
    video = video_of(teachers["a"], a)
    services.resource_share(
        actor=actor(teachers["a"], a), resource=video, target_key=person_key(teachers["b"].pk, b.pk)
    )
    assert opens(video, teachers["b"], b)
    events = AuditEvent.objects.filter(action=AuditAction.RESOURCE_DOWNLOADED, site=a)
    assert events.count() == 2  # the page and the API
    assert events.first().actor == teachers["b"]


def test_a_trust_proposes_a_network_of_its_schools_in_one_step(schools):
    trust, a, b = schools["trust"], schools["a"], schools["b"]
    MembershipFactory(group=trust, school=a)
    MembershipFactory(group=trust, school=b)
    client = client_for(trust, leader(trust))
    response = client.post(
        "/api/v1/networks/trust-schools/",
        {"name": "Oak Ridge schools"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {o["organisation"]["name"] for o in body["organisations"]} == {a.name, b.name}
    assert body["status"] == "pending"
    assert body["agreements_missing_between"] == 1
    page = client_for(a, leader(a)).get(f"/sharing/networks/{body['id']}/").content.decode()
    assert "no data sharing agreement" in page
    assert "Approve for" in page


def test_a_request_with_bad_input_is_refused_and_creates_nothing(schools):
    a = schools["a"]
    client = client_for(a, leader(a))
    for data in (
        {"kind": "coaching", "name": "X", "organisations": "beech-school"},  # no coaching org
        {"kind": "collaboration", "name": "X", "organisations": "no-such-place"},
        {"kind": "collaboration", "name": "", "organisations": "beech-school"},
        {"kind": "collaboration", "name": "X", "organisations": "ash-school"},  # only itself
    ):
        assert client.post("/sharing/networks/new/", data).status_code == 400
    api = client.post(
        "/api/v1/networks/",
        {
            "kind": "coaching",
            "name": "X",
            "organisations": [schools["b"].pk],
            "coaching_organisation": 999999,
        },
        content_type="application/json",
    )
    assert api.status_code == 400
    assert Network.objects.count() == 0
    with pytest.raises(ValidationError):
        services.network_request(
            actor=actor(leader(a), a),
            site=a,
            kind="other",
            name="X",
            organisations=[a, schools["b"]],
        )
    teacher = client_for(a, staff(a))
    assert teacher.get("/sharing/networks/new/").status_code == 403
