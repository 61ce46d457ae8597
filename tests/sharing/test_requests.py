"""The life of a request: approve and decline (school side), remind and withdraw (group
side), every transition and refusal, and approvals racing a raise from two connections."""

import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.audit import Actor, system_actor
from accounts.models import AuditAction, AuditEvent
from institutions.models import GroupMembership
from matmis.db_roles import owner_role
from sharing.models import AccessLevel, Agreement, AgreementRequest, RequestReminder, RequestStatus
from sharing.services.agreements import agreement_raise
from sharing.services.decisions import (
    Decision,
    RequestStateError,
    agreement_request_approve,
    agreement_request_decline,
)
from sharing.services.requests import (
    agreement_requests_remind,
    agreement_requests_send,
    agreement_requests_withdraw,
)
from tests.factories import TrustFactory
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
def group():
    return TrustFactory(name="Oak Ridge Trust", slug="oak-ridge-trust")


@pytest.fixture
def school(group):
    return add_school(group, name="Acorn Primary")


@pytest.fixture
def head(school):
    return head_teacher(school)


@pytest.fixture
def admin(group):
    return group_admin_profile(group)


def approve(request, head):
    return agreement_request_approve(request=request, actor=actor_for(head, request.school))


def decline(request, head, reason=""):
    return agreement_request_decline(
        request=request, actor=actor_for(head, request.school), reason=reason
    )


@pytest.mark.django_db
class TestApprove:
    def test_sets_the_agreement_at_the_requested_level(self, group, school, head):
        request = make_request(group, school, level=L2)
        decision = approve(request, head)
        assert decision.decision == Decision.APPROVED
        assert decision.changed
        assert Agreement.objects.get(group=group, school=school).level == L2
        request.refresh_from_db()
        assert request.status == RequestStatus.APPROVED
        assert request.decided_by == head.user
        assert request.decided_at is not None

    def test_audited_at_the_school_and_at_the_group(self, group, school, head):
        approve(make_request(group, school, level=L2), head)
        sites = set(
            AuditEvent.objects.filter(action=AuditAction.REQUEST_APPROVED).values_list(
                "site_id", flat=True
            )
        )
        assert sites == {group.pk, school.pk}
        assert AuditEvent.objects.filter(action=AuditAction.AGREEMENT_RAISED).count() == 2

    def test_raises_an_approved_level(self, group, school, head):
        approve(make_request(group, school, level=L1), head)
        approve(make_request(group, school, level=L3), head)
        assert Agreement.objects.get().level == L3

    def test_a_repeat_is_harmless(self, group, school, head):
        request = make_request(group, school, level=L2)
        approve(request, head)
        agreement = Agreement.objects.get()
        again = approve(request, head)
        assert again.decision == Decision.ALREADY_APPROVED
        assert not again.changed
        assert Agreement.objects.get().approved_at == agreement.approved_at
        assert AuditEvent.objects.filter(action=AuditAction.REQUEST_APPROVED).count() == 2

    def test_a_request_not_above_the_agreement_is_superseded(self, group, school, head):
        request = make_request(group, school, level=L2)
        agreement_raise(group=group, school=school, level=L3, actor=system_actor())
        decision = approve(request, head)
        assert decision.decision == Decision.SUPERSEDED
        assert "already at “DfE Data, MIS Data & Group Actions”" in decision.message
        request.refresh_from_db()
        assert request.status == RequestStatus.SUPERSEDED
        assert Agreement.objects.get().level == L3  # never lowered

    @pytest.mark.parametrize(
        "status", [RequestStatus.DECLINED, RequestStatus.WITHDRAWN, RequestStatus.SUPERSEDED]
    )
    def test_a_closed_request_cannot_be_approved(self, group, school, head, status):
        request = make_request(group, school, status=status)
        with pytest.raises(RequestStateError, match="can no longer be approved"):
            approve(request, head)
        assert not Agreement.objects.exists()
        request.refresh_from_db()
        assert request.status == status

    def test_not_once_the_school_has_left_the_group(self, group, school, head):
        request = make_request(group, school)
        GroupMembership.objects.filter(school=school).update(left_on=datetime.date(2026, 1, 1))
        with pytest.raises(RequestStateError, match="no longer one of"):
            approve(request, head)
        assert not Agreement.objects.exists()

    def test_needs_the_approve_permission_at_the_school(self, group, school):
        request = make_request(group, school)
        teacher = school_staff(school, "Teacher")
        with pytest.raises(PermissionDenied):
            approve(request, teacher)
        deputy = school_staff(school, "Deputy Head Teacher")
        with pytest.raises(PermissionDenied):
            approve(request, deputy)
        request.refresh_from_db()
        assert request.status == RequestStatus.PENDING
        assert not Agreement.objects.exists()

    def test_another_schools_head_cannot_approve(self, group, school):
        request = make_request(group, school)
        other = add_school(group)
        other_head = head_teacher(other)
        with pytest.raises(PermissionDenied):
            agreement_request_approve(request=request, actor=actor_for(other_head, other))
        with pytest.raises(PermissionDenied):  # their user, claiming this school
            agreement_request_approve(request=request, actor=actor_for(other_head, school))
        assert not Agreement.objects.exists()

    def test_a_group_admin_cannot_approve_for_the_school(self, group, school, admin):
        request = make_request(group, school)
        with pytest.raises(PermissionDenied):
            agreement_request_approve(request=request, actor=actor_for(admin, group))
        with pytest.raises(PermissionDenied):  # nor from inside a hop
            agreement_request_approve(
                request=request,
                actor=Actor(user=admin.user, site=school, acting_from=group),
            )


@pytest.mark.django_db
class TestDecline:
    def test_declines_with_a_reason(self, group, school, head):
        request = make_request(group, school)
        decision = decline(request, head, reason="  Not   this term. ")
        assert decision.decision == Decision.DECLINED
        request.refresh_from_db()
        assert request.status == RequestStatus.DECLINED
        assert request.decline_reason == "Not this term."
        assert not Agreement.objects.exists()
        events = AuditEvent.objects.filter(action=AuditAction.REQUEST_DECLINED)
        assert {e.site_id for e in events} == {group.pk, school.pk}
        assert events[0].detail["reason"] == "Not this term."

    def test_a_repeat_is_harmless(self, group, school, head):
        request = make_request(group, school)
        decline(request, head)
        again = decline(request, head, reason="changed my mind")
        assert again.decision == Decision.ALREADY_DECLINED
        request.refresh_from_db()
        assert request.decline_reason == ""

    @pytest.mark.parametrize(
        "status", [RequestStatus.APPROVED, RequestStatus.WITHDRAWN, RequestStatus.SUPERSEDED]
    )
    def test_only_a_pending_request(self, group, school, head, status):
        request = make_request(group, school, status=status)
        with pytest.raises(RequestStateError, match="can no longer be declined"):
            decline(request, head)

    def test_approved_is_final_for_the_school(self, group, school, head):
        request = make_request(group, school, level=L2)
        approve(request, head)
        with pytest.raises(RequestStateError):
            decline(request, head)
        assert Agreement.objects.get().level == L2

    def test_needs_the_permission(self, group, school):
        request = make_request(group, school)
        with pytest.raises(PermissionDenied):
            decline(request, school_staff(school, "Data Manager"))

    def test_the_reason_has_a_limit(self, group, school, head):
        with pytest.raises(ValidationError):
            decline(make_request(group, school), head, reason="x" * 501)


@pytest.mark.django_db
class TestRemind:
    def test_records_a_reminder_and_queues_its_emails(self, group, school, head, admin):
        request = make_request(group, school, recipients=[head])
        outcome = agreement_requests_remind(
            group=group, requests=[request], actor=actor_for(admin, group)
        )
        reminder = RequestReminder.objects.get()
        assert reminder.request == request
        assert reminder.sent_by == admin.user
        assert queued_emails() == [("reminder", request.pk, reminder.pk)]
        assert outcome.summary == "Reminder sent to 1 school."
        assert AuditEvent.objects.filter(action=AuditAction.REQUEST_REMINDED).count() == 2

    def test_at_most_one_an_hour(self, group, school, head, admin):
        request = make_request(group, school, recipients=[head])
        actor = actor_for(admin, group)
        agreement_requests_remind(group=group, requests=[request], actor=actor)
        outcome = agreement_requests_remind(group=group, requests=[request], actor=actor)
        (row,) = outcome.rows
        assert not row.done
        assert row.reason == "a reminder was sent in the last hour"
        first = RequestReminder.objects.get()
        assert row.next_allowed_at == first.sent_at + datetime.timedelta(hours=1)
        assert outcome.summary == (
            "No reminders were sent. 1 school was skipped: a reminder was sent in the last hour."
        )
        assert RequestReminder.objects.count() == 1
        assert len(queued_emails()) == 1

    def test_again_after_the_interval(self, group, school, admin):
        request = make_request(group, school)
        actor = actor_for(admin, group)
        agreement_requests_remind(group=group, requests=[request], actor=actor)
        with owner_role():  # the application never rewrites a reminder (db_roles)
            RequestReminder.objects.update(sent_at=timezone.now() - datetime.timedelta(minutes=61))
        outcome = agreement_requests_remind(group=group, requests=[request], actor=actor)
        assert outcome.rows[0].done
        assert RequestReminder.objects.count() == 2

    def test_the_interval_can_be_chosen(self, group, school, admin):
        request = make_request(group, school)
        actor = actor_for(admin, group)
        agreement_requests_remind(group=group, requests=[request], actor=actor)
        outcome = agreement_requests_remind(
            group=group, requests=[request], actor=actor, min_interval=datetime.timedelta(0)
        )
        assert outcome.rows[0].done

    def test_only_pending_requests(self, group, school, head, admin):
        request = make_request(group, school, status=RequestStatus.DECLINED, recipients=[head])
        outcome = agreement_requests_remind(
            group=group, requests=[request], actor=actor_for(admin, group)
        )
        assert outcome.rows[0].reason == "the request was already declined"
        assert not RequestReminder.objects.exists()
        assert queued_emails() == []

    def test_never_another_groups_request(self, group, admin):
        other = TrustFactory()
        foreign = make_request(other, add_school(other))
        outcome = agreement_requests_remind(
            group=group, requests=[foreign, foreign.pk + 1000], actor=actor_for(admin, group)
        )
        assert [row.reason for row in outcome.rows] == ["not one of this group’s requests"]
        assert not RequestReminder.objects.exists()

    def test_needs_the_permission(self, group, school):
        request = make_request(group, school)
        viewer = school_staff(group)  # group staff without a role
        with pytest.raises(PermissionDenied):
            agreement_requests_remind(
                group=group, requests=[request], actor=actor_for(viewer, group)
            )


@pytest.mark.django_db
class TestWithdraw:
    def test_pending_to_withdrawn(self, group, school, admin):
        request = make_request(group, school)
        outcome = agreement_requests_withdraw(
            group=group, requests=[request], actor=actor_for(admin, group)
        )
        request.refresh_from_db()
        assert request.status == RequestStatus.WITHDRAWN
        assert request.decided_by == admin.user
        assert outcome.summary == "Request withdrawn for 1 school."
        events = AuditEvent.objects.filter(action=AuditAction.REQUEST_WITHDRAWN)
        assert {e.site_id for e in events} == {group.pk, school.pk}

    def test_a_repeat_is_harmless(self, group, school, admin):
        request = make_request(group, school)
        actor = actor_for(admin, group)
        agreement_requests_withdraw(group=group, requests=[request], actor=actor)
        outcome = agreement_requests_withdraw(group=group, requests=[request], actor=actor)
        assert outcome.rows[0].reason == "the request was already withdrawn"
        assert AuditEvent.objects.filter(action=AuditAction.REQUEST_WITHDRAWN).count() == 2

    def test_a_withdrawn_request_cannot_be_approved(self, group, school, head, admin):
        request = make_request(group, school)
        agreement_requests_withdraw(group=group, requests=[request], actor=actor_for(admin, group))
        with pytest.raises(RequestStateError):
            approve(request, head)

    def test_an_approved_request_is_not_withdrawn(self, group, school, head, admin):
        request = make_request(group, school)
        approve(request, head)
        outcome = agreement_requests_withdraw(
            group=group, requests=[request], actor=actor_for(admin, group)
        )
        assert outcome.rows[0].reason == "the request was already approved"
        request.refresh_from_db()
        assert request.status == RequestStatus.APPROVED

    def test_never_another_groups_request(self, group, admin):
        other = TrustFactory()
        foreign = make_request(other, add_school(other))
        agreement_requests_withdraw(group=group, requests=[foreign], actor=actor_for(admin, group))
        foreign.refresh_from_db()
        assert foreign.status == RequestStatus.PENDING

    def test_a_withdrawn_school_can_be_asked_again(self, group, school, admin):
        request = make_request(group, school)
        actor = actor_for(admin, group)
        agreement_requests_withdraw(group=group, requests=[request], actor=actor)
        outcome = agreement_requests_send(
            group=group,
            schools=[school],
            sender=admin,
            recipient_roles=["all"],
            level=L1,
            actor=actor,
        )
        assert outcome.summary == (
            "No requests were sent. 1 school was skipped: no Executive Head Teacher, Head "
            "Teacher, Deputy Head Teacher or Data Manager with an email address."
        )
        head_teacher(school)
        outcome = agreement_requests_send(
            group=group,
            schools=[school],
            sender=admin,
            recipient_roles=["all"],
            level=L1,
            actor=actor,
        )
        assert outcome.summary == "Request sent to 1 school."


# --- Concurrency: two connections ------------------------------------------------------------


def _in_thread(target, results, key):
    def run():
        try:
            results[key] = target()
        except Exception as error:  # reported by the test
            results[key] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
class TestConcurrency:
    def test_approve_racing_a_raise_never_lowers_nor_doubles(self):
        """The school approves level 2 while the group asks for level 3 (a raise) in
        another connection, many times over: the level only rises and there is never more
        than one pending request."""
        group = TrustFactory()
        admin = group_admin_profile(group)
        for _ in range(6):
            school = school_with_head(group)
            head = head_teacher(school)
            agreement_raise(group=group, school=school, level=L1, actor=system_actor())
            request = make_request(group, school, level=L2, sender=admin)
            barrier = threading.Barrier(2)
            results = {}

            def approving(request=request, head=head, barrier=barrier):
                barrier.wait()
                return approve(request, head)

            def raising(school=school, barrier=barrier):
                barrier.wait()
                return agreement_requests_send(
                    group=group,
                    schools=[school],
                    sender=admin,
                    recipient_roles=["Head Teacher"],
                    level=L3,
                    actor=actor_for(admin, group),
                )

            threads = [
                _in_thread(approving, results, "approve"),
                _in_thread(raising, results, "raise"),
            ]
            for thread in threads:
                thread.join(10)
            assert not isinstance(results["approve"], Exception), results["approve"]
            assert not isinstance(results["raise"], Exception), results["raise"]
            assert Agreement.objects.get(group=group, school=school).level == L2
            pending = AgreementRequest.objects.filter(
                group=group, school=school, status=RequestStatus.PENDING
            )
            assert pending.count() <= 1
            row = results["raise"].rows[0]
            if row.done:  # the raise came after the approval committed
                assert pending.get().level == L3
            else:
                assert row.reason == "a request is already pending"

    def test_a_raise_waits_for_an_approval_in_progress(self):
        """Deterministic: the approval holds its transaction open; the raise sent meanwhile
        sees the request still pending and is skipped, and the level is the approved one."""
        group = TrustFactory()
        admin = group_admin_profile(group)
        school = school_with_head(group)
        head = head_teacher(school)
        request = make_request(group, school, level=L2, sender=admin)
        approved, release = threading.Event(), threading.Event()
        results = {}

        def approving():
            with transaction.atomic():
                decision = approve(request, head)
                approved.set()
                release.wait(5)
            return decision

        def raising():
            approved.wait(5)
            return agreement_requests_send(
                group=group,
                schools=[school],
                sender=admin,
                recipient_roles=["Head Teacher"],
                level=L2,
                actor=actor_for(admin, group),
            )

        first = _in_thread(approving, results, "approve")
        second = _in_thread(raising, results, "raise")
        approved.wait(5)
        second.join(0.5)  # still there: blocked or done, never a second pending request
        release.set()
        first.join(10)
        second.join(10)
        assert results["approve"].decision == Decision.APPROVED
        assert results["raise"].rows[0].reason in {
            "a request is already pending",
            "already approved at this level or higher",
        }
        assert Agreement.objects.get().level == L2
        assert not AgreementRequest.objects.filter(status=RequestStatus.PENDING).exists()

    def test_two_approvals_of_the_same_request_approve_once(self):
        group = TrustFactory()
        school = school_with_head(group)
        head = head_teacher(school)
        request = make_request(group, school, level=L3)
        barrier = threading.Barrier(2)
        results = {}

        def approving():
            barrier.wait()
            return approve(request, head)

        threads = [_in_thread(approving, results, n) for n in (1, 2)]
        for thread in threads:
            thread.join(10)
        decisions = sorted(results[n].decision for n in (1, 2))
        assert decisions == [Decision.ALREADY_APPROVED, Decision.APPROVED]
        assert AuditEvent.objects.filter(action=AuditAction.AGREEMENT_RAISED).count() == 2
