"""Recipients by person in the group's send form (a list with checkboxes per school that
works without JavaScript, searched by name, swapped by htmx), and "Not you? Send it to a
colleague" on the school's request page."""

import re

import pytest

from accounts.models import AuditAction, AuditEvent, StaffProfile
from notifications.models import EmailDelivery
from sharing.models import AgreementRequest, RecipientSource, RequestRecipient, RequestStatus
from tests.factories import StaffProfileFactory, TrustFactory
from tests.institutions.factories import add_school
from tests.notifications.factories import make_pair
from tests.notifications.factories import make_request as make_pair_request

from .factories import group_admin_profile, head_teacher, school_staff

URL = "/data-sharing/"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def group(trust):
    return trust


@pytest.fixture
def admin(group):
    return group_admin_profile(group)


@pytest.fixture
def acorn(group):
    school = add_school(group, name="Acorn Primary", urn="100001")
    head_teacher(school, full_name="Ann Able", email="ann@acorn.test")
    return school


@pytest.fixture
def manager(acorn):
    return school_staff(acorn, "Data Manager", full_name="Dan Data", email="dm@acorn.test")


def send_data(admin, **extra):
    data = {"tab": "none", "level": "1", "sender": str(admin.pk), "school": "100001"}
    data.update(extra)
    return data


@pytest.mark.django_db
class TestSendForm:
    def test_the_people_are_listed_per_school_without_javascript(
        self, site_client, group, admin, acorn, manager
    ):
        school_staff(acorn, "Teacher", full_name="Tina Teacher")
        foreign = add_school(TrustFactory(), name="Far Away School")
        head_teacher(foreign, full_name="Foreign Head")
        client = site_client(group, admin.user)
        html = client.get(URL + "send/", {"tab": "none", "school": "100001"}).content.decode()
        assert "Or choose people by name" in html
        assert f'name="people" type="checkbox" value="{manager.pk}"' in html
        assert "Dan Data" in html
        assert "Tina Teacher" not in html
        assert "Foreign Head" not in html
        assert "Find people" in html

    def test_the_search_narrows_the_list_and_keeps_those_ticked(
        self, site_client, group, admin, acorn, manager
    ):
        client = site_client(group, admin.user)
        ann = StaffProfile.objects.get(site=acorn, user__full_name="Ann Able")
        response = client.post(
            URL + "send/", send_data(admin, people_search="dan", preview="1", people=[ann.pk])
        )
        html = response.content.decode()
        assert response.status_code == 200
        assert f'value="{manager.pk}"' in html
        assert f'value="{ann.pk}" checked' in html  # ticked: kept whatever the search
        assert not AgreementRequest.objects.exists()  # "Find people" sends nothing
        fragment = client.get(
            URL + "send/people/",
            {"tab": "none", "school": "100001", "people_search": "zzz"},
            **HTMX,
        ).content.decode()
        assert "<html" not in fragment
        assert "Nobody at the chosen schools matches “zzz”." in fragment

    def test_the_preview_shows_the_named_person(self, site_client, group, admin, acorn, manager):
        client = site_client(group, admin.user)
        html = client.get(
            URL + "send/preview/",
            {"tab": "none", "school": "100001", "roles": "Head Teacher", "people": manager.pk},
            **HTMX,
        ).content.decode()
        assert "Ann Able" in html
        assert "Dan Data" in html
        assert "(Data Manager, chosen by name)" in html
        assert "(2 people)" in html

    def test_sends_to_the_named_person_and_the_summary_says_so(
        self, site_client, group, admin, acorn, manager
    ):
        client = site_client(group, admin.user)
        response = client.post(
            URL + "send/", send_data(admin, roles=["Head Teacher"], people=[manager.pk])
        )
        assert response.status_code == 302
        assert set(RequestRecipient.objects.values_list("email", "source")) == {
            ("ann@acorn.test", RecipientSource.ROLE),
            ("dm@acorn.test", RecipientSource.NAMED),
        }
        html = client.get(response["Location"]).content.decode()
        assert re.search(
            r"Dan Data \(Data Manager, chosen by name\) <span[^>]*>dm@acorn\.test</span>", html
        )
        assert "Ann Able (Head Teacher)" in html

    def test_a_teacher_or_another_trusts_staff_is_refused_and_nothing_sent(
        self, site_client, group, admin, acorn
    ):
        teacher = school_staff(acorn, "Teacher", full_name="Tina Teacher")
        foreign = head_teacher(add_school(TrustFactory()), full_name="Foreign Head")
        client = site_client(group, admin.user)
        html = client.post(
            URL + "send/", send_data(admin, roles=["Head Teacher"], people=[teacher.pk])
        ).content.decode()
        assert "Tina Teacher does not hold a role requests go to" in html
        html = client.post(
            URL + "send/", send_data(admin, roles=["Head Teacher"], people=[foreign.pk])
        ).content.decode()
        assert "is not on the staff of the chosen schools" in html
        assert "Foreign Head" not in html
        assert "Nothing was sent." in html
        html = client.post(URL + "send/", send_data(admin, people=["x"])).content.decode()
        assert "Some of the chosen people were not recognised." in html
        assert not AgreementRequest.objects.exists()
        assert not EmailDelivery.objects.exists()

    def test_the_people_list_needs_the_permission(self, site_client, group, acorn):
        staff = StaffProfileFactory(site=group).user
        client = site_client(group, staff)
        assert client.get(URL + "send/people/", {"school": "100001"}).status_code == 403


def request_url(request, action=""):
    return f"/data/data-sharing/requests/{request.pk}/" + (f"{action}/" if action else "")


@pytest.fixture
def pair(db):
    return make_pair()


def profile_of(pair, user):
    return StaffProfile.objects.get(site=pair.school, user=user)


@pytest.mark.django_db
class TestForwardPage:
    def test_the_head_forwards_to_the_data_manager(self, site_client, pair):
        request = make_pair_request(pair, recipients=((pair.head, "Head Teacher"),))
        client = site_client(pair.school, pair.head)
        html = client.get(request_url(request)).content.decode()
        assert "Not you? Send it to a colleague" in html
        dm = profile_of(pair, pair.data_manager)
        assert f'<option value="{dm.pk}">Dan Moss (Data Manager)</option>' in html
        assert "Tom Reed" not in html.split('id="forward"')[1]  # a teacher is not offered
        response = client.post(request_url(request, "forward"), {"to": dm.pk})
        assert response.status_code == 302
        html = client.get(response["Location"]).content.decode()
        assert "Sent to Dan Moss (Data Manager)." in html
        assert "Forwarded by Helen Archer on" in html
        assert EmailDelivery.objects.filter(address=pair.data_manager.email).count() == 1
        assert AuditEvent.objects.filter(action=AuditAction.REQUEST_FORWARDED).exists()

    def test_a_refusal_says_why_and_changes_nothing(self, site_client, pair):
        request = make_pair_request(pair, recipients=((pair.head, "Head Teacher"),))
        client = site_client(pair.school, pair.head)
        teacher = profile_of(pair, pair.teacher)
        response = client.post(request_url(request, "forward"), {"to": teacher.pk})
        assert response.status_code == 400
        assert "Tom Reed does not hold a role requests go to" in response.content.decode()
        other = make_pair(school_name="Elm", school_slug="elm", trust_slug="other")
        elsewhere = StaffProfile.objects.get(site=other.school, user=other.head)
        response = client.post(request_url(request, "forward"), {"to": elsewhere.pk})
        assert response.status_code == 400
        assert "That person is not on St Mary’s’s staff." in response.content.decode()
        assert RequestRecipient.objects.filter(request=request).count() == 1
        assert not EmailDelivery.objects.exists()

    def test_only_a_recipient_or_an_approver_is_offered_it(self, site_client, pair):
        request = make_pair_request(pair, recipients=((pair.data_manager, "Data Manager"),))
        teacher = site_client(pair.school, pair.teacher)
        assert "Not you?" not in teacher.get(request_url(request)).content.decode()
        head = profile_of(pair, pair.head)
        assert teacher.post(request_url(request, "forward"), {"to": head.pk}).status_code == 403
        outsider = StaffProfileFactory(site=pair.trust).user
        client = site_client(pair.school, outsider)
        assert client.post(request_url(request, "forward"), {"to": head.pk}).status_code == 404
        assert RequestRecipient.objects.filter(request=request).count() == 1

    def test_a_decided_request_offers_no_forward(self, site_client, pair):
        request = make_pair_request(pair, status=RequestStatus.APPROVED)
        client = site_client(pair.school, pair.head)
        html = client.get(request_url(request)).content.decode()
        assert "Not you?" not in html
        assert "Who received it" in html
        dm = profile_of(pair, pair.data_manager)
        response = client.post(request_url(request, "forward"), {"to": dm.pk}, follow=True)
        assert "only a pending request can be forwarded" in response.content.decode()
        assert RequestRecipient.objects.filter(request=request).count() == 2
        assert not EmailDelivery.objects.exists()
