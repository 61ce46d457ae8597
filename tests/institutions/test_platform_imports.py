"""The register import pages on the bare base domain, for platform staff."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from institutions import platform_forms
from institutions.models import Institution, RegisterImport
from institutions.platform_forms import RegisterUploadForm
from tests.accounts.test_two_factor import current_code, give_two_factor
from tests.conftest import SiteClient, sign_in_verified
from tests.factories import TEST_PASSWORD, UserFactory
from tests.institutions.test_gias_reader import SAMPLE, good_row, make_csv, sample_header

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def platform_staff():
    return UserFactory(is_staff=True)


def csv_upload(data: bytes, name: str = "edubasealldata20260901.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


def queued_import(user, **fields) -> RegisterImport:
    return RegisterImport.objects.create(
        uploaded_by=user,
        file="register-imports/x.csv",
        original_name="x.csv",
        size=10,
        **fields,
    )


# --- Who may see the pages -------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_platform_sign_in(site_client, platform_staff):
    record = queued_import(platform_staff)
    client = site_client()
    for url in ("/imports/", f"/imports/{record.pk}/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/sign-in/?next={url}"
    assert client.get("/sign-in/").status_code == 200


def test_platform_staff_sign_in_on_the_bare_domain_and_land_on_the_imports(
    site_client, platform_staff
):
    device, _ = give_two_factor(platform_staff)  # the platform requires it of its staff
    client = site_client()
    response = client.post(
        "/sign-in/?next=/imports/", {"username": platform_staff.email, "password": TEST_PASSWORD}
    )
    assert response["Location"] == "/sign-in/code/"
    response = client.post("/sign-in/code/", {"code": current_code(device)})
    assert response.status_code == 302
    assert response["Location"] == "/imports/"
    page = client.get("/imports/")
    assert page.status_code == 200
    assert b'action="/sign-out/"' in page.content
    assert client.post("/sign-out/").status_code == 302
    assert client.get("/imports/").status_code == 302


def test_staff_of_a_trust_cannot_sign_in_on_the_bare_domain(site_client, trust_staff):
    client = site_client()
    response = client.post("/sign-in/", {"username": trust_staff.email, "password": TEST_PASSWORD})
    assert response.status_code == 200
    assert "not right for this site" in response.content.decode()
    assert client.get("/imports/").status_code == 302


def test_signed_in_users_who_are_not_platform_staff_get_not_found(
    site_client, trust_staff, platform_staff
):
    record = queued_import(platform_staff)
    client = site_client(user=trust_staff)
    assert client.get("/imports/").status_code == 404
    assert client.get(f"/imports/{record.pk}/").status_code == 404
    assert client.post("/imports/", {"file": csv_upload(make_csv([good_row()]))}).status_code == 404
    assert not RegisterImport.objects.exclude(pk=record.pk).exists()


def test_platform_staff_without_two_factor_are_sent_to_set_it_up(site_client, platform_staff):
    """Before: the password alone opened the imports (and the support admin)."""
    record = queued_import(platform_staff)
    client = site_client(user=platform_staff)  # password only
    for url in ("/imports/", f"/imports/{record.pk}/"):
        assert client.get(url)["Location"] == "/two-factor/"
    upload = client.post("/imports/", {"file": csv_upload(make_csv([good_row()]))})
    assert upload["Location"] == "/two-factor/"
    assert not RegisterImport.objects.exclude(pk=record.pk).exists()


def test_platform_staff_see_the_pages(platform_staff):
    record = queued_import(platform_staff)
    client = sign_in_verified(SiteClient(), platform_staff)
    assert client.get("/imports/").status_code == 200
    assert client.get(f"/imports/{record.pk}/").status_code == 200
    assert client.get("/imports/999999/").status_code == 404


def test_the_pages_are_not_on_site_hosts(site_client, trust, platform_staff):
    assert site_client(trust, platform_staff).get("/imports/").status_code == 404


# --- Uploading -------------------------------------------------------------------------------


def upload(client, file) -> str:
    response = client.post("/imports/", {"file": file})
    assert response.status_code == 400
    return response.content.decode()


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (None, "Select the establishment export CSV file"),
        (csv_upload(b""), "The selected file is empty"),
        (csv_upload(b"PK\x03\x04 not text", name="register.xlsx"), "must be a CSV"),
        (csv_upload(b"PK\x03\x04\x00\x00 zipped", name="register.csv"), "must be a CSV file"),
        (csv_upload(b"name,age\r\nAlice,30\r\n"), "does not look like the register"),
        (
            csv_upload(make_csv([good_row()], header=[c for c in sample_header() if c != "URN"])),
            "The file is missing these columns: URN",
        ),
    ],
    ids=["no-file", "empty", "not-csv-name", "not-csv-content", "other-csv", "missing-columns"],
)
def test_a_bad_upload_says_what_is_wrong_and_creates_nothing(
    site_client, platform_staff, file, message
):
    client = sign_in_verified(SiteClient(), platform_staff)
    page = upload(client, file or "")
    assert message in page
    assert "There is a problem" in page
    assert not RegisterImport.objects.exists()
    assert not Institution.objects.exists()


def test_a_file_too_large_is_refused(site_client, platform_staff, monkeypatch):
    monkeypatch.setattr(platform_forms, "MAX_UPLOAD_BYTES", 1000)
    monkeypatch.setattr(platform_forms, "MAX_UPLOAD_LABEL", "1 KB")
    client = sign_in_verified(SiteClient(), platform_staff)
    page = upload(client, csv_upload(SAMPLE.read_bytes()))
    assert "The selected file must be smaller than 1 KB" in page
    assert not RegisterImport.objects.exists()


def test_a_body_larger_than_allowed_is_refused_before_it_is_read(
    site_client, platform_staff, monkeypatch
):
    from institutions import platform_views

    monkeypatch.setattr(platform_forms, "MAX_UPLOAD_BYTES", 1000)
    monkeypatch.setattr(platform_views, "_ENVELOPE_BYTES", 0)
    monkeypatch.setattr(
        RegisterUploadForm, "clean_file", lambda form: pytest.fail("the body was read")
    )
    client = sign_in_verified(SiteClient(), platform_staff)
    page = upload(client, csv_upload(SAMPLE.read_bytes()))
    assert "The selected file must be smaller than 100 MB" in page
    assert not RegisterImport.objects.exists()


def test_a_good_upload_is_imported_and_its_page_shows_the_outcome(
    site_client, platform_staff, django_capture_on_commit_callbacks
):
    rows = [good_row(URN="100001"), good_row(URN="100002", NumberOfPupils="many")]
    client = sign_in_verified(SiteClient(), platform_staff)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/imports/", {"file": csv_upload(make_csv(rows))})

    assert len(callbacks) == 1
    record = RegisterImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/imports/{record.pk}/"
    assert record.uploaded_by == platform_staff
    assert record.original_name == "edubasealldata20260901.csv"
    assert record.status == RegisterImport.State.DONE
    assert (record.schools_created, record.rows_rejected) == (1, 1)
    assert Institution.objects.filter(urn="100001").exists()

    page = client.get(response["Location"]).content.decode()
    assert "Schools created" in page
    assert "Rejected rows" in page
    assert "NumberOfPupils “many” is not a whole number" in page
    assert "hx-trigger" not in page  # finished: nothing to poll
    listing = client.get("/imports/").content.decode()
    assert "edubasealldata20260901.csv" in listing


def test_the_sample_file_uploads_and_imports(
    site_client, platform_staff, django_capture_on_commit_callbacks
):
    client = sign_in_verified(SiteClient(), platform_staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/imports/", {"file": csv_upload(SAMPLE.read_bytes())})
    record = RegisterImport.objects.get()
    assert (record.status, record.schools_created, record.rows_read) == ("done", 600, 600)
    assert record.encoding == "cp1252"


# --- Progress page ---------------------------------------------------------------------------


def test_a_running_import_polls_with_htmx_and_offers_a_refresh_link(site_client, platform_staff):
    record = queued_import(platform_staff, status=RegisterImport.State.RUNNING, rows_read=12000)
    client = sign_in_verified(SiteClient(), platform_staff)
    url = f"/imports/{record.pk}/"

    page = client.get(url).content.decode()
    assert f'hx-get="{url}"' in page
    assert 'hx-trigger="every 2s"' in page
    assert "Read 12,000 rows so far" in page
    assert f'href="{url}">Refresh' in page
    assert "<script>" not in page
    assert 'http-equiv="refresh"' not in page

    fragment = client.get(url, headers={"HX-Request": "true"})
    assert fragment.content.decode().lstrip().startswith('<div id="import-status"')
    assert "<html" not in fragment.content.decode()
    assert "HX-Request" in fragment["Vary"]


def test_a_failed_import_shows_why(site_client, platform_staff):
    record = queued_import(
        platform_staff, status=RegisterImport.State.FAILED, error="The file is empty."
    )
    page = sign_in_verified(SiteClient(), platform_staff).get(f"/imports/{record.pk}/")
    page = page.content.decode()
    assert "The file was not imported" in page
    assert "The file is empty." in page


def test_the_list_page_runs_the_same_queries_for_few_or_many_imports(site_client, platform_staff):
    client = sign_in_verified(SiteClient(), platform_staff)
    queued_import(platform_staff)
    client.get("/imports/")
    with CaptureQueriesContext(connection) as few:
        client.get("/imports/")
    for _ in range(20):
        queued_import(UserFactory(is_staff=True), status=RegisterImport.State.DONE)
    with CaptureQueriesContext(connection) as many:
        client.get("/imports/")
    assert len(many) == len(few)


# --- Lost imports ---------------------------------------------------------------------------


def test_an_import_lost_with_its_task_is_queued_again_by_the_sweep(
    platform_staff, settings, django_capture_on_commit_callbacks
):
    import datetime

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from institutions.register_import import register_imports_due_ids
    from institutions.tasks import register_imports_retry_due

    now = timezone.now()
    lost = RegisterImport.objects.create(
        uploaded_by=platform_staff,
        file=ContentFile(make_csv([good_row(URN="100003")]), name="lost.csv"),
        original_name="lost.csv",
        size=10,
    )
    fresh = queued_import(platform_staff)
    died = queued_import(platform_staff, status=RegisterImport.State.RUNNING)
    running = queued_import(platform_staff, status=RegisterImport.State.RUNNING)
    done = queued_import(platform_staff, status=RegisterImport.State.DONE)
    RegisterImport.objects.filter(pk__in=[lost.pk, done.pk]).update(
        created_at=now - datetime.timedelta(minutes=11)
    )
    RegisterImport.objects.filter(pk=died.pk).update(started_at=now - datetime.timedelta(hours=2))
    RegisterImport.objects.filter(pk=running.pk).update(started_at=now)
    assert register_imports_due_ids() == [lost.pk, died.pk]
    assert "institutions.register_imports_retry_due" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    RegisterImport.objects.filter(pk=died.pk).update(status=RegisterImport.State.DONE)
    # Beat runs outside a transaction: the task is published at once (eager: it runs now).
    with django_capture_on_commit_callbacks(execute=True):
        assert register_imports_retry_due.apply().get() == 1
    lost.refresh_from_db()
    assert lost.status == RegisterImport.State.DONE
    assert Institution.objects.filter(urn="100003").exists()
    assert register_imports_due_ids() == []
    fresh.refresh_from_db()
    assert fresh.status == RegisterImport.State.QUEUED  # not stale yet: left alone
