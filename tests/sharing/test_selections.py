"""The readers of a bulk selection of requests, and one answer for a foreign id: the page
and the API of the same action both say 404, for a school and for a request."""

import json

import pytest
from django.http import Http404

from sharing.models import AgreementRequest, RequestStatus
from sharing.selectors import requests_for_selection
from tests.factories import TrustFactory
from tests.institutions.factories import add_school

from .factories import group_admin_profile, make_request, school_with_head

pytestmark = pytest.mark.django_db


@pytest.fixture
def requests(trust):
    beech = make_request(trust, add_school(trust, name="Beech Academy", urn="100002"))
    ash = make_request(
        trust, add_school(trust, name="Ash Primary", urn="100001"), status=RequestStatus.DECLINED
    )
    other = TrustFactory()
    foreign = make_request(other, add_school(other, urn="200002"))
    return {"ash": ash, "beech": beech, "foreign": foreign}


def test_the_groups_requests_of_any_status_by_school_name_once_each(trust, requests):
    ids = [requests["beech"].pk, requests["ash"].pk, str(requests["beech"].pk)]
    assert requests_for_selection(group=trust, request_ids=ids) == [
        requests["ash"],
        requests["beech"],
    ]
    assert requests_for_selection(group=trust, request_ids=[]) == []


@pytest.mark.parametrize("other", ["foreign", "missing", "junk"])
def test_any_other_request_is_a_404(trust, requests, other):
    request_id = {"foreign": requests["foreign"].pk, "missing": 0, "junk": "x"}[other]
    with pytest.raises(Http404) as raised:
        requests_for_selection(group=trust, request_ids=[requests["ash"].pk, request_id])
    assert str(raised.value) == "No such request in this group."


def test_a_foreign_urn_is_a_404_in_the_page_and_in_the_api(site_client, trust):
    school_with_head(trust, urn="100001")
    school_with_head(TrustFactory(), urn="200001")
    sender = group_admin_profile(trust)
    client = site_client(trust, sender.user)
    urns = ["100001", "200001"]
    page = client.post(
        "/data-sharing/send/",
        {"tab": "none", "school": urns, "level": "1", "roles": "all", "sender": str(sender.pk)},
    )
    api = client.post(
        "/api/v1/agreements/requests/",
        json.dumps({"level": 1, "roles": ["all"], "sender": sender.pk, "schools": urns}),
        content_type="application/json",
    )
    preview = client.get("/api/v1/agreements/requests/preview/", {"roles": "all", "schools": urns})
    assert (page.status_code, api.status_code, preview.status_code) == (404, 404, 404)
    assert not AgreementRequest.objects.exists()


def test_a_foreign_request_is_a_404_in_the_page_and_in_the_api(site_client, trust, requests):
    client = site_client(trust, group_admin_profile(trust).user)
    ids = [requests["beech"].pk, requests["foreign"].pk]
    page = client.post("/data-sharing/withdraw/", {"tab": "pending", "request": ids})
    api = client.post(
        "/api/v1/agreements/requests/withdraw/",
        json.dumps({"requests": ids}),
        content_type="application/json",
    )
    assert (page.status_code, api.status_code) == (404, 404)
    assert set(AgreementRequest.objects.values_list("status", flat=True)) == {
        RequestStatus.PENDING,
        RequestStatus.DECLINED,
    }
