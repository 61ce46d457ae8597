"""The REST equivalents of School > Data > Apps."""

import pytest

from accounts.permissions import THIRD_PARTY_APPS
from tests.factories import InstitutionFactory, StaffProfileFactory, UserFactory, grant_permission
from thirdparty.models import AppAuthorisation, DataAccessRequest, RequestOrigin, RequestStatus
from thirdparty.services import access_request_open

from .factories import authorise, make_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def school():
    return InstitutionFactory(urn="100001", slug="oak-ridge", status="Open")


@pytest.fixture
def head(school):
    user = UserFactory()
    grant_permission(user, school, THIRD_PARTY_APPS)
    return user


@pytest.fixture
def pending(school):
    app, _ = make_app(required=("students",), optional=("attendance",))
    return access_request_open(app=app, school=school, origin=RequestOrigin.APP).request


def test_the_permission_ladder(site_client, school, head, pending):
    url = f"/api/v1/apps/requests/{pending.pk}/"
    assert site_client(school).get(url).status_code == 403
    assert site_client(school, StaffProfileFactory(site=school).user).get(url).status_code == 403
    trust = InstitutionFactory(kind="trust", slug="a-trust")
    assert site_client(trust, StaffProfileFactory(site=trust).user).get(url).status_code == 404
    body = site_client(school, head).get(url).json()
    assert [s["code"] for s in body["required_scopes"]] == ["students"]
    assert [s["code"] for s in body["optional_scopes"]] == ["attendance"]


def test_authorise_exactly_what_was_asked_or_400(site_client, school, head, pending):
    client = site_client(school, head)
    url = f"/api/v1/apps/requests/{pending.pk}/authorise/"
    bad = client.post(
        url, {"required_scopes": [], "optional_scopes": ["attendance"]}, "application/json"
    )
    assert bad.status_code == 400
    assert "required_scopes" in bad.json()["error"]["fields"]
    extra = client.post(
        url, {"required_scopes": ["students"], "optional_scopes": ["staff"]}, "application/json"
    )
    assert extra.status_code == 400
    assert not AppAuthorisation.objects.exists()
    ok = client.post(
        url,
        {"required_scopes": ["students"], "optional_scopes": ["attendance"]},
        "application/json",
    )
    assert ok.status_code == 200
    assert ok.json()["scopes"] == ["students", "attendance"]
    again = client.post(url, {"required_scopes": ["students"]}, "application/json")
    assert again.status_code == 400  # decided already: nothing changes
    assert AppAuthorisation.objects.count() == 1


def test_change_revoke_decline_connect_and_activity(site_client, school, head, pending):
    client = site_client(school, head)
    app, _ = make_app(required=("students",), optional=("attendance",))
    authorisation = authorise(app, school)
    url = f"/api/v1/apps/authorised/{authorisation.pk}/"
    changed = client.post(url + "change/", {"optional_scopes": ["attendance"]}, "application/json")
    assert changed.json()["scopes"] == ["students", "attendance"]
    assert client.post(url + "revoke/").json()["status"] == "revoked"
    declined = client.post(f"/api/v1/apps/requests/{pending.pk}/decline/")
    assert declined.json()["status"] == RequestStatus.DECLINED
    connected = client.post(f"/api/v1/apps/directory/{pending.app_id}/connect/")
    assert connected.status_code == 201
    assert DataAccessRequest.objects.filter(status=RequestStatus.PENDING).count() == 1
    assert client.get("/api/v1/apps/activity/").json()["count"] == 0


def test_another_schools_ids_are_404(site_client, school, head):
    elsewhere = InstitutionFactory(urn="100009", slug="elsewhere", status="Open")
    app, _ = make_app()
    theirs = authorise(app, elsewhere)
    their_request = DataAccessRequest.objects.get(school=elsewhere)
    client = site_client(school, head)
    assert client.get(f"/api/v1/apps/authorised/{theirs.pk}/").status_code == 404
    assert client.post(f"/api/v1/apps/authorised/{theirs.pk}/revoke/").status_code == 404
    assert client.get(f"/api/v1/apps/requests/{their_request.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active
