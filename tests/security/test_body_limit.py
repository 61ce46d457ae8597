"""A declared body over the limit is refused before anything reads it (the test client's
payload raises if a reader asks for more than the bytes really sent)."""

import pytest
from django.conf import settings
from django.test import RequestFactory

from matmis.body_limit import _view_limit
from tests.conftest import SiteClient

pytestmark = pytest.mark.django_db

TOO_LARGE = str(settings.MAX_REQUEST_BODY_BYTES + 1)


def test_a_page_refuses_a_huge_body_unread(trust):
    response = SiteClient(trust).post(
        "/accounts/sign-in/", data=b"x", content_type="text/plain", CONTENT_LENGTH=TOO_LARGE
    )
    assert response.status_code == 413
    assert "That was too large" in response.content.decode()


def test_the_api_refuses_a_huge_body_in_its_error_shape(trust, trust_staff):
    client = SiteClient(trust)
    client.force_login(trust_staff)
    response = client.post(
        "/api/v1/clusters/", data=b"{}", content_type="application/json", CONTENT_LENGTH=TOO_LARGE
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_an_unknown_path_is_refused_too(trust):
    response = SiteClient(trust).post(
        "/no-such-page/", data=b"x", content_type="text/plain", CONTENT_LENGTH=TOO_LARGE
    )
    assert response.status_code == 413


def test_the_register_upload_checks_its_own_size():
    request = RequestFactory().post("/imports/")
    request.urlconf = settings.PLATFORM_URLCONF
    assert _view_limit(request) is None  # and test_oversized.py proves it refuses early
    other = RequestFactory().post("/sign-in/")
    other.urlconf = settings.PLATFORM_URLCONF
    assert _view_limit(other) == settings.MAX_REQUEST_BODY_BYTES


def test_normal_posts_are_untouched(trust):
    response = SiteClient(trust).post(
        "/accounts/sign-in/", {"username": "a@b.test", "password": "x"}
    )
    assert response.status_code == 200
