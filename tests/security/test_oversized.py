"""Oversized uploads and bodies: a clear refusal, nothing read past what is allowed, nothing
created, never a 500; API refusals in the API's error shape."""

import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from institutions import platform_forms
from institutions.models import Cluster, RegisterImport
from tests.conftest import host_of, sign_in_verified
from tests.factories import TrustFactory, UserFactory
from tests.institutions.factories import group_admin
from tests.institutions.test_gias_reader import good_row, make_csv

pytestmark = pytest.mark.django_db

TOO_LARGE = "The selected file must be smaller than 100 MB"
BOUNDARY = "hostile-boundary"
# A multipart body that is only a start: the declared Content-Length says far more follows.
# The test client's payload fails the test if anything reads past what is really there.
BODY_START = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
    "Content-Type: text/csv\r\n\r\nURN,"
).encode()


@pytest.fixture(autouse=True)
def _media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def staff_client():
    """Platform staff on the bare domain, with CSRF enforced as in production and the
    form's token in hand."""
    client = Client(enforce_csrf_checks=True, HTTP_HOST=settings.BASE_DOMAIN)
    sign_in_verified(client, UserFactory(is_staff=True))
    assert client.get("/imports/").status_code == 200
    return client


def token(client) -> str:
    return client.cookies[settings.CSRF_COOKIE_NAME].value


@pytest.mark.parametrize(
    "declared",
    [platform_forms.MAX_UPLOAD_BYTES + 64 * 1024 + 1, 10**12],
    ids=["just-over", "a-terabyte"],
)
def test_an_upload_declared_too_large_is_refused_before_anything_reads_it(
    staff_client, tmp_path, declared
):
    response = staff_client.generic(
        "POST",
        "/imports/",
        BODY_START,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        CONTENT_LENGTH=str(declared),
        HTTP_X_CSRFTOKEN=token(staff_client),
    )
    assert response.status_code == 400
    assert TOO_LARGE in response.content.decode()
    assert not RegisterImport.objects.exists()
    assert not any(tmp_path.rglob("*.csv"))


def test_an_upload_declared_too_large_is_refused_without_a_csrf_token_too(staff_client):
    response = staff_client.generic(
        "POST",
        "/imports/",
        BODY_START,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        CONTENT_LENGTH=str(10**12),
    )
    assert response.status_code == 400
    assert not RegisterImport.objects.exists()


def test_the_upload_still_needs_its_csrf_token(staff_client, tmp_path):
    upload = SimpleUploadedFile("x.csv", make_csv([good_row()]), content_type="text/csv")
    assert staff_client.post("/imports/", {"file": upload}).status_code == 403
    assert not RegisterImport.objects.exists()
    assert not any(tmp_path.rglob("*.csv"))


def test_a_good_upload_with_its_token_goes_through(
    staff_client, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("x.csv", make_csv([good_row()]), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/imports/", {"file": upload, "csrfmiddlewaretoken": token(staff_client)}
        )
    assert response.status_code == 302
    assert RegisterImport.objects.get().status == RegisterImport.State.DONE


# --- API and form bodies --------------------------------------------------------------------


@pytest.fixture
def admin_client():
    trust = TrustFactory(slug="oak-ridge-trust")
    client = Client(HTTP_HOST=host_of(trust))
    client.force_login(group_admin(trust))
    return client


def assert_api_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert set(body["error"]) == {"code", "message", "fields"}


@pytest.mark.parametrize(
    "path",
    ["/api/v1/clusters/", "/api/v1/agreements/requests/", "/api/v1/agreements/requests/withdraw/"],
)
def test_a_json_body_over_the_limit_is_a_413_in_the_error_shape(admin_client, path):
    body = json.dumps({"name": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    response = admin_client.post(path, body, content_type="application/json")
    assert_api_error(response, 413, "too_large")
    assert not Cluster.objects.exists()


def test_a_json_body_declared_huge_is_refused_without_reading_it(admin_client):
    response = admin_client.generic(
        "POST",
        "/api/v1/clusters/",
        b'{"name": "',
        content_type="application/json",
        CONTENT_LENGTH=str(10**12),
    )
    assert_api_error(response, 413, "too_large")
    assert not Cluster.objects.exists()


def test_malformed_json_is_a_400_in_the_error_shape(admin_client):
    response = admin_client.post("/api/v1/clusters/", b'{"name": ', content_type="application/json")
    assert_api_error(response, 400, "parse_error")


def test_a_form_body_over_the_limit_is_a_400_page_not_a_500(admin_client):
    response = admin_client.post(
        "/institutions/clusters/new/", {"name": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
    )
    assert response.status_code == 400
    assert not Cluster.objects.exists()


def test_a_form_with_too_many_fields_is_a_400_not_a_500(admin_client):
    fields = {f"f{n}": "x" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = admin_client.post("/institutions/clusters/new/", fields)
    assert response.status_code == 400
    api = admin_client.post("/api/v1/clusters/?" + "&".join(f"q{n}=1" for n in range(1001)))
    assert api.status_code < 500
    assert not Cluster.objects.exists()
