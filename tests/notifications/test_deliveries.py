"""Queueing and sending emails through the outbox, without a broker (tasks run in process,
after commit, through the same code a worker runs), with the emails of data sharing
requests: what a delivery records, and the guarantees of ``notifications.services``."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notifications.models import DeliveryStatus, EmailDelivery
from notifications.services import CLAIM_LEASE, MAX_ATTEMPTS, STALE_AFTER, delivery_send
from notifications.tasks import deliveries_retry_due, send_deliveries, send_emails
from sharing.emails import AGREEMENT_REQUEST_EMAIL, EmailKind, request_emails_enqueue, request_topic
from tests.notifications.factories import make_pair, make_request

pytestmark = pytest.mark.django_db

REQUEST = EmailKind.REQUEST


def queue(request, *, kind=REQUEST, reminder=None) -> None:
    """Queue a request's emails in the current transaction (their task runs on commit)."""
    request_emails_enqueue(
        requests=[request], kind=kind, reminders={request.id: reminder} if reminder else None
    )


def enqueue(request, *, kind=REQUEST, reminder=None, capture):
    with capture(execute=True):
        queue(request, kind=kind, reminder=reminder)


def deliveries_of(request):
    return EmailDelivery.objects.filter(topic=request_topic(request.id))


def task_kwargs(request, *, kind=REQUEST) -> dict:
    """The arguments of the task that queueing ``request``'s ``kind`` emails publishes."""
    keys = deliveries_of(request).filter(kind=kind).order_by("pk").values_list("dedupe_key")
    return {"site_id": request.group_id, "dedupe_keys": [key for (key,) in keys]}


def send_task(request, *, kind=REQUEST):
    """Run that task, as a worker would."""
    return send_emails.apply(kwargs=task_kwargs(request, kind=kind))


def test_one_delivery_per_recipient_for_the_group_and_one_email_each(
    pair, mailoutbox, django_capture_on_commit_callbacks
):
    request = make_request(pair)
    enqueue(request, capture=django_capture_on_commit_callbacks)

    deliveries = deliveries_of(request).order_by("pk")
    recipients = list(request.recipients.order_by("pk"))
    assert [d.status for d in deliveries] == [DeliveryStatus.SENT] * 2
    assert {d.site_id for d in deliveries} == {pair.trust.pk}
    assert [d.dedupe_key for d in deliveries] == [
        f"{request.id}:{r.id}:request:0" for r in recipients
    ]
    assert [(d.address, d.kind, d.builder, d.params) for d in deliveries] == [
        (
            r.email,
            "request",
            AGREEMENT_REQUEST_EMAIL,
            {"request_id": request.id, "recipient_id": r.id, "reminder_id": None},
        )
        for r in recipients
    ]
    assert all(d.attempts == 1 and d.sent_at and not d.last_error for d in deliveries)
    assert sorted(m.to[0] for m in mailoutbox) == ["data@st-marys.test", "head@st-marys.test"]


def test_queueing_the_same_emails_again_adds_nothing_and_sends_nothing(
    pair, mailoutbox, django_capture_on_commit_callbacks
):
    request = make_request(pair)
    enqueue(request, capture=django_capture_on_commit_callbacks)
    enqueue(request, capture=django_capture_on_commit_callbacks)
    assert deliveries_of(request).count() == 2
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
        queue(request)
        raise RuntimeError("rolled back")
    assert callbacks == []
    assert not EmailDelivery.objects.exists()
    assert mailoutbox == []


def test_a_task_run_twice_sends_once(pair, mailoutbox):
    request = make_request(pair)
    queue(request)  # not committed: no task
    assert send_task(request).get() == 2
    assert send_task(request).get() == 0
    delivery = deliveries_of(request).first()
    assert delivery_send(site_id=pair.trust.pk, delivery_id=delivery.pk) is False
    kwargs = {"site_id": pair.trust.pk, "delivery_ids": [delivery.pk]}
    assert send_deliveries.apply(kwargs=kwargs).get() == 0
    assert len(mailoutbox) == 2
    assert set(EmailDelivery.objects.values_list("attempts", flat=True)) == {1}


def test_a_task_sends_only_its_own_sites_deliveries(pair, mailoutbox):
    request = make_request(pair)
    queue(request)
    other = make_pair(school_slug="other", trust_slug="other-trust")
    keys = list(deliveries_of(request).values_list("dedupe_key", flat=True))
    ids = list(deliveries_of(request).values_list("pk", flat=True))
    # Another site's task naming these deliveries sends none of them.
    assert send_emails.apply(kwargs={"site_id": other.trust.pk, "dedupe_keys": keys}).get() == 0
    kwargs = {"site_id": other.trust.pk, "delivery_ids": ids}
    assert send_deliveries.apply(kwargs=kwargs).get() == 0
    assert delivery_send(site_id=other.trust.pk, delivery_id=ids[0]) is False
    assert mailoutbox == []
    assert set(deliveries_of(request).values_list("status", flat=True)) == {DeliveryStatus.QUEUED}


def test_a_delivery_claimed_by_a_live_attempt_is_left_alone_until_its_claim_expires(
    pair, mailoutbox
):
    request = make_request(pair, recipients=((pair.head, "Head Teacher"),))
    queue(request)
    delivery = EmailDelivery.objects.get()
    site_id = pair.trust.pk
    # Another worker claimed it a moment ago (and may be talking to the server now).
    EmailDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENDING, claimed_at=timezone.now()
    )
    assert delivery_send(site_id=site_id, delivery_id=delivery.pk) is False
    assert mailoutbox == []
    # That worker died: once the lease has expired the delivery is sent (once).
    EmailDelivery.objects.filter(pk=delivery.pk).update(
        claimed_at=timezone.now() - CLAIM_LEASE - timedelta(seconds=1)
    )
    assert delivery_send(site_id=site_id, delivery_id=delivery.pk) is True
    assert delivery_send(site_id=site_id, delivery_id=delivery.pk) is False
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

    send_task(request)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.RETRYING, 2)

    send_task(request)
    send_task(request)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.SENT, 3, "")
    assert len(mailoutbox) == 1


@pytest.mark.parametrize("chunk", [1, 10])  # the rest claimed already, or not yet
def test_one_connection_per_batch_and_a_lost_connection_costs_the_rest_no_attempt(
    pair, flaky_mail, mailoutbox, monkeypatch, chunk
):
    monkeypatch.setattr("notifications.services.CLAIM_CHUNK", chunk)
    request = make_request(pair)
    queue(request)
    flaky_mail.reset(failures=1, disconnect=True)
    send_task(request)
    first, second = EmailDelivery.objects.order_by("pk")
    assert (first.status, first.attempts) == (DeliveryStatus.RETRYING, 1)
    assert (second.status, second.attempts) == (DeliveryStatus.RETRYING, 0)
    assert "SMTPServerDisconnected" in second.last_error

    flaky_mail.reset()
    send_task(request)
    assert flaky_mail.opened == 1
    assert len(mailoutbox) == 2


def test_a_delivery_fails_for_good_after_the_last_attempt(pair, flaky_mail, mailoutbox):
    request = make_request(pair, recipients=((pair.head, "Head Teacher"),))
    queue(request)
    flaky_mail.failures = MAX_ATTEMPTS + 5
    for _ in range(MAX_ATTEMPTS + 2):
        send_task(request)
    delivery = EmailDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, MAX_ATTEMPTS)
    assert mailoutbox == []


def test_the_sweep_sends_what_lost_its_task_and_leaves_the_rest(
    pair, mailoutbox, django_capture_on_commit_callbacks
):
    requests = [
        make_request(make_pair(school_name=f"School {n}", school_slug=f"s{n}", trust_slug=f"t{n}"))
        for n in range(4)
    ]
    for request in requests:
        queue(request)  # tasks never ran
    old = timezone.now() - STALE_AFTER - timedelta(minutes=1)
    lost_queued, lost_retrying, dead_claim, fresh = requests
    deliveries_of(lost_queued).update(created_at=old)
    deliveries_of(lost_retrying).update(status=DeliveryStatus.RETRYING, claimed_at=old, attempts=3)
    deliveries_of(dead_claim).update(
        status=DeliveryStatus.SENDING, claimed_at=timezone.now() - CLAIM_LEASE * 2
    )

    # Beat runs outside a transaction: the sweep's tasks are published at once.
    with django_capture_on_commit_callbacks(execute=True) as published:
        assert deliveries_retry_due.apply().get() == 6
    assert len(published) == 3  # a task per site (each request is another trust's here)
    sent = EmailDelivery.objects.filter(status=DeliveryStatus.SENT)
    assert set(sent.values_list("topic", flat=True)) == {
        request_topic(lost_queued.id),
        request_topic(lost_retrying.id),
        request_topic(dead_claim.id),
    }
    assert deliveries_of(fresh).filter(status=DeliveryStatus.QUEUED).count() == 2
    assert len(mailoutbox) == 6
    assert deliveries_retry_due.apply().get() == 0


def test_queueing_for_many_requests_takes_a_constant_number_of_queries(
    pair, django_assert_num_queries
):
    requests = [make_request(pair)]
    for n in range(5):
        requests.append(make_request(make_pair(school_slug=f"x{n}", trust_slug=f"y{n}")))
    with django_assert_num_queries(2):  # recipients, insert
        request_emails_enqueue(requests=requests[:1], kind=REQUEST)
    with django_assert_num_queries(2):
        request_emails_enqueue(requests=requests[1:], kind=REQUEST)
    assert EmailDelivery.objects.count() == 12


def test_sending_a_batch_takes_a_constant_number_of_queries_per_email(
    pair, django_assert_num_queries, mailoutbox
):
    small = make_request(pair, recipients=((pair.head, "Head Teacher"),))
    queue(small)
    kwargs = task_kwargs(small)
    with django_assert_num_queries(1 + 1 + 1 + 1):  # fetch, claim, the builder's one, sent
        send_emails.apply(kwargs=kwargs)
    other = make_pair(school_slug="big", trust_slug="big-trust")
    big = make_request(
        other,
        recipients=(
            (other.head, "Head Teacher"),
            (other.data_manager, "Data Manager"),
            (other.teacher, "Teacher"),
        ),
    )
    queue(big)
    kwargs = task_kwargs(big)
    with django_assert_num_queries(1 + 1 + 1 + 3):  # fetch, claim, the builder's one, sent x 3
        send_emails.apply(kwargs=kwargs)
    assert len(mailoutbox) == 4
