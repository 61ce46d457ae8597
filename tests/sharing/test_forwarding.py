"""Forwarding a request at the school ("not me: send to ...", issue 13, item 5): a
recipient, or someone who may decide, forwards a pending request to a colleague holding a
recipient role; the colleague becomes a recipient, gets the request's email, and the
forward is audited. Every refusal changes nothing."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.audit import Actor
from accounts.models import AuditAction, AuditEvent
from notifications.models import EmailDelivery
from sharing.emails import AGREEMENT_REQUEST_EMAIL, EmailKind, agreement_request_emails
from sharing.models import RecipientSource, RequestRecipient, RequestStatus
from sharing.school.selectors import forward_candidates
from sharing.services.forwarding import agreement_request_forward
from tests.factories import TrustFactory, grant_permission
from tests.institutions.factories import add_school

from .factories import actor_for, head_teacher, make_request, school_staff


@pytest.fixture
def group(db):
    return TrustFactory(name="Oak Ridge Trust")


@pytest.fixture
def school(group):
    return add_school(group, name="Acorn Primary")


@pytest.fixture
def head(school):
    return head_teacher(school, full_name="Hana Head", email="head@acorn.test")


@pytest.fixture
def manager(school):
    return school_staff(school, "Data Manager", full_name="Dan Data", email="dm@acorn.test")


@pytest.fixture
def request_to_head(group, school, head):
    return make_request(group, school, recipients=[head])


def forward(request, to, by, school):
    return agreement_request_forward(
        request=request, to_profile_id=to.pk, actor=actor_for(by, school)
    )


def unchanged(request, count=1):
    assert RequestRecipient.objects.filter(request=request).count() == count
    assert not EmailDelivery.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.REQUEST_FORWARDED).exists()


@pytest.mark.django_db
class TestForward:
    def test_the_head_forwards_to_the_data_manager(
        self, group, school, head, manager, request_to_head
    ):
        recipient = forward(request_to_head, manager, head, school)
        assert (recipient.user, recipient.email, recipient.role_name) == (
            manager.user,
            "dm@acorn.test",
            "Data Manager",
        )
        assert recipient.source == RecipientSource.FORWARDED
        assert recipient.forwarded_by == head.user
        delivery = EmailDelivery.objects.get()
        assert (delivery.address, delivery.kind, delivery.builder) == (
            "dm@acorn.test",
            EmailKind.REQUEST,
            AGREEMENT_REQUEST_EMAIL,
        )
        assert delivery.params["recipient_id"] == recipient.pk
        content = agreement_request_emails([delivery])[delivery.pk]
        assert "Hana Head, your colleague at Acorn Primary, forwarded it to you." in content.text
        assert f"/data/data-sharing/requests/{request_to_head.pk}/" in content.text
        events = AuditEvent.objects.filter(action=AuditAction.REQUEST_FORWARDED)
        assert sorted(e.site_id for e in events) == sorted([school.pk, group.pk])
        event = events.first()
        assert event.actor == head.user
        assert event.detail["from"] == "head@acorn.test"
        assert event.detail["to"] == "dm@acorn.test"

    def test_the_delivery_is_once_per_request_recipient_and_kind(
        self, school, head, manager, request_to_head
    ):
        from sharing.emails import request_emails_enqueue

        forward(request_to_head, manager, head, school)
        request_emails_enqueue(requests=[request_to_head], kind=EmailKind.REQUEST)
        # queued again for both: the forwarded one is not duplicated
        assert EmailDelivery.objects.filter(address="dm@acorn.test").count() == 1

    def test_an_approver_who_is_not_a_recipient_may_forward(self, school, manager, request_to_head):
        deputy = school_staff(school, "Deputy Head Teacher")
        from accounts.permissions import DATA_SHARING_REQUEST

        grant_permission(deputy.user, school, DATA_SHARING_REQUEST)
        forward(request_to_head, manager, deputy, school)
        assert RequestRecipient.objects.filter(user=manager.user).exists()

    def test_a_forwarded_recipient_may_forward_again(self, school, head, manager, request_to_head):
        forward(request_to_head, manager, head, school)
        deputy = school_staff(school, "Deputy Head Teacher")
        forward(request_to_head, deputy, manager, school)
        assert RequestRecipient.objects.filter(request=request_to_head).count() == 3

    def test_the_candidates_leave_out_oneself_and_those_who_have_it(
        self, school, head, manager, request_to_head
    ):
        school_staff(school, "Teacher")
        deputy = school_staff(school, "Deputy Head Teacher")
        candidates = forward_candidates(request=request_to_head, user=head.user)
        assert [p.profile_id for p in candidates] == [deputy.pk, manager.pk]


@pytest.mark.django_db
class TestRefusals:
    def test_someone_outside_the_school(self, group, school, head, request_to_head):
        other = add_school(group)
        elsewhere = head_teacher(other, full_name="Other Head")
        foreign = head_teacher(add_school(TrustFactory()), full_name="Foreign Head")
        for person in (elsewhere, foreign):
            with pytest.raises(ValidationError) as raised:
                forward(request_to_head, person, head, school)
            assert raised.value.message_dict["to"] == [
                "That person is not on Acorn Primary’s staff."
            ]
        unchanged(request_to_head)

    def test_someone_without_a_recipient_role(self, school, head, request_to_head):
        teacher = school_staff(school, "Teacher", full_name="Tom Teacher")
        with pytest.raises(ValidationError, match="Tom Teacher does not hold a role requests go"):
            forward(request_to_head, teacher, head, school)
        unchanged(request_to_head)

    def test_oneself(self, school, head, request_to_head):
        with pytest.raises(ValidationError, match="You already have this request"):
            forward(request_to_head, head, head, school)
        unchanged(request_to_head)

    def test_someone_who_already_receives_it(self, group, school, head, manager):
        request = make_request(group, school, recipients=[head, manager])
        with pytest.raises(ValidationError, match="Dan Data already receives this request"):
            forward(request, manager, head, school)
        unchanged(request, count=2)

    @pytest.mark.parametrize("status", [RequestStatus.APPROVED, RequestStatus.WITHDRAWN])
    def test_a_request_no_longer_pending(self, group, school, head, manager, status):
        request = make_request(group, school, recipients=[head], status=status)
        with pytest.raises(ValidationError, match="only a pending request can be forwarded"):
            forward(request, manager, head, school)
        unchanged(request)

    def test_someone_neither_recipient_nor_approver(self, school, manager, request_to_head):
        deputy = school_staff(school, "Deputy Head Teacher")
        with pytest.raises(PermissionDenied):
            forward(request_to_head, manager, deputy, school)
        unchanged(request_to_head)

    def test_a_hop_from_the_group_may_not_forward(self, group, school, head, manager):
        request = make_request(group, school, recipients=[head])
        actor = Actor(user=head.user, site=school, acting_from=group)
        with pytest.raises(PermissionDenied):
            agreement_request_forward(request=request, to_profile_id=manager.pk, actor=actor)
        unchanged(request)
