"""Receipts of a school's decision on a data sharing request: who is told (the sender, the
school's approvers, the group's Trust Administrators; each once, nobody else), what the
email says, and that queueing them costs the same queries for 1 or 10 recipients (sent
here in process, after commit, as without a broker)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.audit import Actor, system_actor
from accounts.models import AuditAction, AuditEvent, RoleGrant, StaffProfile
from accounts.permissions import DATA_SHARING_REQUEST, TRUST_ADMINISTRATOR
from accounts.staff.services import role_assign, roles_ensure_defaults
from matmis.db_roles import owner_role
from notifications.builders import builder_for
from notifications.models import DeliveryStatus, EmailDelivery
from notifications.services import deliveries_send
from sharing.models import AccessLevel, AgreementRequest
from sharing.receipts import (
    DECISION_RECEIPT_EMAIL,
    RECEIPT_KIND,
    decision_receipt_emails,
    receipt_dedupe_key,
    receipt_topic,
)
from sharing.services.agreements import agreement_raise
from sharing.services.decisions import agreement_request_approve, agreement_request_decline
from tests.factories import UserFactory
from tests.institutions.factories import add_school
from tests.notifications.factories import make_pair, make_request, school_staff

pytestmark = pytest.mark.django_db


def trust_administrator(trust, **user_fields):
    user = UserFactory(**user_fields)
    profile = StaffProfile.objects.create(site=trust, user=user, job_title="Trust admin")
    role_assign(profile=profile, role=roles_ensure_defaults(site=trust)[TRUST_ADMINISTRATOR])
    return user


@pytest.fixture
def pair():
    return make_pair()


@pytest.fixture
def admin(pair):
    return trust_administrator(pair.trust, full_name="Alex Grant", email="alex@oak-ridge.test")


def head_actor(pair):
    return Actor(user=pair.head, site=pair.school, ip_address="127.0.0.1")


def decide(capture, act):
    with capture(execute=True):
        return act()


def by_address(mailoutbox):
    return {message.to[0]: message for message in mailoutbox}


def test_the_builder_is_registered_when_the_app_is_ready():
    assert builder_for(DECISION_RECEIPT_EMAIL) is decision_receipt_emails


@pytest.mark.parametrize("decision", ["approve", "decline"])
def test_the_sender_the_schools_approvers_and_the_trust_administrators_each_get_one(
    pair, admin, decision, mailoutbox, django_capture_on_commit_callbacks
):
    second_head = school_staff(
        pair.school, "Head Teacher", full_name="Hana Lee", email="hana@st-marys.test"
    )
    request = make_request(pair)
    if decision == "approve":
        act = lambda: agreement_request_approve(request=request, actor=head_actor(pair))  # noqa: E731
    else:
        act = lambda: agreement_request_decline(  # noqa: E731
            request=request, actor=head_actor(pair), reason="Not this term"
        )
    decide(django_capture_on_commit_callbacks, act)

    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        [pair.sender.user.email, pair.head.email, second_head.email, admin.email]
    )
    deliveries = EmailDelivery.objects.filter(topic=receipt_topic(request.pk))
    assert {d.kind for d in deliveries} == {RECEIPT_KIND}
    assert {d.site_id for d in deliveries} == {pair.school.pk}
    verb = "approved" if decision == "approve" else "declined"
    assert {m.subject for m in mailoutbox} == {
        f"St Mary’s {verb} Oak Ridge Trust’s data sharing request: DfE Data & MIS Data"
    }
    if decision == "decline":
        for message in mailoutbox:
            assert "The reason given: “Not this term”" in message.body
            assert "Not this term" in message.alternatives[0][0]


def test_nobody_outside_the_school_and_group_gets_one(
    pair, admin, mailoutbox, django_capture_on_commit_callbacks
):
    other = make_pair(
        trust_name="Elm Trust", trust_slug="elm", school_name="Elm Primary", school_slug="elm-p"
    )
    other_admin = trust_administrator(other.trust, email="admin@elm.test")
    left = trust_administrator(pair.trust, email="left@oak-ridge.test")
    StaffProfile.objects.filter(user=left).update(is_active=False)
    request = make_request(pair)
    decide(
        django_capture_on_commit_callbacks,
        lambda: agreement_request_approve(request=request, actor=head_actor(pair)),
    )

    sent_to = {m.to[0] for m in mailoutbox}
    # The data manager and teacher at the school lack Data Sharing Request: Administer;
    # the other trust's administrator and head teacher are elsewhere; left has left.
    for outsider in (pair.data_manager, pair.teacher, other_admin, other.head, left):
        assert outsider.email not in sent_to
    assert sent_to == {pair.sender.user.email, pair.head.email, admin.email}


def test_a_person_holding_two_of_the_roles_gets_one_and_a_repeat_sends_none(
    pair, mailoutbox, django_capture_on_commit_callbacks
):
    # The sender is also a Trust Administrator, and the head is one as well.
    role_assign(
        profile=pair.sender, role=roles_ensure_defaults(site=pair.trust)[TRUST_ADMINISTRATOR]
    )
    head_at_trust = StaffProfile.objects.create(site=pair.trust, user=pair.head)
    role_assign(
        profile=head_at_trust, role=roles_ensure_defaults(site=pair.trust)[TRUST_ADMINISTRATOR]
    )
    request = make_request(pair)
    decide(
        django_capture_on_commit_callbacks,
        lambda: agreement_request_decline(request=request, actor=head_actor(pair)),
    )
    assert sorted(m.to[0] for m in mailoutbox) == sorted([pair.sender.user.email, pair.head.email])

    decide(
        django_capture_on_commit_callbacks,
        lambda: agreement_request_decline(request=request, actor=head_actor(pair)),
    )
    assert len(mailoutbox) == 2  # already declined: no new receipts
    keys = set(EmailDelivery.objects.values_list("dedupe_key", flat=True))
    assert keys == {
        receipt_dedupe_key(request_id=request.pk, user_id=pair.sender.user.pk),
        receipt_dedupe_key(request_id=request.pk, user_id=pair.head.pk),
    }
    assert AuditEvent.objects.filter(action=AuditAction.REQUEST_DECLINED).count() == 2


def test_the_receipt_names_school_level_decider_role_and_when(
    pair, admin, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.TIME_ZONE = "Europe/London"
    request = make_request(pair, level=AccessLevel.DFE_DATA)
    decide(
        django_capture_on_commit_callbacks,
        lambda: agreement_request_approve(request=request, actor=head_actor(pair)),
    )
    request.refresh_from_db()
    when = f"{timezone.localtime(request.decided_at):%-d %B %Y at %H:%M}"
    message = by_address(mailoutbox)[admin.email]
    assert message.subject == "St Mary’s approved Oak Ridge Trust’s data sharing request: DfE Data"
    body = message.body
    assert "Dear Alex Grant," in body
    assert "St Mary’s approved the request from Oak Ridge Trust" in body
    assert "“DfE Data”" in body
    assert f"Decided by Helen Archer, Head Teacher, at St Mary’s, on {when}." in body
    assert "The request was sent by Priya Shah" in body
    # The group's people cannot open the school's page: theirs links to the group's own.
    assert (
        "Oak Ridge Trust’s data sharing agreements:\nhttp://oak-ridge.localhost/data-sharing/"
        in body
    )
    assert "st-marys.localhost" not in body
    head_body = by_address(mailoutbox)[pair.head.email].body
    link = f"http://st-marys.localhost/data/data-sharing/requests/{request.pk}/"
    assert f"Its page at St Mary’s:\n{link}" in head_body
    html = message.alternatives[0][0]
    assert "Helen Archer, Head Teacher" in html and when in html
    assert "St Mary’s approved Oak Ridge Trust’s data sharing request" in html


def test_the_decisions_queries_are_the_same_for_1_and_10_recipients(pair):
    def approve_count(request):
        with CaptureQueriesContext(connection) as queries:
            agreement_request_approve(request=request, actor=head_actor(pair))
        return len(queries), EmailDelivery.objects.filter(topic=receipt_topic(request.pk)).count()

    first = make_request(pair)
    StaffProfile.objects.filter(pk=pair.sender.pk).update(is_active=False)
    few = approve_count(first)  # the head alone: the sender has left
    StaffProfile.objects.filter(pk=pair.sender.pk).update(is_active=True)
    for number in range(8):
        trust_administrator(pair.trust, email=f"admin{number}@oak-ridge.test")
    other = make_pair(trust_slug="oak-2", school_slug="st-marys-2")
    for number in range(8):
        trust_administrator(other.trust, email=f"admin{number}@oak-2.test")
    # Same trust, a new school with its own head: 1 sender + 1 head + 8 admins.
    school = add_school(pair.trust, name="Ash School")
    head = school_staff(school, "Head Teacher", email="head@ash.test")
    second = AgreementRequest.objects.create(
        group=pair.trust, school=school, level=2, sender=pair.sender
    )
    with CaptureQueriesContext(connection) as queries:
        agreement_request_approve(
            request=second, actor=Actor(user=head, site=school, ip_address="127.0.0.1")
        )
    many = (len(queries), EmailDelivery.objects.filter(topic=receipt_topic(second.pk)).count())
    assert few[1] == 1 and many[1] == 10
    assert many[0] == few[0]


def test_an_approval_the_agreement_already_covered_says_nothing_else_changed(
    pair, mailoutbox, django_capture_on_commit_callbacks
):
    request = make_request(pair, level=AccessLevel.DFE_DATA)
    agreement_raise(
        group=pair.trust,
        school=pair.school,
        level=AccessLevel.DFE_AND_MIS_DATA,
        actor=system_actor(),
    )
    decide(
        django_capture_on_commit_callbacks,
        lambda: agreement_request_approve(request=request, actor=head_actor(pair)),
    )
    assert {m.to[0] for m in mailoutbox} == {pair.sender.user.email, pair.head.email}
    for message in mailoutbox:
        assert message.subject.startswith("St Mary’s approved Oak Ridge Trust’s")
        assert "was already at or above this level, so nothing else changed" in message.body


def test_a_receipt_whose_request_is_gone_fails_saying_so(
    pair, mailoutbox, django_capture_on_commit_callbacks
):
    request = make_request(pair)
    agreement_request_decline(request=request, actor=head_actor(pair))  # not committed yet
    delivery_ids = list(EmailDelivery.objects.values_list("pk", flat=True))
    with owner_role():  # the application never deletes a request (db_roles)
        request.delete()
    assert deliveries_send(site_id=pair.school.pk, delivery_ids=delivery_ids) == 0
    assert not mailoutbox
    assert {d.status for d in EmailDelivery.objects.all()} == {DeliveryStatus.FAILED}


def test_deciding_on_the_schools_page_sends_the_receipts(
    pair, admin, site_client, mailoutbox, django_capture_on_commit_callbacks
):
    request = make_request(pair)
    client = site_client(pair.school, pair.head)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/data/data-sharing/requests/{request.pk}/decline/", {"reason": "Not yet."}
        )
    assert response.status_code == 302
    assert {m.to[0] for m in mailoutbox} == {pair.sender.user.email, pair.head.email, admin.email}
    assert all("The reason given: “Not yet.”" in m.body for m in mailoutbox)


def test_a_refused_decision_sends_nothing(pair, admin, site_client, mailoutbox):
    request = make_request(pair)
    with pytest.raises(ValidationError):
        agreement_request_decline(request=request, actor=head_actor(pair), reason="x" * 501)
    teacher = Actor(user=pair.teacher, site=pair.school)
    with pytest.raises(PermissionDenied):
        agreement_request_approve(request=request, actor=teacher)
    assert not EmailDelivery.objects.exists()
    assert not mailoutbox


def test_a_decision_made_in_a_hop_names_the_group_role_that_allowed_it(
    pair, admin, mailoutbox, django_capture_on_commit_callbacks
):
    role = roles_ensure_defaults(site=pair.trust)[TRUST_ADMINISTRATOR]
    RoleGrant.objects.create(
        site=pair.trust, role=role, code=DATA_SHARING_REQUEST, access=2, in_school=True
    )
    request = make_request(pair)
    hop = Actor(user=admin, site=pair.school, acting_from=pair.trust)
    decide(
        django_capture_on_commit_callbacks,
        lambda: agreement_request_approve(request=request, actor=hop),
    )
    assert "Decided by Alex Grant, Trust Administrator, at St Mary’s" in mailoutbox[0].body
    params = EmailDelivery.objects.values_list("params__decider_role", flat=True)
    assert set(params) == {TRUST_ADMINISTRATOR}
