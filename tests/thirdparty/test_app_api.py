"""The app API walked as an app would: tokens, scopes field by field, other schools' ids,
revoke and decline, the access log."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.audit import system_actor
from mis.models import Pupil
from tests.factories import InstitutionFactory, StaffProfileFactory
from tests.mis.factories import PupilFactory, in_site, mark, suspend
from thirdparty.models import AppCall, AppStatus, RequestOrigin
from thirdparty.scopes import SCOPES
from thirdparty.services import (
    access_request_open,
    app_status_set,
    authorisation_revoke,
    request_decline,
)

from .factories import app_client, authorise, make_app, token_for

pytestmark = pytest.mark.django_db

BASE = "/api/apps/v1"
ENDPOINTS = ("", "details/", "students/", "attendance/", "exclusions/", "staff/")
STUDENT_FIELDS = set(SCOPES["students"].field_names)
CHARACTERISTIC_FIELDS = set(SCOPES["student_characteristics"].field_names)


@pytest.fixture
def school():
    return InstitutionFactory(
        name="Oak Ridge Primary School", urn="100001", slug="oak-ridge", status="Open"
    )


@pytest.fixture
def other_school():
    return InstitutionFactory(
        name="Elm Street School", urn="100002", slug="elm-street", status="Open"
    )


@pytest.fixture
def pupil(school):
    return PupilFactory(site=school, legal_first_name="Ada", fsm_eligible=True)


def _url(school, path=""):
    return f"{BASE}/schools/{school.urn}/{path}"


def test_no_token_is_401_on_every_endpoint(school):
    client = app_client(None)
    for path in ENDPOINTS:
        response = client.get(_url(school, path))
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "not_authenticated"
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert client.get(f"{BASE}/schools/").status_code == 401
    assert client.post(_url(school, "access-request/")).status_code == 401


def test_an_expired_token_is_401(school, pupil):
    app, _ = make_app()
    authorise(app, school)
    client = app_client(token_for(app, expires_in=-1))
    for path in ENDPOINTS:
        assert client.get(_url(school, path)).status_code == 401, path


def test_a_suspended_app_is_refused_at_once_and_gets_no_token(school, pupil):
    app, credentials = make_app()
    authorise(app, school)
    token = token_for(app)
    assert app_client(token).get(_url(school, "students/")).status_code == 200
    app_status_set(app=app, status=AppStatus.SUSPENDED, actor=system_actor())
    assert app_client(token).get(_url(school, "students/")).status_code == 401
    response = app_client(None).post(
        f"{BASE}/oauth/token/",
        {
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
        },
    )
    assert response.status_code == 401


def test_client_credentials_get_a_short_lived_token_that_reads(school, pupil):
    app, credentials = make_app()
    authorise(app, school)
    response = app_client(None).post(
        f"{BASE}/oauth/token/",
        {
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] <= 600
    students = app_client(body["access_token"]).get(_url(school, "students/"))
    assert students.status_code == 200
    assert [row["legal_first_name"] for row in students.json()["results"]] == ["Ada"]
    # The secret is stored hashed: the database never holds it.
    app.oauth_client.refresh_from_db()
    assert credentials.client_secret not in app.oauth_client.client_secret
    wrong = app_client(None).post(
        f"{BASE}/oauth/token/",
        {
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": "not-the-secret",
        },
    )
    assert wrong.status_code == 401


def test_without_authorisation_only_public_school_data(school, pupil):
    app, _ = make_app(required=("students",), optional=("attendance",))
    client = app_client(token_for(app))
    response = client.get(_url(school))
    assert response.status_code == 200
    body = response.json()
    assert body["urn"] == "100001"
    assert body["name"] == "Oak Ridge Primary School"
    assert body["granted_scopes"] == ["public_school_data"]
    for path in ENDPOINTS[1:]:
        refused = client.get(_url(school, path))
        assert refused.status_code == 403, path
        assert refused.json()["error"]["code"] == "scope_not_authorised"
    assert client.get(f"{BASE}/schools/").json()["count"] == 0


@pytest.mark.parametrize(
    ("scope", "path", "fields"),
    [
        ("students", "students/", STUDENT_FIELDS | {"id"}),
        ("student_characteristics", "students/", CHARACTERISTIC_FIELDS | {"id"}),
        ("attendance", "attendance/", set(SCOPES["attendance"].field_names)),
        ("behaviour", "exclusions/", set(SCOPES["behaviour"].field_names) | {"id"}),
        ("staff", "staff/", set(SCOPES["staff"].field_names) | {"id"}),
    ],
)
def test_each_scope_alone_answers_exactly_its_fields(school, pupil, scope, path, fields):
    today = datetime.date.today()
    mark(pupil, today, "AM", "/")
    suspend(pupil, today)
    StaffProfileFactory(site=school)
    app, _ = make_app(required=(scope,))
    authorise(app, school)
    client = app_client(token_for(app))
    response = client.get(_url(school, path))
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert rows
    for row in rows:
        assert set(row) == fields
    # Every other scope's endpoint is refused, never an empty 200.
    others = {
        "details/": "school_details",
        "students/": "students",
        "attendance/": "attendance",
        "exclusions/": "behaviour",
        "staff/": "staff",
    }
    for other_path, other_scope in others.items():
        if other_path == path:
            continue
        refused = client.get(_url(school, other_path))
        assert refused.status_code == 403, other_path
        assert refused.json()["error"]["code"] == "scope_not_authorised"
        assert other_scope != scope


def test_school_details_alone(school):
    app, _ = make_app(required=("school_details",))
    authorise(app, school)
    body = app_client(token_for(app)).get(_url(school, "details/")).json()
    assert set(body) == {"capacity", "headteacher", "terms"}
    assert len(body["terms"]) == 3


def test_required_plus_a_ticked_optional_scope_answers_both_fields(school, pupil):
    app, _ = make_app(required=("students",), optional=("student_characteristics",))
    authorise(app, school, optional=["student_characteristics"])
    row = app_client(token_for(app)).get(_url(school, "students/")).json()["results"][0]
    assert set(row) == STUDENT_FIELDS | CHARACTERISTIC_FIELDS | {"id"}
    assert row["fsm_eligible"] is True


def test_another_schools_ids_are_404(school, other_school, pupil):
    theirs = PupilFactory(site=other_school)
    app, _ = make_app()
    authorise(app, school)
    client = app_client(token_for(app))
    assert client.get(_url(school, f"students/{pupil.pk}/")).status_code == 200
    missing = client.get(_url(school, f"students/{theirs.pk}/"))
    assert missing.status_code == 404
    assert client.get(_url(school, "students/999999999/")).status_code == 404
    assert missing.json() == client.get(_url(school, "students/999999999/")).json()
    # And the other school, never authorised: its data is refused.
    assert client.get(_url(other_school, "students/")).status_code == 403
    assert client.get(f"{BASE}/schools/999999/").status_code == 404


def test_after_revoke_403_and_the_history_is_kept(school, pupil):
    app, _ = make_app()
    authorisation = authorise(app, school)
    client = app_client(token_for(app))
    assert client.get(_url(school, "students/")).status_code == 200
    authorisation_revoke(authorisation=authorisation, actor=system_actor(site=school))
    response = client.get(_url(school, "students/"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "scope_not_authorised"
    authorisation.refresh_from_db()
    assert authorisation.status == "revoked"
    assert client.get(f"{BASE}/schools/").json()["count"] == 0


def test_after_decline_then_a_new_request(school, pupil):
    app, _ = make_app()
    client = app_client(token_for(app))
    asked = client.post(_url(school, "access-request/"))
    assert asked.status_code == 201
    again = client.post(_url(school, "access-request/"))
    assert again.status_code == 200  # one pending request per (app, school)
    outcome = access_request_open(app=app, school=school, origin=RequestOrigin.APP)
    request_decline(request=outcome.request, actor=system_actor(site=school))
    assert client.get(_url(school, "students/")).status_code == 403
    assert client.post(_url(school, "access-request/")).status_code == 201
    authorise(app, school)
    assert client.get(_url(school, "students/")).status_code == 200


def test_every_call_is_logged_once_for_the_school(school, pupil):
    app, _ = make_app()
    authorise(app, school)
    client = app_client(token_for(app))
    client.get(_url(school, "students/"))
    client.get(_url(school, "attendance/"))
    with in_site(school):
        calls = list(AppCall.objects.order_by("pk").values("endpoint", "records", "status_code"))
    assert calls == [
        {"endpoint": "students", "records": 1, "status_code": 200},
        {"endpoint": "attendance", "records": 0, "status_code": 403},
    ]


def test_updated_since_and_the_deletions_list(school):
    app, _ = make_app()
    authorise(app, school)
    client = app_client(token_for(app))
    first = PupilFactory(site=school)
    second = PupilFactory(site=school)
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        cut = cursor.fetchone()[0]
    removed_id = first.pk
    with in_site(school):
        Pupil.objects.filter(pk=second.pk).update(legal_first_name="Changed")
        first.delete()
    since = cut.isoformat()
    changed = client.get(_url(school, "students/"), {"updated_since": since}).json()
    assert [row["id"] for row in changed["results"]] == [second.pk]
    deletions = client.get(_url(school, "deletions/"), {"since": since}).json()["results"]
    assert [(row["entity"], row["record_id"]) for row in deletions] == [("student", removed_id)]
    bad = client.get(_url(school, "students/"), {"updated_since": "yesterday"})
    assert bad.status_code == 400
    assert "updated_since" in bad.json()["error"]["fields"]


def test_the_students_list_keeps_its_queries_as_pupils_grow(school):
    app, _ = make_app(required=("students", "student_characteristics"))
    authorise(app, school, optional=())
    client = app_client(token_for(app))
    PupilFactory.create_batch(3, site=school)
    with CaptureQueriesContext(connection) as few:
        assert client.get(_url(school, "students/")).status_code == 200
    PupilFactory.create_batch(30, site=school)
    with CaptureQueriesContext(connection) as many:
        body = client.get(_url(school, "students/")).json()
    assert body["count"] == 33
    assert len(many) == len(few)


def test_the_app_api_is_only_on_the_platform_host(school, site_client):
    app, _ = make_app()
    authorise(app, school)
    token = token_for(app)
    client = site_client(school)
    response = client.get(_url(school, "students/"), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 404


def test_its_own_openapi_schema_and_docs(school):
    client = app_client(None)
    schema = client.get(f"{BASE}/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/apps/v1/schools/{urn}/students/" in text
    assert "scope_not_authorised" in text
    assert client.get(f"{BASE}/docs/").status_code == 200
