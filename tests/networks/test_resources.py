"""Resources inside the organisation: the owner adds, edits, replaces, deletes and shares;
colleagues open what is shared with them; anyone the rules do not reach gets the same 404
as for a resource that does not exist. Downloads serve byte ranges for video players."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from accounts.models import AuditAction, AuditEvent
from networks import services
from networks.models import Resource, ResourceShare
from networks.selectors import person_key

from .conftest import MP4_BYTES, PDF_BYTES, actor, client_for, staff, stored_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(schools):
    a = schools["a"]
    owner, colleague, other = staff(a), staff(a), staff(a)
    outsider = staff(schools["b"])
    video = services.resource_create(
        actor=actor(owner, a),
        site=a,
        title="Questioning lesson",
        upload=SimpleUploadedFile("lesson.mp4", MP4_BYTES),
    )
    return {
        **schools,
        "owner": owner,
        "colleague": colleague,
        "other": other,
        "outsider": outsider,
        "video": video,
    }


def test_only_the_owner_sees_a_new_resource(world):
    a, video = world["a"], world["video"]
    assert client_for(a, world["owner"]).get(f"/sharing/resources/{video.pk}/").status_code == 200
    for user in (world["colleague"], world["other"]):
        client = client_for(a, user)
        assert client.get(f"/sharing/resources/{video.pk}/").status_code == 404
        assert client.get(f"/sharing/resources/{video.pk}/file/").status_code == 404
        assert client.get(f"/api/v1/resources/{video.pk}/file/").status_code == 404
    missing = client_for(a, world["colleague"]).get("/sharing/resources/999999/file/")
    assert missing.status_code == 404


def test_sharing_with_a_colleague_opens_it_to_them_only(world):
    a, video = world["a"], world["video"]
    owner_client = client_for(a, world["owner"])
    response = owner_client.post(
        f"/sharing/resources/{video.pk}/share/",
        {"target": person_key(world["colleague"].pk, a.pk)},
    )
    assert response.status_code == 302
    colleague = client_for(a, world["colleague"])
    assert colleague.get(f"/sharing/resources/{video.pk}/").status_code == 200
    file = colleague.get(f"/sharing/resources/{video.pk}/file/")
    assert file.status_code == 200
    assert b"".join(file.streaming_content) == MP4_BYTES
    assert file["Content-Type"] == "video/mp4"
    assert file["Accept-Ranges"] == "bytes"
    assert "Questioning lesson" in colleague.get("/sharing/resources/").content.decode()
    assert (
        client_for(a, world["other"]).get(f"/sharing/resources/{video.pk}/file/").status_code == 404
    )
    assert AuditEvent.objects.filter(action=AuditAction.RESOURCE_SHARED, site=a).count() == 1


def test_sharing_with_everyone_at_the_site_reaches_colleagues_but_nobody_elsewhere(world):
    a, video = world["a"], world["video"]
    client_for(a, world["owner"]).post(f"/sharing/resources/{video.pk}/share/", {"everyone": "yes"})
    assert (
        client_for(a, world["other"]).get(f"/sharing/resources/{video.pk}/file/").status_code == 200
    )
    # Someone at another school, asking at their own site or at ours (no access there).
    outsider = world["outsider"]
    assert (
        client_for(world["b"], outsider).get(f"/sharing/resources/{video.pk}/").status_code == 404
    )
    assert client_for(world["b"], outsider).get(f"/api/v1/resources/{video.pk}/").status_code == 404


def test_a_share_with_someone_outside_the_picker_is_refused_and_changes_nothing(world):
    a, video = world["a"], world["video"]
    client = client_for(a, world["owner"])
    for target in (
        person_key(world["outsider"].pk, world["b"].pk),
        person_key(world["outsider"].pk, a.pk),  # not staff here
        "group:999",
        "network:1",
        "anything",
    ):
        response = client.post(f"/sharing/resources/{video.pk}/share/", {"target": target})
        assert response.status_code == 400
        assert "you can share only with them" in response.content.decode()
        api = client.post(
            f"/api/v1/resources/{video.pk}/shares/",
            {"target": target},
            content_type="application/json",
        )
        assert api.status_code == 400
    assert ResourceShare.objects.count() == 0


def test_nobody_but_the_owner_can_change_share_or_delete_it(world):
    a, video = world["a"], world["video"]
    services.resource_share(
        actor=actor(world["owner"], a),
        resource=video,
        target_key=person_key(world["colleague"].pk, a.pk),
    )
    client = client_for(a, world["colleague"])
    for path in ("edit", "replace", "delete", "share"):
        assert (
            client.post(f"/sharing/resources/{video.pk}/{path}/", {"title": "x"}).status_code == 404
        )
    assert (
        client.patch(
            f"/api/v1/resources/{video.pk}/", {"title": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/resources/{video.pk}/").status_code == 404
    video.refresh_from_db()
    assert video.title == "Questioning lesson"


def test_the_owner_edits_replaces_and_deletes(world, media, django_capture_on_commit_callbacks):
    a, video = world["a"], world["video"]
    client = client_for(a, world["owner"])
    response = client.post(
        f"/sharing/resources/{video.pk}/edit/", {"title": "Better questions", "description": "Y9"}
    )
    assert response.status_code == 302
    old_name = Resource.objects.get().stored_name
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/sharing/resources/{video.pk}/replace/",
            {"file": SimpleUploadedFile("plan.pdf", PDF_BYTES)},
        )
    assert response.status_code == 302
    video.refresh_from_db()
    assert (video.title, video.content_type, video.original_name) == (
        "Better questions",
        "application/pdf",
        "plan.pdf",
    )
    assert video.stored_name != old_name
    assert len(stored_files(media)) == 1  # the old file went with the commit
    # A refused replacement keeps the file it had.
    refused = client.post(
        f"/sharing/resources/{video.pk}/replace/", {"file": SimpleUploadedFile("x.pdf", b"")}
    )
    assert refused.status_code == 400
    assert Resource.objects.get().stored_name == video.stored_name
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/sharing/resources/{video.pk}/delete/").status_code == 302
    assert Resource.objects.count() == 0
    assert stored_files(media) == []
    actions = set(AuditEvent.objects.filter(site=a).values_list("action", flat=True))
    assert {
        AuditAction.RESOURCE_ADDED,
        AuditAction.RESOURCE_CHANGED,
        AuditAction.RESOURCE_DELETED,
    } <= actions


def test_a_note_is_written_edited_and_read(world):
    a = world["a"]
    client = client_for(a, world["owner"])
    response = client.post(
        "/sharing/resources/new/", {"title": "Reflection", "note": "Wait time helped."}
    )
    assert response.status_code == 302
    note = Resource.objects.get(title="Reflection")
    client.post(
        f"/sharing/resources/{note.pk}/edit/",
        {"title": "Reflection", "note": "Wait time helped a lot."},
    )
    note.refresh_from_db()
    assert note.note == "Wait time helped a lot."
    assert client.get(f"/sharing/resources/{note.pk}/file/").status_code == 404
    assert client.post("/sharing/resources/new/", {"title": "Nothing"}).status_code == 400


@pytest.mark.parametrize(
    ("header", "status", "content_range", "body"),
    [
        ("bytes=0-9", 206, "bytes 0-9/{size}", MP4_BYTES[:10]),
        ("bytes=10-", 206, "bytes 10-{last}/{size}", MP4_BYTES[10:]),
        ("bytes=-4", 206, "bytes {tail}-{last}/{size}", MP4_BYTES[-4:]),
        ("bytes=5-99999", 206, "bytes 5-{last}/{size}", MP4_BYTES[5:]),
        ("bytes=99999-", 416, "bytes */{size}", b""),
        ("items=0-1", 200, None, MP4_BYTES),
    ],
)
def test_downloads_answer_byte_ranges(world, header, status, content_range, body):
    owner = client_for(world["a"], world["owner"])
    response = owner.get(f"/sharing/resources/{world['video'].pk}/file/", HTTP_RANGE=header)
    assert response.status_code == status
    size = len(MP4_BYTES)
    if content_range:
        assert response["Content-Range"] == content_range.format(
            size=size, last=size - 1, tail=size - 4
        )
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert content == body


def test_the_api_adds_lists_and_shares(world):
    a = world["a"]
    client = client_for(a, world["owner"])
    created = client.post(
        "/api/v1/resources/", {"title": "Plan", "file": SimpleUploadedFile("plan.pdf", PDF_BYTES)}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["content_type"] == "application/pdf"
    targets = client.get("/api/v1/share-targets/").json()
    keys = {t["key"] for t in targets}
    assert keys == {person_key(world["colleague"].pk, a.pk), person_key(world["other"].pk, a.pk)}
    assert all(t["organisation"] == a.name for t in targets)
    shared = client.post(
        f"/api/v1/resources/{body['id']}/shares/",
        {"target": person_key(world["colleague"].pk, a.pk)},
        content_type="application/json",
    )
    assert shared.status_code == 201
    mine = client_for(a, world["colleague"]).get("/api/v1/resources/shared-with-me/").json()
    assert [item["resource"]["title"] for item in mine] == ["Plan"]
    share_id = shared.json()["id"]
    assert client.delete(f"/api/v1/resources/{body['id']}/shares/{share_id}/").status_code == 204
    assert (
        client_for(a, world["colleague"]).get(f"/api/v1/resources/{body['id']}/file/").status_code
        == 404
    )


def test_the_resources_page_keeps_its_query_count_as_shares_grow(
    world, django_assert_max_num_queries
):
    a = world["a"]
    reader = world["colleague"]
    client = client_for(a, reader)

    def add(n):
        for i in range(n):
            r = services.resource_create(
                actor=actor(world["owner"], a), site=a, title=f"Note {i}", note="text"
            )
            services.resource_share(
                actor=actor(world["owner"], a), resource=r, target_key=person_key(reader.pk, a.pk)
            )

    add(2)
    client.get("/sharing/resources/")  # the session's first request does more
    with django_assert_max_num_queries(40) as few:
        assert client.get("/sharing/resources/").status_code == 200
    add(10)
    with django_assert_max_num_queries(len(few.captured_queries)) as more:
        assert client.get("/sharing/resources/").status_code == 200
    assert len(more.captured_queries) == len(few.captured_queries)


def test_the_api_replaces_the_file_for_its_owner_only(world):
    a, video = world["a"], world["video"]
    body = encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("plan.pdf", PDF_BYTES)})
    url = f"/api/v1/resources/{video.pk}/file/"
    colleague = client_for(a, world["colleague"])
    assert colleague.put(url, body, content_type=MULTIPART_CONTENT).status_code == 404
    response = client_for(a, world["owner"]).put(url, body, content_type=MULTIPART_CONTENT)
    assert response.status_code == 200
    assert response.json()["content_type"] == "application/pdf"
