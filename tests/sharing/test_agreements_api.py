"""REST endpoints of the group's Data Sharing Agreements: the permission ladder, tenancy
(foreign ids and URNs change nothing and reveal nothing), and each action."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.audit import system_actor
from accounts.permissions import INSTITUTION_DETAILS, Access
from sharing.models import AccessLevel, AgreementRequest, RequestReminder, RequestStatus
from sharing.services.agreements import agreement_raise
from tests.factories import TrustFactory, grant_permission
from tests.institutions.factories import add_school, group_admin, group_staff, outsider

from .factories import (
    add_recipients,
    group_admin_profile,
    head_of,
    make_request,
    school_with_head,
)

L1, L2, L3 = (
    AccessLevel.DFE_DATA,
    AccessLevel.DFE_AND_MIS_DATA,
    AccessLevel.DFE_MIS_AND_GROUP_ACTIONS,
)
LIST = "/api/v1/agreements/"
SEND = "/api/v1/agreements/requests/"
PREVIEW = "/api/v1/agreements/requests/preview/"
REMIND = "/api/v1/agreements/requests/remind/"
WITHDRAW = "/api/v1/agreements/requests/withdraw/"


@pytest.fixture
def group(trust):
    return trust


@pytest.fixture
def schools(group):
    acorn = school_with_head(group, name="Acorn Primary", urn="100001")
    beech = school_with_head(group, name="Beech Academy", urn="100002", phase="Secondary")
    cedar = school_with_head(group, name="Cedar Primary", urn="100003")
    make_request(group, beech, level=L2)
    agreement_raise(group=group, school=cedar, level=L1, actor=system_actor())
    return {"acorn": acorn, "beech": beech, "cedar": cedar}


@pytest.fixture
def sender(group):
    return group_admin_profile(group)


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def urns(response) -> list[str]:
    return [row["urn"] for row in response.json()["results"]]


@pytest.mark.django_db
class TestList:
    def test_each_tab(self, site_client, group, schools):
        client = site_client(group, group_staff(group))
        assert urns(client.get(LIST)) == ["100001"]
        pending = client.get(LIST, {"tab": "pending"}).json()["results"]
        assert [row["urn"] for row in pending] == ["100002"]
        assert pending[0]["pending_request"]["level"] == 2
        assert pending[0]["pending_request"]["level_label"] == "DfE Data & MIS Data"
        approved = client.get(LIST, {"tab": "approved"}).json()["results"]
        assert [(row["urn"], row["level"]) for row in approved] == [("100003", 1)]

    def test_filters_as_in_browse(self, site_client, group, schools):
        client = site_client(group, group_staff(group))
        assert urns(client.get(LIST, {"tab": "pending", "phase": "Secondary"})) == ["100002"]
        assert urns(client.get(LIST, {"tab": "pending", "phase": "Primary"})) == []
        assert urns(client.get(LIST, {"q": "acorn"})) == ["100001"]

    def test_bad_tab_or_filter(self, site_client, group, schools):
        client = site_client(group, group_staff(group))
        assert client.get(LIST, {"tab": "later"}).status_code == 400
        assert client.get(LIST, {"phase": "Kindergarten"}).status_code == 400

    def test_constant_queries(self, site_client):
        measured = []
        for size in (3, 30):
            group = TrustFactory()
            for n in range(size):
                school = add_school(group)
                if n % 2:
                    make_request(group, school)
            client = site_client(group, group_staff(group))
            client.get(LIST, {"tab": "pending"})
            with CaptureQueriesContext(connection) as queries:
                client.get(LIST, {"tab": "pending"})
            measured.append(len(queries))
        assert measured[0] == measured[1], measured


@pytest.mark.django_db
class TestPermissionLadder:
    def test_anonymous(self, site_client, group, schools):
        client = site_client(group)
        assert client.get(LIST).status_code == 403
        for url in (SEND, REMIND, WITHDRAW):
            assert post(client, url, {}).status_code == 403
        assert client.get(PREVIEW).status_code == 403

    def test_another_sites_staff(self, site_client, group, schools, sender):
        client = site_client(group, outsider())
        assert client.get(LIST).status_code == 403
        body = {"level": 1, "sender": sender.pk, "roles": ["all"], "schools": ["100001"]}
        assert post(client, SEND, body).status_code == 403
        assert not AgreementRequest.objects.filter(school=schools["acorn"]).exists()

    def test_staff_without_the_permission_may_list_only(self, site_client, group, schools, sender):
        user = group_staff(group)
        grant_permission(user, group, INSTITUTION_DETAILS, Access.VIEW)
        client = site_client(group, user)
        assert client.get(LIST).status_code == 200
        assert client.get(PREVIEW, {"roles": "all", "schools": "100001"}).status_code == 403
        body = {"level": 1, "sender": sender.pk, "roles": ["all"], "schools": ["100001"]}
        assert post(client, SEND, body).status_code == 403
        request = AgreementRequest.objects.get(school=schools["beech"])
        assert post(client, REMIND, {"requests": [request.pk]}).status_code == 403
        assert post(client, WITHDRAW, {"requests": [request.pk]}).status_code == 403
        request.refresh_from_db()
        assert request.status == RequestStatus.PENDING
        assert not AgreementRequest.objects.filter(school=schools["acorn"]).exists()

    def test_a_school_site_answers_404(self, site_client, group, schools):
        school = schools["acorn"]
        user = group_staff(school)
        grant_permission(user, school, INSTITUTION_DETAILS)
        assert site_client(school, user).get(LIST).status_code == 404


@pytest.mark.django_db
class TestSend:
    def test_sends_and_reports_each_school(
        self, site_client, group, schools, sender, mailoutbox, django_capture_on_commit_callbacks
    ):
        nobody = add_school(group, name="Elm Infants", urn="100005")
        client = site_client(group, group_admin(group))
        with django_capture_on_commit_callbacks(execute=True):  # as if committed
            response = post(
                client,
                SEND,
                {
                    "level": 2,
                    "sender": sender.pk,
                    "roles": ["Head Teacher"],
                    "schools": ["100001", nobody.urn],
                },
            )
        assert response.status_code == 200
        body = response.json()
        assert body["summary"] == (
            "Request sent to 1 school. 1 school was skipped: no Head Teacher with an email address."
        )
        assert body["done"] == 1 and body["skipped"] == 1
        done = next(row for row in body["results"] if row["done"])
        assert done["urn"] == "100001"
        assert AgreementRequest.objects.get(pk=done["request_id"]).level == L2
        # The email went to Acorn's head, and nobody else.
        [email] = mailoutbox
        assert email.to == [head_of(schools["acorn"]).user.email]
        assert email.subject == (
            f"{group.name} asks to share data with Acorn Primary: DfE Data & MIS Data"
        )

    def test_select_all_with_filters(self, site_client, group, schools, sender):
        add_school(group, name="Elm Secondary", urn="100006", phase="Secondary")
        client = site_client(group, group_admin(group))
        response = post(
            client,
            SEND,
            {
                "level": 1,
                "sender": sender.pk,
                "roles": ["all"],
                "select_all": True,
                "phase": ["Primary"],
            },
        )
        assert [row["urn"] for row in response.json()["results"]] == ["100001"]

    def test_raise_refuses_equal_or_lower(self, site_client, group, schools, sender):
        client = site_client(group, group_admin(group))
        body = {"sender": sender.pk, "roles": ["all"], "schools": ["100003"], "tab": "approved"}
        response = post(client, SEND, {**body, "level": 1})
        assert response.json()["results"][0]["reason"] == (
            "already approved at this level or higher"
        )
        response = post(client, SEND, {**body, "level": 3})
        assert response.json()["results"][0]["done"]

    def test_another_groups_urn_changes_nothing_and_reveals_nothing(
        self, site_client, group, schools, sender
    ):
        school_with_head(TrustFactory(), urn="200001")
        client = site_client(group, group_admin(group))
        body = {"level": 1, "sender": sender.pk, "roles": ["all"]}
        foreign = post(client, SEND, {**body, "schools": ["100001", "200001"]})
        missing = post(client, SEND, {**body, "schools": ["100001", "299999"]})
        assert foreign.status_code == missing.status_code == 404
        assert foreign.json() == missing.json()
        assert "200001" not in foreign.content.decode()
        assert not AgreementRequest.objects.filter(school__urn__in=["100001", "200001"]).exists()

    def test_a_value_that_is_no_urn_is_a_validation_error(
        self, site_client, group, schools, sender
    ):
        client = site_client(group, group_admin(group))
        body = {"level": 1, "sender": sender.pk, "roles": ["all"], "schools": ["100001", "1e5"]}
        response = post(client, SEND, body)
        assert response.status_code == 400
        assert response.json()["error"]["fields"]["schools"] == ["Not a URN (six digits): 1e5."]
        assert not AgreementRequest.objects.filter(school=schools["acorn"]).exists()

    def test_another_groups_sender(self, site_client, group, schools):
        stranger = group_admin_profile(TrustFactory())
        client = site_client(group, group_admin(group))
        response = post(
            client,
            SEND,
            {"level": 1, "sender": stranger.pk, "roles": ["all"], "schools": ["100001"]},
        )
        assert response.status_code == 400
        assert "sender" in response.json()["error"]["fields"]

    @pytest.mark.parametrize(
        "body",
        [
            {"level": 4, "roles": ["all"], "schools": ["100001"]},
            {"level": 1, "roles": ["Teacher"], "schools": ["100001"]},
            {"level": 1, "roles": [], "schools": ["100001"]},
            {"level": 1, "roles": ["all"]},
        ],
    )
    def test_invalid(self, site_client, group, schools, sender, body):
        client = site_client(group, group_admin(group))
        response = post(client, SEND, {"sender": sender.pk, **body})
        assert response.status_code == 400
        assert not AgreementRequest.objects.filter(school=schools["acorn"]).exists()


@pytest.mark.django_db
class TestPreview:
    def test_recipients_and_skipped(self, site_client, group, schools):
        add_school(group, name="Elm Infants", urn="100005")
        client = site_client(group, group_admin(group))
        body = client.get(
            PREVIEW, {"roles": "Head Teacher", "level": 1, "schools": ["100001", "100005"]}
        ).json()
        assert body["sending"] == 1 and body["people"] == 1 and body["skipped"] == 1
        rows = {row["urn"]: row for row in body["results"]}
        assert rows["100001"]["recipients"][0]["role"] == "Head Teacher"
        assert rows["100005"]["reason"] == "no Head Teacher with an email address"

    def test_foreign_urn_is_a_404_like_a_missing_one(self, site_client, group, schools):
        school_with_head(TrustFactory(), urn="200001")
        client = site_client(group, group_admin(group))
        response = client.get(PREVIEW, {"roles": "all", "schools": ["100001", "200001"]})
        missing = client.get(PREVIEW, {"roles": "all", "schools": ["100001", "299999"]})
        assert response.status_code == missing.status_code == 404
        assert response.json() == missing.json()
        assert "@" not in response.content.decode()

    def test_a_value_that_is_no_urn_is_a_validation_error(self, site_client, group, schools):
        client = site_client(group, group_admin(group))
        response = client.get(PREVIEW, {"roles": "all", "schools": ["100001", "oak"]})
        assert response.status_code == 400
        assert response.json()["error"]["fields"]["schools"] == ["Not a URN (six digits): oak."]


@pytest.mark.django_db
class TestRemindAndWithdraw:
    def test_remind_then_rate_limited(
        self, site_client, group, schools, mailoutbox, django_capture_on_commit_callbacks
    ):
        request = AgreementRequest.objects.get(school=schools["beech"])
        head = head_of(schools["beech"])
        add_recipients(request, head)
        client = site_client(group, group_admin(group))
        with django_capture_on_commit_callbacks(execute=True):  # as if committed
            first = post(client, REMIND, {"requests": [request.pk]}).json()
            second = post(client, REMIND, {"select_all": True}).json()
        assert first["summary"] == "Reminder sent to 1 school."
        assert second["results"][0]["reason"] == "a reminder was sent in the last hour"
        assert second["results"][0]["next_allowed_at"]
        assert RequestReminder.objects.count() == 1
        [email] = mailoutbox  # one reminder, to the request's recipient
        assert email.to == [head.user.email]
        assert email.subject == (
            f"Reminder: {group.name} asks to share data with Beech Academy: DfE Data & MIS Data"
        )

    def test_withdraw_and_repeat(self, site_client, group, schools):
        request = AgreementRequest.objects.get(school=schools["beech"])
        client = site_client(group, group_admin(group))
        assert post(client, WITHDRAW, {"requests": [request.pk]}).json()["done"] == 1
        again = post(client, WITHDRAW, {"requests": [request.pk]})
        assert again.status_code == 200
        assert again.json()["results"][0]["reason"] == "the request was already withdrawn"

    @pytest.mark.parametrize("url", [REMIND, WITHDRAW])
    def test_another_groups_request_id_is_a_404(self, site_client, group, schools, url):
        other = TrustFactory()
        foreign = make_request(other, add_school(other))
        own = AgreementRequest.objects.get(school=schools["beech"])
        client = site_client(group, group_admin(group))
        response = post(client, url, {"requests": [own.pk, foreign.pk]})
        missing = post(client, url, {"requests": [own.pk, foreign.pk + 1000]})
        assert response.status_code == missing.status_code == 404
        assert response.json() == missing.json()
        for request in (own, foreign):
            request.refresh_from_db()
            assert request.status == RequestStatus.PENDING
        assert not RequestReminder.objects.exists()
