"""REST endpoints of data sharing on a school site: the school's requests, approve, decline."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sharing.models import AccessLevel, Agreement, AgreementRequest, RequestStatus
from tests.factories import StaffProfileFactory
from tests.notifications.factories import make_pair, make_request

pytestmark = pytest.mark.django_db

LIST = "/api/v1/data-sharing/requests/"


@pytest.fixture
def pair():
    return make_pair()


@pytest.fixture
def pending(pair):
    return make_request(pair, level=AccessLevel.DFE_AND_MIS_DATA)


def detail(request, action=""):
    return f"{LIST}{request.pk}/" + (f"{action}/" if action else "")


def test_the_ladder_for_reading(pair, pending, site_client):
    assert site_client(pair.school).get(LIST).status_code == 403
    outsider = StaffProfileFactory(site=pair.trust).user
    assert site_client(pair.school, outsider).get(LIST).status_code == 403
    response = site_client(pair.school, pair.teacher).get(detail(pending))
    assert response.status_code == 200
    body = response.json()
    assert body["group"] == {"slug": "oak-ridge", "name": "Oak Ridge Trust", "kind": "trust"}
    assert (body["level"], body["level_label"]) == (2, "DfE Data & MIS Data")
    assert body["status"] == "pending"
    assert body["sender_name"] == "Priya Shah"
    assert body["sender_job_title"] == "Trust Administrator"
    assert body["explanation"]["allows"].startswith("Everything in DfE Data, plus live figures")
    assert "does not let anyone at the group log in" in body["explanation"]["does_not_allow"]
    assert body["current_level"] == 0
    assert body["may_decide"] is False
    head_view = site_client(pair.school, pair.head).get(detail(pending)).json()
    assert head_view["may_decide"] is True


def test_the_ladder_for_deciding(pair, pending, site_client):
    assert site_client(pair.school).post(detail(pending, "approve")).status_code == 403
    outsider = StaffProfileFactory(site=pair.trust).user
    assert site_client(pair.school, outsider).post(detail(pending, "approve")).status_code == 403
    refused = site_client(pair.school, pair.teacher).post(detail(pending, "approve"))
    assert refused.status_code == 403
    assert "Data Sharing Request: Administer" in refused.json()["error"]["message"]
    assert AgreementRequest.objects.get().status == RequestStatus.PENDING

    response = site_client(pair.school, pair.head).post(detail(pending, "approve"))
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    assert response.json()["current_level"] == 2
    assert Agreement.objects.get().level == 2


def test_another_schools_request_is_a_404_like_a_missing_one(pair, site_client):
    other = make_pair(school_name="Elm Primary", school_slug="elm", trust_slug="other-trust")
    theirs = make_request(other)
    client = site_client(pair.school, pair.head)
    for response in (
        client.get(detail(theirs)),
        client.post(detail(theirs, "approve")),
        client.post(detail(theirs, "decline")),
        client.get(f"{LIST}999999/"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert AgreementRequest.objects.get(pk=theirs.pk).status == RequestStatus.PENDING
    listed = client.get(LIST).json()
    assert listed["count"] == 0


def test_a_group_site_answers_404(pair, pending, site_client):
    client = site_client(pair.trust, pair.sender.user)
    assert client.get(LIST).status_code == 404
    assert client.post(detail(pending, "approve")).status_code == 404


def test_a_repeated_decision_is_harmless_and_the_other_is_refused(pair, pending, site_client):
    client = site_client(pair.school, pair.head)
    assert client.post(detail(pending, "approve")).status_code == 200
    again = client.post(detail(pending, "approve"))
    assert again.status_code == 200
    assert again.json()["status"] == "approved"
    refused = client.post(
        detail(pending, "decline"), {"reason": "no"}, content_type="application/json"
    )
    assert refused.status_code == 400
    assert "already approved" in refused.json()["error"]["message"]
    assert Agreement.objects.get().level == 2


def test_declining_with_a_reason(pair, pending, site_client):
    client = site_client(pair.school, pair.head)
    response = client.post(
        detail(pending, "decline"), {"reason": "Not this term."}, content_type="application/json"
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["decline_reason"]) == (
        "declined",
        "Not this term.",
    )
    too_long = make_request(pair)
    response = client.post(
        detail(too_long, "decline"), {"reason": "x" * 501}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]


def test_the_list_puts_pending_first_in_a_constant_number_of_queries(pair, site_client):
    client = site_client(pair.school, pair.teacher)
    old = make_request(pair, status=RequestStatus.WITHDRAWN)
    waiting = make_request(pair)
    client.get(LIST)
    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    for _ in range(5):
        make_request(pair, status=RequestStatus.DECLINED)
    with CaptureQueriesContext(connection) as many:
        body = client.get(LIST).json()
    assert len(many) == len(few)
    assert body["count"] == 7
    assert body["results"][0]["id"] == waiting.pk
    assert body["results"][-1]["id"] == old.pk


def test_the_schema_describes_the_endpoints(pair, site_client):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {
        op["operationId"]
        for path_item in schema["paths"].values()
        for op in path_item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    assert {
        "school_sharing_requests_list",
        "school_sharing_requests_retrieve",
        "school_sharing_requests_approve",
        "school_sharing_requests_decline",
    } <= operations
    components = schema["components"]["schemas"]
    assert "SchoolSharingRequestDetail" in components
    assert "SchoolSharingDeclineInputRequest" in components
