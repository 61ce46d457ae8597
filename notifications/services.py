"""Writes of notifications: queue the emails of a data sharing request, and send them.

Delivery guarantees
===================
One ``EmailDelivery`` row exists per (request, recipient, kind, reminder): its
``dedupe_key`` is unique, and queueing the same emails again adds nothing. Every send
goes through ``deliveries_send``, which moves each row through guarded transitions, each
one a single conditional ``UPDATE`` (so two workers, a task run twice, a Celery
redelivery and the beat sweep can race without sending one row twice while it is live):

1. **claim**: QUEUED or RETRYING (or SENDING whose claim is older than ``CLAIM_LEASE``)
   → SENDING with ``claimed_at = now``, committed *before* talking to the mail server
   (``CLAIM_CHUNK`` rows per statement). Whoever does not win the claim sends nothing.
2. **send** through Django's mail backend (outside any transaction: no row lock or open
   transaction is held across network I/O);
3. **record**: SENDING → SENT with ``sent_at`` (and ``attempts + 1``) right after the
   server accepted that one message (one statement per message, so the crash window below
   covers one message, never a batch); or, on an SMTP or network error, SENDING → RETRYING with
   ``attempts`` and ``last_error`` (FAILED once ``MAX_ATTEMPTS`` are used), and the error is
   raised so the Celery task retries with exponential backoff.

Queueing: the rows are inserted in the caller's transaction and the task is published
only after it commits (one task per request, which sends that request's emails over one
connection). If the broker cannot be reached at that moment, the request that queued them
still succeeds, the rows stay QUEUED, visibly, and the beat sweep sends them later.

What happens when a process dies:

- before the claim, or with the claim committed but before sending: the row is QUEUED,
  or SENDING with a claim that expires after ``CLAIM_LEASE``; the task is redelivered
  (``acks_late``) or the beat sweep ``deliveries_retry_due`` re-enqueues it. Not lost.
- **after the server accepted the message but before SENT was recorded** (a window of
  one database round trip): the row stays SENDING. A retry within the lease sends
  nothing (the claim is live, so it does not resend blindly while the first attempt may
  still be running); once the lease has expired, the previous attempt is certainly over
  and the row is sent again.

So delivery is **at-least-once**, and exactly-once in every case but that crash window.
No mail protocol can do better: the server's "250 OK" and our database write cannot be
one atomic step. We chose "never lost" over "never twice" for that one case, because a
head teacher who never receives the request is worse than one who receives it twice; and
the repeat carries the same ``Message-ID`` (``notifications.emails.delivery_message_id``),
which lets mail systems and clients recognise it as the same message. The lease is far
longer than one send can take (the SMTP timeout), so a live attempt is never overtaken.
"""

import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta
from smtplib import SMTPException, SMTPServerDisconnected

from django.core.mail import mailers
from django.db import connection as db_connection
from django.db.models import F, Q
from django.utils import timezone

from matmis.celery import enqueue_on_commit
from sharing.models import AgreementRequest, RequestRecipient, RequestReminder

from .emails import request_email_build
from .models import DeliveryKind, DeliveryStatus, EmailDelivery

logger = logging.getLogger(__name__)

# Far longer than CLAIM_CHUNK messages can take to send (EMAIL_TIMEOUT, 20 s by default, per
# step), so a claim that old belongs to an attempt that has certainly ended.
CLAIM_LEASE = timedelta(minutes=15)
# Claims are taken this many at a time: CLAIM_CHUNK sends, even each at its timeout, end
# well within the lease.
CLAIM_CHUNK = 10
# The first attempt and the task's eight retries.
MAX_ATTEMPTS = 9
# A QUEUED or RETRYING delivery older than this has lost its task (the broker was down,
# or the retries ran out): the beat sweep enqueues it again. Longer than the longest
# backoff (retry_backoff_max, 10 minutes), so a retry still scheduled runs first.
STALE_AFTER = timedelta(minutes=15)
SENDABLE = (DeliveryStatus.QUEUED, DeliveryStatus.RETRYING)
ERROR_MAX = 500


def delivery_dedupe_key(
    *, request_id: int, recipient_id: int, kind: str, reminder_id: int | None
) -> str:
    return f"{request_id}:{recipient_id}:{kind}:{reminder_id or 0}"


# --- Queueing --------------------------------------------------------------------------------


def _deliveries_for(
    *,
    request: AgreementRequest,
    recipients: Iterable[RequestRecipient],
    kind: str,
    reminder: RequestReminder | None,
) -> list[EmailDelivery]:
    return [
        EmailDelivery(
            site_id=request.group_id,
            request=request,
            recipient=recipient,
            reminder=reminder,
            kind=kind,
            dedupe_key=delivery_dedupe_key(
                request_id=request.id,
                recipient_id=recipient.id,
                kind=kind,
                reminder_id=reminder.id if reminder else None,
            ),
        )
        for recipient in recipients
    ]


def _check_kind(kind: str, reminder: RequestReminder | None) -> None:
    if kind not in DeliveryKind.values:
        raise ValueError(f"{kind!r} is not a kind of delivery.")
    if (kind == DeliveryKind.REMINDER) != (reminder is not None):
        raise ValueError("A reminder email needs its reminder; a request email has none.")


def request_emails_enqueue(
    *, request: AgreementRequest, kind: str, reminder: RequestReminder | None = None
) -> None:
    """Queue the ``kind`` email of ``request`` (with ``reminder`` for a reminder) to each of
    its recipients, and send them once the current transaction commits.

    Call it inside the transaction that created the request or reminder. Queueing the
    same emails again is harmless: one delivery per (request, recipient, kind, reminder).
    Queries: one to insert, plus one for the recipients unless they are prefetched.
    """
    request_emails_enqueue_many(
        requests=[request], kind=kind, reminders={request.id: reminder} if reminder else None
    )


def request_emails_enqueue_many(
    *,
    requests: Sequence[AgreementRequest],
    kind: str,
    reminders: dict[int, RequestReminder] | None = None,
) -> None:
    """``request_emails_enqueue`` for many requests in a constant number of queries (two):
    for bulk sends and bulk reminders. ``reminders`` maps a request id to its reminder
    (needed for every request when ``kind`` is a reminder)."""
    if not requests:
        return
    reminders = reminders or {}
    for request in requests:
        _check_kind(kind, reminders.get(request.id))
    recipients_of = _recipients_of(requests)
    deliveries = [
        delivery
        for request in requests
        for delivery in _deliveries_for(
            request=request,
            recipients=recipients_of[request.id],
            kind=kind,
            reminder=reminders.get(request.id),
        )
    ]
    EmailDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    send_request_emails = _send_task()
    for request in requests:
        reminder = reminders.get(request.id)
        # Published after commit; a broker that cannot be reached leaves the deliveries
        # QUEUED, visibly, for the beat sweep ``deliveries_retry_due``. Without a broker the
        # task runs here and keeps its mail errors for the sweep (``notifications.tasks``).
        enqueue_on_commit(
            send_request_emails,
            request_id=request.id,
            kind=kind,
            reminder_id=reminder.id if reminder else None,
        )


def _send_task():
    # Imported here: notifications.tasks imports this module (its tasks call the senders).
    from .tasks import send_request_emails

    return send_request_emails


def _recipients_of(requests: Sequence[AgreementRequest]) -> dict[int, list[RequestRecipient]]:
    """Each request's recipients, from the prefetch cache when there is one."""
    found: dict[int, list[RequestRecipient]] = {}
    missing = []
    for request in requests:
        cache = getattr(request, "_prefetched_objects_cache", {})
        if "recipients" in cache:
            found[request.id] = list(cache["recipients"])
        else:
            found[request.id] = []
            missing.append(request.id)
    if missing:
        for recipient in RequestRecipient.objects.filter(request_id__in=missing).order_by("pk"):
            found[recipient.request_id].append(recipient)
    return found


# --- Sending ---------------------------------------------------------------------------------


def request_deliveries_send(*, request_id: int, kind: str, reminder_id: int | None = None) -> int:
    """Send the ``kind`` emails of request ``request_id`` (and ``reminder_id``) that are
    still to be sent, over one connection. Returns how many were sent now."""
    return _send_all(_sendable(Q(request_id=request_id, kind=kind, reminder_id=reminder_id)))


def delivery_send(*, delivery_id: int) -> bool:
    """Send one delivery unless it is sent (or being sent) already. True when sent now."""
    return deliveries_send(delivery_ids=[delivery_id]) == 1


def deliveries_send(*, delivery_ids: Sequence[int]) -> int:
    """Send each of ``delivery_ids`` that is due, over one mail connection, through the
    guarded transitions in this module's docstring. Returns how many were sent now."""
    if not delivery_ids:
        return 0
    return _send_all(_sendable(Q(pk__in=delivery_ids)))


def _send_all(deliveries: list[EmailDelivery]) -> int:
    """Claim, send and record ``deliveries``, in order, over one connection.

    Claims are taken ``CLAIM_CHUNK`` at a time (one statement each), so a claim is never
    older than the lease while its attempt is alive. Every delivery is tried even when
    another one fails; if any failed with an SMTP or network error, the first such error
    is raised once all were tried (and recorded), so that the task retries: those already
    sent are then skipped.
    """
    if not deliveries:
        return 0
    connection = mailers.default
    opened = False
    sent = 0
    first_error: Exception | None = None
    try:
        for start in range(0, len(deliveries), CLAIM_CHUNK):
            claimed = _claim(deliveries[start : start + CLAIM_CHUNK])
            for index, delivery in enumerate(claimed):
                try:
                    message = request_email_build(delivery=delivery)
                except Exception as error:
                    # A bug, not the mail server: counted and raised; the untried are let go.
                    _record_failure(delivery, error)
                    _release(claimed[index + 1 :], error)
                    raise
                try:
                    if not opened:
                        # One connection for the whole batch (send_messages alone would
                        # open and close one per message).
                        connection.open()
                        opened = True
                    connection.send_messages([message])
                except (SMTPException, OSError) as error:
                    _record_failure(delivery, error)
                    first_error = first_error or error
                    if _connection_lost(error):
                        # The server is gone: the rest were not tried, so they are not
                        # failed attempts; the retry (or the sweep) takes them.
                        _release(claimed[index + 1 :], error)
                        _release_unclaimed(deliveries[start + CLAIM_CHUNK :], error)
                        raise
                    continue
                _record_sent(delivery)
                sent += 1
    finally:
        try:
            connection.close()
        except (SMTPException, OSError):
            logger.warning("Could not close the mail connection cleanly", exc_info=True)
    if first_error is not None:
        raise first_error
    return sent


def _sendable(condition: Q) -> list[EmailDelivery]:
    """The deliveries matching ``condition`` that may be due, with what the email needs,
    in one query. Whether each is really due is decided by its claim."""
    return list(
        EmailDelivery.objects.filter(condition)
        .exclude(status__in=[DeliveryStatus.SENT, DeliveryStatus.FAILED])
        .select_related(
            "request__group",
            "request__school",
            "request__sender__user",
            "recipient__user",
        )
        .order_by("pk")
    )


_CLAIM_SQL = """
    UPDATE {table} SET status = %(sending)s, claimed_at = %(now)s
    WHERE id = ANY(%(ids)s)
      AND (status = ANY(%(sendable)s) OR (status = %(sending)s AND claimed_at < %(expired)s))
    RETURNING id
"""


def _claim(deliveries: Sequence[EmailDelivery]) -> list[EmailDelivery]:
    """QUEUED / RETRYING / SENDING with an expired claim → SENDING: one conditional UPDATE
    for the lot, committed at once (tasks never run inside a transaction: they are
    enqueued on commit). Returns those claimed, in order; the others are sent already, or
    another attempt holds them."""
    if not deliveries:
        return []
    now = timezone.now()
    with db_connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL.format(table=db_connection.ops.quote_name(EmailDelivery._meta.db_table)),
            {
                "sending": DeliveryStatus.SENDING.value,
                "now": now,
                "ids": [d.pk for d in deliveries],
                "sendable": [status.value for status in SENDABLE],
                "expired": now - CLAIM_LEASE,
            },
        )
        claimed_ids = {row[0] for row in cursor.fetchall()}
    claimed = [d for d in deliveries if d.pk in claimed_ids]
    for delivery in claimed:
        delivery.status, delivery.claimed_at = DeliveryStatus.SENDING, now
    return claimed


def _record_sent(delivery: EmailDelivery) -> None:
    now = timezone.now()
    EmailDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.SENT,
        sent_at=now,
        attempts=F("attempts") + 1,
        last_error="",
    )
    delivery.status, delivery.sent_at = DeliveryStatus.SENT, now


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:ERROR_MAX]


def _record_failure(delivery: EmailDelivery, error: Exception) -> None:
    attempts = delivery.attempts + 1
    status = DeliveryStatus.FAILED if attempts >= MAX_ATTEMPTS else DeliveryStatus.RETRYING
    EmailDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
        status=status,
        attempts=F("attempts") + 1,
        last_error=_describe(error),
        claimed_at=timezone.now(),
    )
    delivery.status, delivery.attempts = status, attempts
    logger.warning(
        "Email delivery %s failed (attempt %s of %s): %s",
        delivery.pk,
        attempts,
        MAX_ATTEMPTS,
        _describe(error),
    )


def _release(deliveries: Sequence[EmailDelivery], error: Exception) -> None:
    """Claimed but not tried (the connection was lost first): RETRYING, no attempt used."""
    if deliveries:
        EmailDelivery.objects.filter(
            pk__in=[d.pk for d in deliveries], status=DeliveryStatus.SENDING
        ).update(
            status=DeliveryStatus.RETRYING, last_error=_describe(error), claimed_at=timezone.now()
        )


def _release_unclaimed(deliveries: Sequence[EmailDelivery], error: Exception) -> None:
    """Not claimed yet when the connection was lost: say why they wait (no attempt used)."""
    if deliveries:
        EmailDelivery.objects.filter(pk__in=[d.pk for d in deliveries], status__in=SENDABLE).update(
            status=DeliveryStatus.RETRYING, last_error=_describe(error), claimed_at=timezone.now()
        )


def _connection_lost(error: Exception) -> bool:
    return isinstance(error, SMTPServerDisconnected | OSError)


# --- The sweep -------------------------------------------------------------------------------


def deliveries_due_ids(*, limit: int = 5000) -> list[int]:
    """Deliveries whose task was lost: QUEUED or RETRYING for longer than
    ``STALE_AFTER``, or SENDING with an expired claim. Oldest first."""
    now = timezone.now()
    stale = now - STALE_AFTER
    return list(
        EmailDelivery.objects.filter(
            Q(status=DeliveryStatus.QUEUED, created_at__lt=stale)
            | Q(status=DeliveryStatus.RETRYING, claimed_at__lt=stale)
            | Q(status=DeliveryStatus.SENDING, claimed_at__lt=now - CLAIM_LEASE)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
