"""The register upload keeps its file through Django's storage API (``default_storage``),
never a local path: web stores it and the worker reads it back from whatever storage is
configured (a bucket in compose, shared by both containers)."""

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from institutions.models import Institution, RegisterImport
from institutions.register_import import register_import_run, register_import_upload
from tests.factories import UserFactory
from tests.institutions.test_gias_reader import good_row, make_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_memory_storage(settings, tmp_path):
    """Uploads in memory only: nothing may land under MEDIA_ROOT (an empty folder)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    return settings.MEDIA_ROOT


def test_an_upload_is_stored_and_imported_through_the_configured_storage(
    in_memory_storage, django_capture_on_commit_callbacks
):
    data = make_csv([good_row(URN="100001"), good_row(URN="100002")])
    upload = SimpleUploadedFile("edubasealldata.csv", data, content_type="text/csv")

    with django_capture_on_commit_callbacks(execute=True):
        record = register_import_upload(upload=upload, uploaded_by=UserFactory(is_staff=True))

    record.refresh_from_db()
    assert record.status == RegisterImport.State.DONE, record.error
    assert record.schools_created == 2
    assert Institution.objects.filter(urn__in=["100001", "100002"]).count() == 2
    # The file is in the storage (as the worker found it), not on the local disk.
    assert record.file.name.startswith("register-imports/")
    assert default_storage.exists(record.file.name)
    with default_storage.open(record.file.name, "rb") as stored:
        assert stored.read() == data
    assert not in_memory_storage.exists()


def test_a_run_reads_the_file_only_through_the_storage(in_memory_storage):
    # A file the storage holds and no disk does: the run finds it by name alone.
    data = make_csv([good_row(URN="100003")])
    name = default_storage.save(
        "register-imports/2026/09/export.csv", SimpleUploadedFile("x", data)
    )
    record = RegisterImport.objects.create(
        uploaded_by=UserFactory(is_staff=True),
        file=name,
        original_name="export.csv",
        size=len(data),
    )

    register_import_run(register_import_id=record.pk)

    record.refresh_from_db()
    assert record.status == RegisterImport.State.DONE, record.error
    assert Institution.objects.filter(urn="100003").exists()
    assert not in_memory_storage.exists()
