"""Input that used to end in a server error (issue 12, item 6): a NUL in a query string or
form field, JSON nested thousands deep or holding a NUL, and Unicode "digits" that pass
``str.isdigit()`` but are no number. Each is a 400 in the project's error shape (the API's
JSON shape; a page with the message) and changes nothing.

``test_hostile_input_fuzz`` feeds such values to every route's parameters."""

import json

import pytest

from accounts.models import AuditEvent
from institutions.models import Cluster
from matmis.api_parsers import MAX_JSON_DEPTH
from matmis.client_input import whole_number
from sharing.models import AgreementRequest, RequestReminder, RequestStatus
from tests.factories import TrustFactory
from tests.institutions.factories import add_school
from tests.sharing.factories import group_admin_profile, head_teacher, make_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def group():
    return TrustFactory(name="Oak Ridge Trust", slug="oak-ridge-trust")


@pytest.fixture
def admin(group):
    return group_admin_profile(group)


@pytest.fixture
def client(site_client, group, admin):
    return site_client(group, admin.user)


def api_error(response, status=400) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def nested(depth: int) -> str:
    return '{"name": ' + "[" * depth + "]" * depth + "}"


class TestNul:
    def test_in_an_api_query(self, client):
        error = api_error(client.get("/api/v1/staff/", {"q": "a\x00b"}))
        assert error["code"] == "invalid"
        assert "NUL" in error["message"]
        assert list(error["fields"]) == ["q"]

    def test_in_a_page_query(self, client):
        response = client.get("/staff/", {"q": "\x00"})
        assert response.status_code == 400
        assert "NUL character" in response.content.decode()

    def test_in_a_field_name(self, client):
        error = api_error(client.get("/api/v1/staff/?q%00=1"))
        assert list(error["fields"]) == ["q\\0"]

    def test_in_a_form_field_changes_nothing(self, client, group):
        response = client.post("/institutions/clusters/new/", {"name": "North\x00"})
        assert response.status_code == 400
        assert not Cluster.objects.filter(group=group).exists()

    def test_in_a_json_string(self, client, group):
        response = client.post(
            "/api/v1/clusters/", '{"name": "North\\u0000"}', content_type="application/json"
        )
        assert api_error(response)["code"] == "parse_error"
        assert not Cluster.objects.filter(group=group).exists()

    def test_in_a_json_key(self, client):
        response = client.post(
            "/api/v1/clusters/", '{"na\\u0000me": "North"}', content_type="application/json"
        )
        assert "NUL" in api_error(response)["message"]


class TestDeepJson:
    def test_ten_thousand_deep_is_a_400(self, client, group):
        response = client.post("/api/v1/clusters/", nested(10_000), content_type="application/json")
        error = api_error(response)
        assert error["code"] == "parse_error"
        assert "levels deep" in error["message"]
        assert not Cluster.objects.filter(group=group).exists()

    def test_just_past_the_limit_is_a_400(self, client):
        response = client.post(
            "/api/v1/clusters/", nested(MAX_JSON_DEPTH), content_type="application/json"
        )
        assert "levels deep" in api_error(response)["message"]

    def test_within_the_limit_reaches_the_serializer(self, client):
        response = client.post(
            "/api/v1/clusters/", nested(MAX_JSON_DEPTH - 2), content_type="application/json"
        )
        error = api_error(response)
        assert error["code"] == "invalid"
        assert "name" in error["fields"]

    def test_on_an_endpoint_with_a_list_body(self, client):
        body = json.dumps({"requests": [[[[1]]]]})
        response = client.post(
            "/api/v1/agreements/requests/remind/", body, content_type="application/json"
        )
        assert api_error(response)["code"] == "invalid"


@pytest.mark.parametrize("action", ["remind", "withdraw"])
class TestUnicodeDigits:
    @pytest.fixture
    def pending(self, group):
        school = add_school(group, name="Acorn Primary")
        head_teacher(school)
        return make_request(group, school)

    @pytest.mark.parametrize("value", ["²", "١٢", "¹²³", "1²"])
    def test_a_request_id_that_is_no_number_is_a_400(self, client, pending, action, value):
        events = AuditEvent.objects.count()
        response = client.post(f"/data-sharing/{action}/", {"request": value, "tab": "pending"})
        assert response.status_code == 400
        assert "requests were not recognised" in response.content.decode()
        assert "Nothing was done" in response.content.decode()
        assert AuditEvent.objects.count() == events

    def test_a_good_id_beside_a_bad_one_is_not_acted_on(self, client, pending, action):
        response = client.post(
            f"/data-sharing/{action}/", {"request": [str(pending.pk), "²"], "tab": "pending"}
        )
        assert response.status_code == 400
        pending.refresh_from_db()
        assert pending.status == RequestStatus.PENDING
        assert not RequestReminder.objects.exists()

    def test_the_confirmation_page_refuses_it_too(self, client, pending, action):
        response = client.get(f"/data-sharing/{action}/", {"request": "²", "tab": "pending"})
        assert response.status_code == 400

    def test_a_good_id_still_works(self, client, pending, action):
        response = client.post(
            f"/data-sharing/{action}/", {"request": str(pending.pk), "tab": "pending"}
        )
        assert response.status_code == 302
        assert AgreementRequest.objects.get(pk=pending.pk)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("0", 0),
        ("42", 42),
        ("007", 7),
        (42, 42),
        ("²", None),
        ("١٢", None),
        ("4²", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1.0", None),
        ("", None),
        (None, None),
        (True, None),
        (str(2**63), None),
        (2**63 - 1, 2**63 - 1),
    ],
)
def test_whole_number(text, number):
    assert whole_number(text) == number


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/password-reset/%00/set-password/",
        "/accounts/password-reset/MQ/a%00b/",
        "/api/v1/hop/%00/",
    ],
)
def test_a_nul_in_the_path_is_no_server_error(site_client, group, path):
    """Path parameters are matched by their converters; the one free text among them (the
    reset link's token) is checked by signature, never looked up."""
    assert site_client(group).get(path).status_code < 500
