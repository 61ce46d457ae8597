"""REST for recipients by person and forwarding: the send and its preview take people
chosen by name; the lookup lists who may be chosen (never another school's staff); a
school's recipient forwards a request to a colleague."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditAction, AuditEvent, StaffProfile
from notifications.models import EmailDelivery
from sharing.models import RecipientSource, RequestRecipient, RequestStatus
from tests.factories import StaffProfileFactory, TrustFactory
from tests.institutions.factories import add_school, group_staff
from tests.notifications.factories import make_pair
from tests.notifications.factories import make_request as make_pair_request

from .factories import group_admin_profile, head_teacher, school_staff

SEND = "/api/v1/agreements/requests/"
PREVIEW = "/api/v1/agreements/requests/preview/"
LOOKUP = "/api/v1/agreements/requests/recipients/"


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


@pytest.fixture
def group(trust):
    return trust


@pytest.fixture
def admin(group):
    return group_admin_profile(group)


@pytest.fixture
def acorn(group):
    return add_school(group, name="Acorn Primary", urn="100001")


@pytest.mark.django_db
class TestGroupSide:
    def test_the_lookup_lists_recipient_roles_at_the_chosen_schools(
        self, site_client, group, admin, acorn
    ):
        head = head_teacher(acorn, full_name="Ann Able", email="ann@acorn.test")
        manager = school_staff(acorn, "Data Manager", full_name="Bob Brown")
        school_staff(acorn, "Teacher")
        beech = add_school(group, name="Beech Academy", urn="100002")
        head_teacher(beech)  # not chosen
        client = site_client(group, admin.user)
        body = client.get(LOOKUP, {"schools": ["100001"]}).json()
        assert body["count"] == 2
        assert body["results"][0] == {
            "id": head.pk,
            "name": "Ann Able",
            "email": "ann@acorn.test",
            "role": "Head Teacher",
            "school": {"urn": "100001", "name": "Acorn Primary"},
        }
        assert body["results"][1]["id"] == manager.pk
        named = client.get(LOOKUP, {"schools": ["100001"], "name": "bob"}).json()
        assert [row["id"] for row in named["results"]] == [manager.pk]

    def test_the_lookup_never_lists_a_school_the_group_has_no_relationship_with(
        self, site_client, group, admin, acorn
    ):
        foreign = add_school(TrustFactory(), urn="200001")
        head_teacher(foreign)
        client = site_client(group, admin.user)
        assert client.get(LOOKUP, {"schools": ["200001"]}).status_code == 404
        assert client.get(LOOKUP, {"schools": ["100001", "200001"]}).status_code == 404

    def test_the_lookup_ladder(self, site_client, group, acorn):
        head_teacher(acorn)
        assert site_client(group).get(LOOKUP, {"schools": ["100001"]}).status_code == 403
        staff = site_client(group, group_staff(group))
        assert staff.get(LOOKUP, {"schools": ["100001"]}).status_code == 403
        school_head = head_teacher(acorn)
        assert site_client(acorn, school_head.user).get(LOOKUP).status_code == 404

    def test_the_lookup_costs_constant_queries(self, site_client, group, admin):
        measured = []
        for size in (2, 12):
            schools = [add_school(group) for _ in range(size)]
            for school in schools:
                head_teacher(school)
            client = site_client(group, admin.user)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(
                    LOOKUP, {"schools": [s.urn for s in schools], "page_size": 200}
                )
            assert response.json()["count"] >= size
            measured.append(len(queries))
        assert measured[0] == measured[1], measured

    def test_send_to_a_named_person(self, site_client, group, admin, acorn):
        head_teacher(acorn, email="head@acorn.test")
        manager = school_staff(acorn, "Data Manager", full_name="Dan Data", email="dm@acorn.test")
        client = site_client(group, admin.user)
        body = {"level": 1, "sender": admin.pk, "schools": ["100001"], "people": [manager.pk]}
        preview = client.get(
            PREVIEW, {"schools": ["100001"], "people": [manager.pk], "level": 1}
        ).json()
        assert preview["results"][0]["recipients"] == [
            {"name": "Dan Data", "email": "dm@acorn.test", "role": "Data Manager", "named": True}
        ]
        response = post(client, SEND, body)
        assert response.status_code == 200, response.json()
        row = response.json()["results"][0]
        assert row["recipients"] == ["dm@acorn.test"]
        assert row["recipient_names"] == ["Dan Data (Data Manager, chosen by name)"]
        recipient = RequestRecipient.objects.get()
        assert recipient.source == RecipientSource.NAMED

    def test_send_refuses_a_teacher_and_another_trusts_staff(
        self, site_client, group, admin, acorn
    ):
        head_teacher(acorn)
        teacher = school_staff(acorn, "Teacher", full_name="Tom Teacher")
        foreign_head = head_teacher(add_school(TrustFactory()), full_name="Foreign Head")
        client = site_client(group, admin.user)
        for person, words in (
            (teacher, "Tom Teacher does not hold a role requests go to"),
            (foreign_head, "is not on the staff of the chosen schools"),
        ):
            response = post(
                client,
                SEND,
                {
                    "level": 1,
                    "sender": admin.pk,
                    "roles": ["Head Teacher"],
                    "schools": ["100001"],
                    "people": [person.pk],
                },
            )
            assert response.status_code == 400
            assert words in str(response.json())
            assert "Foreign Head" not in str(response.json())
        assert not RequestRecipient.objects.exists()
        assert not EmailDelivery.objects.exists()

    def test_send_without_roles_or_people_is_refused(self, site_client, group, admin, acorn):
        head_teacher(acorn)
        client = site_client(group, admin.user)
        response = post(client, SEND, {"level": 1, "sender": admin.pk, "schools": ["100001"]})
        assert response.status_code == 400
        assert "Choose who should receive the request" in str(response.json())


FORWARD = "/api/v1/data-sharing/requests/{}/forward/"


@pytest.fixture
def pair(db):
    return make_pair()


def profile(pair, user) -> int:
    """The staff profile id of ``user`` at ``pair``'s school."""
    return StaffProfile.objects.get(site=pair.school, user=user).pk


@pytest.mark.django_db
class TestSchoolSide:
    def test_the_head_forwards_to_the_data_manager(self, site_client, pair):
        request = make_pair_request(pair, recipients=((pair.head, "Head Teacher"),))
        client = site_client(pair.school, pair.head)
        candidates = client.get(FORWARD.format(request.pk)).json()
        assert [c["id"] for c in candidates] == [profile(pair, pair.data_manager)]
        response = post(
            client, FORWARD.format(request.pk), {"to": profile(pair, pair.data_manager)}
        )
        assert response.status_code == 200, response.json()
        forwarded = response.json()["recipients"][-1]
        assert forwarded["email"] == pair.data_manager.email
        assert forwarded["source"] == "forwarded"
        assert forwarded["forwarded_by_name"] == "Helen Archer"
        assert EmailDelivery.objects.filter(address=pair.data_manager.email).count() == 1
        assert AuditEvent.objects.filter(action=AuditAction.REQUEST_FORWARDED).count() == 2

    def test_refusals_change_nothing(self, site_client, pair):
        request = make_pair_request(pair, recipients=((pair.head, "Head Teacher"),))
        client = site_client(pair.school, pair.head)
        url = FORWARD.format(request.pk)
        other = make_pair(school_name="Elm", school_slug="elm", trust_slug="other")
        for to, status in (
            (profile(pair, pair.teacher), 400),  # no recipient role
            (profile(pair, pair.head), 400),  # oneself
            (profile(other, other.head), 400),  # another trust's school
            (999999, 400),
        ):
            response = post(client, url, {"to": to})
            assert response.status_code == status, response.json()
        assert "Elm" not in str(post(client, url, {"to": profile(other, other.head)}).json())
        assert post(client, url, {"to": "x"}).status_code == 400
        assert RequestRecipient.objects.filter(request=request).count() == 1
        assert not EmailDelivery.objects.exists()

    def test_only_a_recipient_or_an_approver(self, site_client, pair):
        request = make_pair_request(pair, recipients=((pair.data_manager, "Data Manager"),))
        url = FORWARD.format(request.pk)
        teacher = site_client(pair.school, pair.teacher)
        assert teacher.get(url).status_code == 403
        assert post(teacher, url, {"to": profile(pair, pair.head)}).status_code == 403
        assert site_client(pair.school).get(url).status_code == 403
        outsider = StaffProfileFactory(site=pair.trust).user
        assert (
            post(
                site_client(pair.school, outsider), url, {"to": profile(pair, pair.head)}
            ).status_code
            == 403
        )
        # the head is not a recipient, but may decide: may forward
        head = site_client(pair.school, pair.head)
        assert post(head, url, {"to": profile(pair, pair.teacher)}).status_code == 400
        assert RequestRecipient.objects.filter(request=request).count() == 1

    def test_a_decided_request_and_another_schools_request(self, site_client, pair):
        decided = make_pair_request(pair, status=RequestStatus.DECLINED)
        client = site_client(pair.school, pair.head)
        response = post(client, FORWARD.format(decided.pk), {"to": profile(pair, pair.teacher)})
        assert response.status_code == 400
        assert "only a pending request can be forwarded" in str(response.json())
        other = make_pair(school_name="Elm", school_slug="elm", trust_slug="other")
        theirs = make_pair_request(other)
        assert (
            post(
                client, FORWARD.format(theirs.pk), {"to": profile(pair, pair.data_manager)}
            ).status_code
            == 404
        )
        assert client.get(FORWARD.format(theirs.pk)).status_code == 404
