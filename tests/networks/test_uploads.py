"""Hostile uploads get a clear answer and store nothing (no file, no row); a good one is
stored under a generated name with the type its bytes show."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from networks import services
from networks.models import Resource
from networks.uploads import check_upload

from .conftest import MP4_BYTES, PDF_BYTES, actor, client_for, staff, stored_files

pytestmark = pytest.mark.django_db


def upload(client, name, content, content_type="application/octet-stream", title="Lesson"):
    return client.post(
        "/sharing/resources/new/",
        {"title": title, "file": SimpleUploadedFile(name, content, content_type=content_type)},
    )


@pytest.fixture
def teacher_client(schools):
    return client_for(schools["a"], staff(schools["a"]))


@pytest.mark.parametrize(
    ("name", "content", "declared", "message"),
    [
        ("lesson.mp4", PDF_BYTES, "video/mp4", "named .mp4 but its contents are a PDF document"),
        ("empty.pdf", b"", "application/pdf", "is empty (0 bytes)"),
        (
            "report.pdf",
            b"<!DOCTYPE html><html><script>alert(1)</script></html>",
            "application/pdf",
            "does not contain what its name says",
        ),
        ("page.html", b"<html></html>", "text/html", "not a kind of file that can be shared"),
        (
            "drawing.svg",
            b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            "image/svg+xml",
            "not a kind",
        ),
        ("notes.txt", b"<script>alert(1)</script>", "text/plain", "does not contain what its name"),
        ("tool.exe", b"MZ\x90\x00", "application/octet-stream", "not a kind"),
    ],
)
def test_a_hostile_upload_is_refused_with_a_clear_message_and_nothing_stored(
    teacher_client, media, name, content, declared, message
):
    response = upload(teacher_client, name, content, declared)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Resource.objects.count() == 0
    assert stored_files(media) == []


def test_a_name_that_climbs_folders_is_refused_by_the_check_and_stores_nothing(schools, media):
    teacher = staff(schools["a"])
    # (Django's upload objects keep only a name's last part: "../x.pdf" arrives as "x.pdf";
    # what survives that and still means trouble is refused here.)
    for name in ("..\\..\\evil.pdf", ".hidden.pdf", "invoice\u202efdp.exe.pdf"):
        with pytest.raises(ValidationError, match="names a folder or contains hidden characters"):
            services.resource_create(
                actor=actor(teacher, schools["a"]),
                site=schools["a"],
                title="x",
                upload=SimpleUploadedFile(name, PDF_BYTES),
            )
    assert Resource.objects.count() == 0
    assert stored_files(media) == []


def test_through_the_form_a_climbing_name_keeps_only_its_last_part_under_a_generated_name(
    teacher_client, media
):
    # Django's upload parser keeps only the last part of a name; the file is stored under a
    # generated name inside the media folder whatever the name said.
    response = upload(teacher_client, "../../etc/passwd.pdf", PDF_BYTES, "application/pdf")
    assert response.status_code == 302
    resource = Resource.objects.get()
    assert resource.original_name == "passwd.pdf"
    [path] = stored_files(media)
    assert path.is_relative_to(media) and "passwd" not in str(path)


def test_an_upload_over_the_limit_is_refused_and_nothing_stored(teacher_client, media, settings):
    settings.MATMIS_RESOURCE_MAX_BYTES = 100
    response = upload(teacher_client, "big.pdf", PDF_BYTES + b"x" * 200, "application/pdf")
    assert response.status_code == 400
    assert "files can be at most 100 bytes" in response.content.decode()
    assert Resource.objects.count() == 0
    assert stored_files(media) == []


def test_the_api_refuses_the_same_way(schools, media):
    client = client_for(schools["a"], staff(schools["a"]))
    response = client.post(
        "/api/v1/resources/",
        {"title": "x", "file": SimpleUploadedFile("report.pdf", b"<html><body>hi</body></html>")},
    )
    assert response.status_code == 400
    assert "does not contain what its name says" in str(response.json()["error"]["fields"])
    assert Resource.objects.count() == 0
    assert stored_files(media) == []


def test_a_good_file_is_stored_under_a_generated_name_with_its_sniffed_type(teacher_client, media):
    response = upload(teacher_client, "Lesson one.mp4", MP4_BYTES, "application/x-whatever")
    assert response.status_code == 302
    resource = Resource.objects.get()
    assert resource.content_type == "video/mp4"
    assert resource.original_name == "Lesson one.mp4"
    assert resource.size == len(MP4_BYTES)
    assert "Lesson" not in resource.stored_name
    [path] = stored_files(media)
    assert path.read_bytes() == MP4_BYTES


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("plan.pdf", PDF_BYTES, "application/pdf"),
        ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "image/png"),
        ("notes.txt", b"Reflection: questioning went well.", "text/plain"),
        ("clip.webm", b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm" + b"\x00" * 20, "video/webm"),
    ],
)
def test_accepted_kinds_are_recognised_from_their_bytes(name, content, content_type):
    checked = check_upload(SimpleUploadedFile(name, content))
    assert checked.file_type.content_type == content_type
