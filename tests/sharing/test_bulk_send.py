"""Sending requests to many schools at once: who receives them, which schools are skipped
and why, raising a level, the query count, and two sends racing for the same school."""

import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.audit import system_actor
from accounts.models import AuditAction, AuditEvent, RoleAssignment
from institutions.models import GroupMembership
from notifications.models import DeliveryStatus, EmailDelivery
from sharing.emails import EmailKind, request_topic
from sharing.models import (
    AccessLevel,
    Agreement,
    AgreementRequest,
    RequestRecipient,
    RequestStatus,
)
from sharing.selectors import recipients_preview
from sharing.services.agreements import agreement_raise
from sharing.services.outcomes import BulkOutcome
from sharing.services.requests import agreement_requests_send
from tests.factories import StaffProfileFactory, TrustFactory, UserFactory
from tests.institutions.factories import add_school

from .factories import (
    actor_for,
    group_admin_profile,
    head_teacher,
    make_request,
    queued_emails,
    school_staff,
    school_with_head,
)

L1, L2, L3 = (
    AccessLevel.DFE_DATA,
    AccessLevel.DFE_AND_MIS_DATA,
    AccessLevel.DFE_MIS_AND_GROUP_ACTIONS,
)


@pytest.fixture
def group(db):
    return TrustFactory(name="Oak Ridge Trust", slug="oak-ridge-trust")


@pytest.fixture
def admin(group):
    return group_admin_profile(group)


def send(group, schools, admin, *, roles=("Head Teacher",), level=L1, sender=None):
    return agreement_requests_send(
        group=group,
        schools=schools,
        sender=sender or admin,
        recipient_roles=list(roles),
        level=level,
        actor=actor_for(admin, group),
    )


@pytest.mark.django_db
class TestSend:
    def test_one_pending_request_per_school_with_its_recipients(self, group, admin):
        school = add_school(group, name="Acorn Primary")
        head = head_teacher(school, email="head@acorn.test")
        outcome = send(group, [school], admin, level=L2)
        request = AgreementRequest.objects.get()
        assert (request.group, request.school, request.level) == (group, school, L2)
        assert request.status == RequestStatus.PENDING
        assert request.sender == admin
        recipient = RequestRecipient.objects.get()
        assert (recipient.user, recipient.email, recipient.role_name) == (
            head.user,
            "head@acorn.test",
            "Head Teacher",
        )
        assert recipient.school == school
        assert outcome.rows[0].recipients == ("head@acorn.test",)
        assert outcome.rows[0].request_id == request.pk
        assert queued_emails() == [("request", request.pk, None)]
        assert outcome.summary == "Request sent to 1 school."

    def test_audited_at_the_group_and_each_school(self, group, admin):
        schools = [school_with_head(group) for _ in range(2)]
        send(group, schools, admin)
        events = AuditEvent.objects.filter(action=AuditAction.REQUEST_SENT)
        assert sorted(e.site_id for e in events) == sorted(
            [group.pk, group.pk, schools[0].pk, schools[1].pk]
        )
        assert all(e.actor == admin.user for e in events)

    def test_the_rows_written_in_one_statement_are_those_the_service_always_wrote(
        self, group, admin
    ):
        """The set-based writes: each audit event's and each queued email's fields."""
        school = add_school(group, name="Acorn Primary")
        head_teacher(school, email="head@acorn.test")
        school_staff(school, "Data Manager", email="dm@acorn.test")
        send(group, [school], admin, roles=["all"], level=L2)
        request = AgreementRequest.objects.get()
        recipients = {r.email: r for r in RequestRecipient.objects.filter(request=request)}
        assert set(recipients) == {"head@acorn.test", "dm@acorn.test"}
        events = AuditEvent.objects.filter(action=AuditAction.REQUEST_SENT).order_by("pk")
        detail = {
            "request": request.pk,
            "level": int(L2),
            "sender": admin.user.email,
            "recipients": ["head@acorn.test", "dm@acorn.test"],
            "named": [],
        }
        assert [(e.site_id, e.target, e.detail) for e in events] == [
            (group.pk, f"Acorn Primary: {L2.label}", detail),
            (school.pk, f"Oak Ridge Trust: {L2.label}", detail),
        ]
        assert {(e.actor_id, e.actor_email, e.acting_from_id) for e in events} == {
            (admin.user.pk, admin.user.email, None)
        }
        deliveries = EmailDelivery.objects.order_by("address")
        assert [
            (d.site_id, d.address, d.kind, d.topic, d.dedupe_key, d.params, d.status)
            for d in deliveries
        ] == [
            (
                group.pk,
                email,
                EmailKind.REQUEST,
                request_topic(request.pk),
                f"{request.pk}:{recipients[email].pk}:request:0",
                {
                    "request_id": request.pk,
                    "recipient_id": recipients[email].pk,
                    "reminder_id": None,
                },
                DeliveryStatus.QUEUED,
            )
            for email in ("dm@acorn.test", "head@acorn.test")
        ]
        assert {d.builder for d in deliveries} == {"sharing.agreement-request"}

    def test_the_summary_names_the_skipped(self, group, admin):
        sent = [school_with_head(group) for _ in range(3)]
        nobody = [add_school(group) for _ in range(2)]
        outcome = send(group, sent + nobody, admin)
        assert outcome.summary == (
            "Requests sent to 3 schools. 2 schools were skipped: no Head Teacher with an "
            "email address."
        )
        assert {row.school_id for row in outcome.skipped} == {s.pk for s in nobody}

    def test_several_reasons_are_counted(self, group, admin):
        pending = school_with_head(group)
        make_request(group, pending)
        nobody = add_school(group)
        outcome = send(group, [pending, nobody, school_with_head(group)], admin)
        assert outcome.summary == (
            "Request sent to 1 school. 2 schools were skipped: a request is already pending "
            "(1); no Head Teacher with an email address (1)."
        )

    def test_the_outcome_survives_the_session(self, group, admin):
        outcome = send(group, [school_with_head(group), add_school(group)], admin)
        assert BulkOutcome.from_dict(outcome.as_dict()) == outcome


@pytest.mark.django_db
class TestRecipients:
    def test_by_role(self, group, admin):
        school = add_school(group)
        head = head_teacher(school)
        deputy = school_staff(school, "Deputy Head Teacher")
        manager = school_staff(school, "Data Manager")
        school_staff(school, "Teacher")
        send(group, [school], admin, roles=["Deputy Head Teacher", "Data Manager"])
        assert set(RequestRecipient.objects.values_list("user_id", flat=True)) == {
            deputy.user_id,
            manager.user_id,
        }
        assert head.user_id not in RequestRecipient.objects.values_list("user_id", flat=True)

    def test_all_means_the_four_roles(self, group, admin):
        school = add_school(group)
        people = [
            school_staff(school, role)
            for role in (
                "Executive Head Teacher",
                "Head Teacher",
                "Deputy Head Teacher",
                "Data Manager",
            )
        ]
        school_staff(school, "Teacher")
        school_staff(school, "Office Administrator")
        send(group, [school], admin, roles=["all"])
        assert set(RequestRecipient.objects.values_list("user_id", flat=True)) == {
            p.user_id for p in people
        }

    def test_role_names_match_whatever_the_case(self, group, admin):
        school = add_school(group)
        person = school_staff(school, "head teacher")
        send(group, [school], admin)
        assert RequestRecipient.objects.get().user == person.user

    def test_a_person_with_two_roles_is_sent_one_email(self, group, admin):
        school = add_school(group)
        head = head_teacher(school)
        from .factories import school_role

        RoleAssignment.objects.create(
            site=school, profile=head, role=school_role(school, "Data Manager")
        )
        send(group, [school], admin, roles=["all"])
        assert RequestRecipient.objects.get().role_name == "Head Teacher"

    def test_not_without_an_email_inactive_or_out_of_dates(self, group, admin):
        school = add_school(group)
        no_email = head_teacher(school)
        type(no_email.user).objects.filter(pk=no_email.user_id).update(email="")
        inactive = head_teacher(school)
        inactive.is_active = False
        inactive.save()
        left = head_teacher(school)
        left.user.is_active = False
        left.user.save()
        ended = head_teacher(school)
        RoleAssignment.objects.filter(profile=ended).update(
            ends_on=datetime.date.today() - datetime.timedelta(days=1)
        )
        future = head_teacher(school)
        RoleAssignment.objects.filter(profile=future).update(
            starts_on=datetime.date.today() + datetime.timedelta(days=1)
        )
        outcome = send(group, [school], admin)
        assert outcome.rows[0].reason == "no Head Teacher with an email address"
        assert not AgreementRequest.objects.exists()

    def test_a_role_at_another_site_does_not_count(self, group, admin):
        school = add_school(group)
        elsewhere = add_school(group)
        from .factories import school_role

        profile = StaffProfileFactory(site=school, user=UserFactory())
        # the profile is at this school, but the role belongs to another school
        RoleAssignment.objects.create(
            site=school, profile=profile, role=school_role(elsewhere, "Head Teacher")
        )
        outcome = send(group, [school], admin)
        assert outcome.rows[0].reason == "no Head Teacher with an email address"

    def test_the_preview_matches_the_send(self, group, admin):
        with_head = school_with_head(group)
        without = add_school(group)
        preview = recipients_preview(
            group=group, schools=[with_head, without], roles=["Head Teacher"], level=L1
        )
        assert [row.school for row in preview.sending] == [with_head]
        assert [(row.school, row.reason) for row in preview.skipped] == [
            (without, "no Head Teacher with an email address")
        ]
        assert [row.school for row in preview.nobody_eligible] == [without]
        outcome = send(group, [with_head, without], admin)
        assert [row.school_id for row in outcome.done] == [with_head.pk]


@pytest.mark.django_db
class TestRefusals:
    def test_a_second_pending_request_is_refused(self, group, admin):
        school = school_with_head(group)
        send(group, [school], admin)
        outcome = send(group, [school], admin, level=L3)
        assert outcome.rows[0].reason == "a request is already pending"
        assert AgreementRequest.objects.count() == 1

    @pytest.mark.parametrize("level", [L1, L2])
    def test_at_or_below_the_approved_level_is_refused(self, group, admin, level):
        school = school_with_head(group)
        agreement_raise(group=group, school=school, level=L2, actor=system_actor())
        outcome = send(group, [school], admin, level=level)
        assert outcome.rows[0].reason == "already approved at this level or higher"
        assert not AgreementRequest.objects.exists()

    def test_a_higher_level_raises(self, group, admin):
        school = school_with_head(group)
        agreement_raise(group=group, school=school, level=L1, actor=system_actor())
        outcome = send(group, [school], admin, level=L3)
        assert outcome.rows[0].done
        assert AgreementRequest.objects.get().level == L3
        assert Agreement.objects.get().level == L1  # until the school approves

    def test_another_groups_school_is_skipped(self, group, admin):
        other = TrustFactory()
        foreign = school_with_head(other)
        outcome = send(group, [foreign], admin)
        assert outcome.rows[0].reason == "not one of this group’s schools"
        assert not AgreementRequest.objects.exists()

    def test_a_school_that_left_is_skipped(self, group, admin):
        school = school_with_head(group)
        GroupMembership.objects.filter(school=school).update(left_on=datetime.date(2026, 1, 1))
        outcome = send(group, [school], admin)
        assert outcome.rows[0].reason == "not one of this group’s schools"

    @pytest.mark.parametrize("level", [0, 4, "x", None])
    def test_a_level_that_does_not_exist(self, group, admin, level):
        with pytest.raises(ValidationError) as error:
            send(group, [school_with_head(group)], admin, level=level)
        assert "level" in error.value.message_dict

    @pytest.mark.parametrize("roles", [[], ["Teacher"], ["Head Teacher", "Caretaker"]])
    def test_roles_that_requests_do_not_go_to(self, group, admin, roles):
        with pytest.raises(ValidationError) as error:
            send(group, [school_with_head(group)], admin, roles=roles)
        assert "recipient_roles" in error.value.message_dict

    def test_the_sender_must_be_the_groups_staff(self, group, admin):
        other = TrustFactory()
        with pytest.raises(ValidationError, match="member of this group"):
            send(group, [school_with_head(group)], admin, sender=group_admin_profile(other))
        school = school_with_head(group)
        with pytest.raises(ValidationError, match="member of this group"):
            send(group, [school], admin, sender=head_teacher(school))
        assert not AgreementRequest.objects.exists()

    def test_the_sender_needs_an_email_address(self, group, admin):
        sender = group_admin_profile(group)
        type(sender.user).objects.filter(pk=sender.user_id).update(email="")
        sender.user.email = ""
        with pytest.raises(ValidationError, match="email address"):
            send(group, [school_with_head(group)], admin, sender=sender)

    def test_needs_the_permission(self, group, admin):
        viewer = StaffProfileFactory(site=group)
        with pytest.raises(PermissionDenied):
            agreement_requests_send(
                group=group,
                schools=[school_with_head(group)],
                sender=admin,
                recipient_roles=["Head Teacher"],
                level=L1,
                actor=actor_for(viewer, group),
            )
        assert not AgreementRequest.objects.exists()

    def test_only_a_group_sends(self, group, admin):
        school = school_with_head(group)
        with pytest.raises(ValidationError):
            agreement_requests_send(
                group=school,
                schools=[school],
                sender=admin,
                recipient_roles=["all"],
                level=L1,
                actor=system_actor(),
            )


def build(size):
    group = TrustFactory()
    admin = group_admin_profile(group)
    schools = []
    for n in range(size):
        school = add_school(group)
        head_teacher(school)
        if n % 2:
            school_staff(school, "Data Manager")
        if n % 3 == 0:
            make_request(group, school, sender=admin)  # skipped: pending
        if n % 5 == 0:
            agreement_raise(group=group, school=school, level=L2, actor=system_actor())
        schools.append(school)
    schools.append(add_school(group))  # nobody to send to
    return group, admin, schools


@pytest.mark.django_db
def test_constant_queries_for_3_and_30_schools():
    """The send with its emails queued (delivery rows; the sending itself runs after
    commit, in the notifications app's task)."""
    measured = []
    for size in (3, 30):
        group, admin, schools = build(size)
        with CaptureQueriesContext(connection) as queries:
            outcome = send(group, schools, admin, roles=["all"], level=L3)
        assert len(outcome.done) > 0
        measured.append(len(queries))
    assert measured[0] == measured[1], measured
    # The checks and reads, then one statement writing the requests, their recipients, the
    # audit events and the queued emails (set-based: it was four INSERTs, 11 queries).
    assert measured[0] == 8, measured


@pytest.mark.django_db
def test_the_preview_costs_constant_queries():
    measured = []
    for size in (3, 30):
        group, _, schools = build(size)
        with CaptureQueriesContext(connection) as queries:
            recipients_preview(group=group, schools=schools, roles=["all"], level=L2)
        measured.append(len(queries))
    assert measured == [4, 4]


@pytest.mark.django_db(transaction=True)
class TestRacingSends:
    def test_two_sends_for_the_same_school_make_one_request(self):
        group = TrustFactory()
        admin = group_admin_profile(group)
        for _ in range(6):
            schools = [school_with_head(group) for _ in range(3)]
            barrier = threading.Barrier(2)
            results = {}

            def sending(key, schools=schools, barrier=barrier, results=results):
                try:
                    barrier.wait()
                    results[key] = send(group, schools, admin, level=L2)
                except Exception as error:
                    results[key] = error
                finally:
                    connection.close()

            threads = [threading.Thread(target=sending, args=(n,)) for n in (1, 2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
            for n in (1, 2):
                assert not isinstance(results[n], Exception), results[n]
            for school in schools:
                assert (
                    AgreementRequest.objects.filter(
                        group=group, school=school, status=RequestStatus.PENDING
                    ).count()
                    == 1
                )
            done = len(results[1].done) + len(results[2].done)
            assert done == 3
            for outcome in (results[1], results[2]):
                assert all(r.reason == "a request is already pending" for r in outcome.skipped)
            # each request's recipients were written once, by the send that made it
            assert RequestRecipient.objects.filter(school__in=schools).count() == 3

    def test_a_send_waits_for_a_concurrent_one_and_skips(self):
        """Deterministic: the first send holds its transaction; the second one's insert
        waits on the unique index and then reports the school as pending."""
        from django.db import transaction

        group = TrustFactory()
        admin = group_admin_profile(group)
        school = school_with_head(group)
        sent, release = threading.Event(), threading.Event()
        results = {}

        def first():
            try:
                with transaction.atomic():
                    results[1] = send(group, [school], admin)
                    sent.set()
                    release.wait(5)
            finally:
                connection.close()

        def second():
            try:
                sent.wait(5)
                results[2] = send(group, [school], admin, level=L3)
            finally:
                connection.close()

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        threads[1].join(0.5)
        assert threads[1].is_alive()  # waiting for the first transaction
        release.set()
        for thread in threads:
            thread.join(10)
        assert results[1].rows[0].done
        assert results[2].rows[0].reason == "a request is already pending"
        assert AgreementRequest.objects.get().level == L1


@pytest.mark.django_db
def test_emails_are_queued_for_each_recipient(django_capture_on_commit_callbacks):
    group = TrustFactory()
    admin = group_admin_profile(group)
    school = add_school(group)
    head = head_teacher(school)
    manager = school_staff(school, "Data Manager")
    with django_capture_on_commit_callbacks() as callbacks:
        send(group, [school], admin, roles=["Head Teacher", "Data Manager"])
    request = AgreementRequest.objects.get()
    deliveries = EmailDelivery.objects.all()
    recipients = RequestRecipient.objects.in_bulk([d.params["recipient_id"] for d in deliveries])
    assert {r.user_id for r in recipients.values()} == {head.user_id, manager.user_id}
    assert {d.address for d in deliveries} == {head.user.email, manager.user.email}
    assert {(d.kind, d.site_id, d.topic) for d in deliveries} == {
        (EmailKind.REQUEST, group.pk, request_topic(request.pk))
    }
    assert len(callbacks) == 1  # one task for the request, after commit
    assert {d.status for d in EmailDelivery.objects.all()} <= {
        DeliveryStatus.QUEUED,
        DeliveryStatus.SENT,
    }
