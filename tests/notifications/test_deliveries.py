"""Queueing and sending the request and reminder emails, without a broker (tasks run in
process, after commit, through the same code a worker runs)."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notifications.models import DeliveryKind, DeliveryStatus, EmailDelivery
from notifications.services import (
    CLAIM_LEASE,
    MAX_ATTEMPTS,
    STALE_AFTER,
    delivery_send,
    request_emails_enqueue,
    request_emails_enqueue_many,
)
from notifications.tasks import deliveries_retry_due, send_deliveries, send_request_emails
from tests.notifications.factories import make_pair, make_reminder, make_request

pytestmark = pytest.mark.django_db


def enqueue(request, *, kind=DeliveryKind.REQUEST, reminder=None, capture):
    with capture(execute=True):
        request_emails_enqueue(request=request, kind=kind, reminder=reminder)


def test_one_delivery_per_recipient_for_the_group_and_one_email_each(
    pair, mailoutbox, django_capture_on_commit_callbacks
):
    request = make_request(pair)
    enqueue(request, capture=django_capture_on_commit_callbacks)

    deliveries = EmailDelivery.objects.filter(request=request).order_by("pk")
    assert [d.status for d in deliveries] == [DeliveryStatus.SENT] * 2
    assert {d.site_id for d in deliveries} == {pair.trust.pk}
    assert [d.dedupe_key for d in deliveries] == [
        f"{request.id}:{r.id}:request:0" for r in request.recipients.order_by("pk")
    ]
    assert all(d.attempts == 1 and d.sent_at and not d.last_error for d in deliveries)
    assert sorted(m.to[0] for m in mailoutbox) == ["data@st-marys.test", "head@st-marys.test"]


def test_queueing_the_same_emails_again_adds_nothing_and_sends_nothing(
    pair, mailoutbox, django_capture_on_commit_callbacks
):
    request = make_request(pair)
    enqueue(request, capture=django_capture_on_commit_callbacks)
    enqueue(request, capture=django_capture_on_commit_callbacks)
    assert EmailDelivery.objects.filter(request=request).count() == 2
    assert len(mailoutbox) == 2


def test_nothing_is_queued_or_sent_when_the_transaction_rolls_back(
    pair, mailoutbox, django_capture_on_commit_callbacks
):
    request = make_request(pair)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        request_emails_enqueue(request=request, kind=DeliveryKind.REQUEST)
        raise RuntimeError("rolled back")
    assert callbacks == []
    assert not EmailDelivery.objects.exists()
    assert mailoutbox == []


def test_the_email_names_the_group_sender_and_level_and_links_to_the_request(
    pair, mailoutbox, django_capture_on_commit_callbacks
):
    request = make_request(pair, recipients=((pair.head, "Head Teacher"),))
    enqueue(request, capture=django_capture_on_commit_callbacks)

    [message] = mailoutbox
    link = f"http://st-marys.localhost/data/data-sharing/requests/{request.id}/"
    assert message.subject == (
        "Oak Ridge Trust asks to share data with St Mary’s: DfE Data & MIS Data"
    )
    assert message.to == ["head@st-marys.test"]
    body = message.body
    assert "Dear Helen Archer," in body
    assert "Priya Shah, Trust Administrator, at Oak Ridge Trust" in body
    assert "“DfE Data & MIS Data”" in body
    assert "live figures from the school's MIS" in body  # LEVEL_MEANINGS
    assert link in body
    assert "Opening the page changes nothing" in body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert f'href="{link}"' in html
    assert "Oak Ridge Trust asks to share data with St Mary’s" in html
    assert "live figures from the school&#x27;s MIS" in html
    delivery = EmailDelivery.objects.get(request=request)
    assert message.extra_headers["Message-ID"] == f"<matmis.delivery.{delivery.pk}@localhost>"


def test_a_reminder_is_a_delivery_of_its_own_with_its_own_subject(
    pair, mailoutbox, django_capture_on_commit_callbacks
):
    request = make_request(pair, level=1, recipients=((pair.head, "Head Teacher"),))
    enqueue(request, capture=django_capture_on_commit_callbacks)
    first = make_reminder(request, by=pair.sender.user)
    enqueue(
        request,
        kind=DeliveryKind.REMINDER,
        reminder=first,
        capture=django_capture_on_commit_callbacks,
    )
    second = make_reminder(request, by=pair.sender.user)
    enqueue(
        request,
        kind=DeliveryKind.REMINDER,
        reminder=second,
        capture=django_capture_on_commit_callbacks,
    )

    assert [m.subject for m in mailoutbox] == [
        "Oak Ridge Trust asks to share data with St Mary’s: DfE Data",
        "Reminder: Oak Ridge Trust asks to share data with St Mary’s: DfE Data",
        "Reminder: Oak Ridge Trust asks to share data with St Mary’s: DfE Data",
    ]
    assert "is still waiting for your answer" in mailoutbox[1].body
    keys = set(EmailDelivery.objects.values_list("dedupe_key", flat=True))
    recipient = request.recipients.get()
    assert keys == {
        f"{request.id}:{recipient.id}:request:0",
        f"{request.id}:{recipient.id}:reminder:{first.id}",
        f"{request.id}:{recipient.id}:reminder:{second.id}",
    }


def test_a_reminder_needs_its_reminder(pair):
    request = make_request(pair)
    with pytest.raises(ValueError):
        request_emails_enqueue(request=request, kind=DeliveryKind.REMINDER)
    with pytest.raises(ValueError):
        request_emails_enqueue(request=request, kind="postcard")


def test_a_task_run_twice_sends_once(pair, mailoutbox):
    request = make_request(pair)
    request_emails_enqueue(request=request, kind=DeliveryKind.REQUEST)  # not committed: no task
    kwargs = {"request_id": request.id, "kind": DeliveryKind.REQUEST}
    assert send_request_emails.apply(kwargs=kwargs).get() == 2
    assert send_request_emails.apply(kwargs=kwargs).get() == 0
    delivery = EmailDelivery.objects.filter(request=request).first()
    assert delivery_send(delivery_id=delivery.pk) is False
    assert send_deliveries.apply(kwargs={"delivery_ids": [delivery.pk]}).get() == 0
    assert len(mailoutbox) == 2
    assert set(EmailDelivery.objects.values_list("attempts", flat=True)) == {1}


def test_a_delivery_claimed_by_a_live_attempt_is_left_alone_until_its_claim_expires(
    pair, mailoutbox
):
    request = make_request(pair, recipients=((pair.head, "Head Teacher"),))
    request_emails_enqueue(request=request, kind=DeliveryKind.REQUEST)
    delivery = EmailDelivery.objects.get()
    # Another worker claimed it a moment ago (and may be talking to the server now).
    EmailDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENDING, claimed_at=timezone.now()
    )
    assert delivery_send(delivery_id=delivery.pk) is False
    assert mailoutbox == []
    # That worker died: once the lease has expired the delivery is sent (once).
    EmailDelivery.objects.filter(pk=delivery.pk).update(
        claimed_at=timezone.now() - CLAIM_LEASE - timedelta(seconds=1)
    )
    assert delivery_send(delivery_id=delivery.pk) is True
    assert delivery_send(delivery_id=delivery.pk) is False
    assert len(mailoutbox) == 1


def test_an_smtp_failure_is_recorded_then_retried_and_delivered_once(
    pair, flaky_mail, mailoutbox, django_capture_on_commit_callbacks
):
    request = make_request(pair, recipients=((pair.head, "Head Teacher"),))
    flaky_mail.failures = 2
    # Without a broker the failure never reaches the request that queued the email.
    enqueue(request, capture=django_capture_on_commit_callbacks)
    delivery = EmailDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.RETRYING, 1)
    assert delivery.last_error == "SMTPDataError: (451, b'4.3.0 Try again later')"
    assert mailoutbox == []

    kwargs = {"request_id": request.id, "kind": DeliveryKind.REQUEST}
    send_request_emails.apply(kwargs=kwargs)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.RETRYING, 2)

    send_request_emails.apply(kwargs=kwargs)
    send_request_emails.apply(kwargs=kwargs)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.SENT, 3, "")
    assert len(mailoutbox) == 1


@pytest.mark.parametrize("chunk", [1, 10])  # the rest claimed already, or not yet
def test_one_connection_per_batch_and_a_lost_connection_costs_the_rest_no_attempt(
    pair, flaky_mail, mailoutbox, monkeypatch, chunk
):
    monkeypatch.setattr("notifications.services.CLAIM_CHUNK", chunk)
    request = make_request(pair)
    request_emails_enqueue(request=request, kind=DeliveryKind.REQUEST)
    flaky_mail.reset(failures=1, disconnect=True)
    send_request_emails.apply(kwargs={"request_id": request.id, "kind": DeliveryKind.REQUEST})
    first, second = EmailDelivery.objects.order_by("pk")
    assert (first.status, first.attempts) == (DeliveryStatus.RETRYING, 1)
    assert (second.status, second.attempts) == (DeliveryStatus.RETRYING, 0)
    assert "SMTPServerDisconnected" in second.last_error

    flaky_mail.reset()
    send_request_emails.apply(kwargs={"request_id": request.id, "kind": DeliveryKind.REQUEST})
    assert flaky_mail.opened == 1
    assert len(mailoutbox) == 2


def test_a_delivery_fails_for_good_after_the_last_attempt(pair, flaky_mail, mailoutbox):
    request = make_request(pair, recipients=((pair.head, "Head Teacher"),))
    request_emails_enqueue(request=request, kind=DeliveryKind.REQUEST)
    flaky_mail.failures = MAX_ATTEMPTS + 5
    for _ in range(MAX_ATTEMPTS + 2):
        send_request_emails.apply(kwargs={"request_id": request.id, "kind": DeliveryKind.REQUEST})
    delivery = EmailDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, MAX_ATTEMPTS)
    assert mailoutbox == []


def test_the_sweep_sends_what_lost_its_task_and_leaves_the_rest(pair, mailoutbox):
    requests = [
        make_request(make_pair(school_name=f"School {n}", school_slug=f"s{n}", trust_slug=f"t{n}"))
        for n in range(4)
    ]
    for request in requests:
        request_emails_enqueue(request=request, kind=DeliveryKind.REQUEST)  # tasks never ran
    old = timezone.now() - STALE_AFTER - timedelta(minutes=1)
    lost_queued, lost_retrying, dead_claim, fresh = requests
    EmailDelivery.objects.filter(request=lost_queued).update(created_at=old)
    EmailDelivery.objects.filter(request=lost_retrying).update(
        status=DeliveryStatus.RETRYING, claimed_at=old, attempts=3
    )
    EmailDelivery.objects.filter(request=dead_claim).update(
        status=DeliveryStatus.SENDING, claimed_at=timezone.now() - CLAIM_LEASE * 2
    )

    assert deliveries_retry_due.apply().get() == 6
    sent = EmailDelivery.objects.filter(status=DeliveryStatus.SENT)
    assert set(sent.values_list("request", flat=True)) == {
        lost_queued.id,
        lost_retrying.id,
        dead_claim.id,
    }
    assert EmailDelivery.objects.filter(request=fresh, status=DeliveryStatus.QUEUED).count() == 2
    assert len(mailoutbox) == 6
    assert deliveries_retry_due.apply().get() == 0


def test_queueing_for_many_requests_takes_a_constant_number_of_queries(
    pair, django_assert_num_queries
):
    requests = [make_request(pair)]
    for n in range(5):
        requests.append(make_request(make_pair(school_slug=f"x{n}", trust_slug=f"y{n}")))
    with django_assert_num_queries(2):  # recipients, insert
        request_emails_enqueue_many(requests=requests[:1], kind=DeliveryKind.REQUEST)
    with django_assert_num_queries(2):
        request_emails_enqueue_many(requests=requests[1:], kind=DeliveryKind.REQUEST)
    assert EmailDelivery.objects.count() == 12


def test_sending_a_batch_takes_a_constant_number_of_queries_per_email(
    pair, django_assert_num_queries, mailoutbox
):
    small = make_request(pair, recipients=((pair.head, "Head Teacher"),))
    request_emails_enqueue(request=small, kind=DeliveryKind.REQUEST)
    with django_assert_num_queries(1 + 1 + 1):  # fetch, claim, sent
        send_request_emails.apply(kwargs={"request_id": small.id, "kind": DeliveryKind.REQUEST})
    other = make_pair(school_slug="big", trust_slug="big-trust")
    big = make_request(
        other,
        recipients=(
            (other.head, "Head Teacher"),
            (other.data_manager, "Data Manager"),
            (other.teacher, "Teacher"),
        ),
    )
    request_emails_enqueue(request=big, kind=DeliveryKind.REQUEST)
    with django_assert_num_queries(1 + 1 + 3):  # fetch, claim, sent x 3
        send_request_emails.apply(kwargs={"request_id": big.id, "kind": DeliveryKind.REQUEST})
    assert len(mailoutbox) == 4
