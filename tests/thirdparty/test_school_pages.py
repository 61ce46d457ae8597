"""School > Data > Apps: deciding a Data Access Request, changing and revoking a grant,
the receipts, and the activity log."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.audit import system_actor
from accounts.permissions import THIRD_PARTY_APPS
from notifications.models import EmailDelivery
from tests.factories import InstitutionFactory, StaffProfileFactory, UserFactory, grant_permission
from tests.mis.factories import PupilFactory
from thirdparty.models import (
    AppAuthorisation,
    AppDecision,
    DataAccessRequest,
    RequestOrigin,
    RequestStatus,
)
from thirdparty.services import access_request_open, app_scopes_change

from .factories import app_client, authorise, make_app, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def school():
    return InstitutionFactory(
        name="Oak Ridge Primary School", urn="100001", slug="oak-ridge", status="Open"
    )


@pytest.fixture
def head(school):
    user = UserFactory(email="head@oak-ridge.test", full_name="Hattie Head")
    grant_permission(user, school, THIRD_PARTY_APPS)
    return user


@pytest.fixture
def app():
    app, _ = make_app(required=("students",), optional=("student_characteristics", "attendance"))
    return app


@pytest.fixture
def pending(app, school):
    return access_request_open(app=app, school=school, origin=RequestOrigin.APP).request


def _post_authorise(client, request_id, *, required=("students",), optional=(), confirmed=True):
    data = {"required_scopes": list(required), "optional_scopes": list(optional)}
    if confirmed:
        data["confirmed"] = "yes"
    return client.post(f"/data/apps/requests/{request_id}/authorise/", data)


def test_the_permission_ladder(site_client, school, head, pending):
    trust = InstitutionFactory(kind="trust", slug="some-trust")
    assert site_client(school).get("/data/apps/").status_code == 302  # sign in
    colleague = StaffProfileFactory(site=school).user
    assert site_client(school, colleague).get("/data/apps/").status_code == 403
    outsider = StaffProfileFactory(site=trust).user
    assert site_client(school, outsider).get("/data/apps/").status_code == 404
    assert site_client(trust, outsider).get("/data/apps/").status_code == 404
    page = site_client(school, head).get("/data/apps/")
    assert page.status_code == 200
    assert pending.app.name in page.content.decode()


def test_the_request_page_locks_required_scopes_and_leaves_optional_ones_unticked(
    site_client, school, head, pending
):
    page = site_client(school, head).get(f"/data/apps/requests/{pending.pk}/").content.decode()
    assert 'id="scope-students" type="checkbox" checked disabled' in page
    assert 'name="optional_scopes" type="checkbox" value="student_characteristics"' in page
    assert 'value="student_characteristics" checked' not in page
    assert "Free school meals" in page or "free school meals" in page


def test_authorising_takes_a_confirmation_step_and_a_get_changes_nothing(
    site_client, school, head, pending
):
    client = site_client(school, head)
    assert client.get(f"/data/apps/requests/{pending.pk}/authorise/").status_code == 302
    step = _post_authorise(client, pending.pk, optional=["attendance"], confirmed=False)
    assert step.status_code == 200
    assert "Authorise " in step.content.decode()
    assert not AppAuthorisation.objects.exists()
    done = _post_authorise(client, pending.pk, optional=["attendance"])
    assert done.status_code == 302
    authorisation = AppAuthorisation.objects.get()
    assert authorisation.scopes == ["students", "attendance"]
    pending.refresh_from_db()
    assert pending.status == RequestStatus.AUTHORISED
    # The app's next call answers exactly those.
    token = token_for(pending.app)
    PupilFactory(site=school)
    api = app_client(token)
    assert api.get("/api/apps/v1/schools/100001/attendance/").status_code == 200
    row = api.get("/api/apps/v1/schools/100001/students/").json()["results"][0]
    assert "fsm_eligible" not in row


@pytest.mark.parametrize(
    ("required", "optional"),
    [((), ()), (("students",), ("staff",)), (("students", "behaviour"), ())],
    ids=["drops the required scope", "adds an unrequested optional", "adds a required"],
)
def test_a_grant_other_than_asked_is_a_400_and_stores_nothing(
    site_client, school, head, pending, required, optional
):
    response = _post_authorise(
        site_client(school, head), pending.pk, required=required, optional=optional
    )
    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()
    assert not AppAuthorisation.objects.exists()
    pending.refresh_from_db()
    assert pending.status == RequestStatus.PENDING


def test_a_second_approval_finds_it_decided_one_authorisation(site_client, school, head, pending):
    client = site_client(school, head)
    _post_authorise(client, pending.pk)
    again = _post_authorise(client, pending.pk, optional=["attendance"])
    assert again.status_code == 302
    assert AppAuthorisation.objects.count() == 1
    assert AppAuthorisation.objects.get().scopes == ["students"]


def test_receipts_go_to_every_holder_and_the_vendor(site_client, school, head, pending):
    other = UserFactory(email="dm@oak-ridge.test")
    grant_permission(other, school, THIRD_PARTY_APPS)
    _post_authorise(site_client(school, head), pending.pk)
    addresses = set(EmailDelivery.objects.values_list("address", flat=True))
    assert addresses == {"head@oak-ridge.test", "dm@oak-ridge.test", "support@app.example.test"}
    decision = AppDecision.objects.get()
    assert decision.actor == head
    assert decision.action == "authorised"


def test_decline_then_the_app_asks_again(site_client, school, head, pending):
    client = site_client(school, head)
    assert client.get(f"/data/apps/requests/{pending.pk}/decline/").status_code == 200
    pending.refresh_from_db()
    assert pending.status == RequestStatus.PENDING  # the GET was only the confirmation step
    assert client.post(f"/data/apps/requests/{pending.pk}/decline/").status_code == 302
    pending.refresh_from_db()
    assert pending.status == RequestStatus.DECLINED
    again = access_request_open(app=pending.app, school=school, origin=RequestOrigin.APP)
    assert again.created
    assert DataAccessRequest.objects.filter(status=RequestStatus.PENDING).count() == 1


def test_change_optional_scopes_in_place_and_revoke(site_client, school, head, app):
    authorisation = authorise(app, school)
    client = site_client(school, head)
    url = f"/data/apps/authorised/{authorisation.pk}/"
    assert client.get(url).status_code == 200
    client.post(url + "change/", {"optional_scopes": ["student_characteristics"]})
    authorisation.refresh_from_db()
    assert authorisation.scopes == ["students", "student_characteristics"]
    bad = client.post(url + "change/", {"optional_scopes": ["staff"]})
    assert bad.status_code == 302
    authorisation.refresh_from_db()
    assert authorisation.scopes == ["students", "student_characteristics"]
    assert client.get(url + "revoke/").status_code == 200
    authorisation.refresh_from_db()
    assert authorisation.is_active
    client.post(url + "revoke/")
    authorisation.refresh_from_db()
    assert not authorisation.is_active
    assert (
        app_client(token_for(app)).get("/api/apps/v1/schools/100001/students/").status_code == 403
    )


def test_when_the_app_asks_for_more_the_grant_stays_and_new_optional_scopes_start_off(
    site_client, school, head, app
):
    authorise(app, school, optional=["attendance"])
    opened = app_scopes_change(
        app=app,
        required_scopes=["students"],
        optional_scopes=["student_characteristics", "attendance", "behaviour"],
        actor=system_actor(),
    )
    assert opened == 1
    authorisation = AppAuthorisation.objects.get()
    assert authorisation.scopes == ["students", "attendance"]  # still in force
    review = DataAccessRequest.objects.get(status=RequestStatus.PENDING)
    page = site_client(school, head).get(f"/data/apps/requests/{review.pk}/").content.decode()
    assert 'value="attendance" checked' in page
    assert 'value="behaviour" checked' not in page
    assert "Asks for more" in site_client(school, head).get("/data/apps/").content.decode()


def test_connect_from_the_directory_opens_a_request(site_client, school, head, app):
    client = site_client(school, head)
    assert app.name in client.get("/data/apps/").content.decode()
    response = client.post(f"/data/apps/directory/{app.pk}/connect/")
    request = DataAccessRequest.objects.get()
    assert response["Location"] == f"/data/apps/requests/{request.pk}/"
    assert request.origin == RequestOrigin.SCHOOL


def test_another_schools_request_is_404(site_client, school, head, app):
    elsewhere = InstitutionFactory(urn="100009", slug="elsewhere", status="Open")
    theirs = access_request_open(app=app, school=elsewhere, origin=RequestOrigin.APP).request
    client = site_client(school, head)
    assert client.get(f"/data/apps/requests/{theirs.pk}/").status_code == 404
    assert _post_authorise(client, theirs.pk).status_code == 404
    assert not AppAuthorisation.objects.exists()


def test_the_activity_page_and_its_csv(site_client, school, head, app):
    authorise(app, school)
    PupilFactory(site=school)
    app_client(token_for(app)).get("/api/apps/v1/schools/100001/students/")
    client = site_client(school, head)
    page = client.get("/data/apps/activity/").content.decode()
    assert "students" in page
    csv = b"".join(client.get("/data/apps/activity/export.csv").streaming_content).decode()
    assert csv.lstrip("\ufeff").splitlines()[0].startswith("Time,App,Vendor,Endpoint")
    assert app.name in csv


def test_the_index_keeps_its_queries_as_apps_grow(site_client, school, head):
    client = site_client(school, head)
    for _ in range(2):
        app, _ = make_app()
        authorise(app, school)
    client.get("/data/apps/")  # the first request of a session loads what later ones reuse
    with CaptureQueriesContext(connection) as few:
        client.get("/data/apps/")
    for _ in range(4):
        app, _ = make_app()
        authorise(app, school)
        access_request_open(app=make_app()[0], school=school, origin=RequestOrigin.APP)
    with CaptureQueriesContext(connection) as many:
        client.get("/data/apps/")
    assert len(many) == len(few)
