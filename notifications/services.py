"""Writes of the outbox: queue any app's emails (``deliveries_enqueue``), and send them.

Delivery guarantees
===================
One ``EmailDelivery`` row exists per ``dedupe_key``, which is unique (the app that queues
an email makes its key, e.g. request:recipient:kind:reminder), and queueing the same
emails again adds nothing. Every send goes through ``_send_all`` (``deliveries_send``,
``deliveries_send_by_key``), which moves each row through guarded transitions, each one a
single conditional ``UPDATE`` (so two workers, a task run twice, a Celery redelivery and
the beat sweep can race without sending one row twice while it is live):

1. **claim**: QUEUED or RETRYING (or SENDING whose claim is older than ``CLAIM_LEASE``)
   → SENDING with ``claimed_at = now``, committed *before* talking to the mail server
   (``CLAIM_CHUNK`` rows per statement). Whoever does not win the claim sends nothing.
2. **build** the claimed emails through their message builders (``notifications.builders``,
   one call per builder for the claimed batch). A delivery no email can be built for (its
   builder is not registered, or what it was about is gone) is recorded FAILED at once,
   with the reason, and never tried again; the others go on. A builder that raises is a
   bug: each of its deliveries is counted a failed attempt (RETRYING), the rest of the
   batch is let go untried, and the error is raised;
3. **send** through Django's mail backend (outside any transaction: no row lock or open
   transaction is held across network I/O);
4. **record**: SENDING → SENT with ``sent_at`` (and ``attempts + 1``) right after the
   server accepted that one message (one statement per message, so the crash window below
   covers one message, never a batch); or, on an SMTP or network error, SENDING → RETRYING with
   ``attempts`` and ``last_error`` (FAILED once ``MAX_ATTEMPTS`` are used), and the error is
   raised so the Celery task retries with exponential backoff.

Queueing: the rows are inserted in the caller's transaction (one statement) and a task is
published only after it commits (``matmis.celery.enqueue_on_commit``; one task per site and
topic, which sends those emails over one connection). If the broker cannot be reached at
that moment, the request that queued them still succeeds, the rows stay QUEUED, visibly,
and the beat sweep sends them later.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from smtplib import SMTPException, SMTPServerDisconnected

from django.conf import settings
from django.core.mail import mailers
from django.db import connection as db_connection
from django.db.models import F, Q
from django.utils import timezone

from matmis.celery import enqueue_on_commit

from .builders import EmailContent, UnknownBuilder, builder_for
from .emails import delivery_email
from .models import DeliveryStatus, EmailDelivery

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


# --- Queueing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutgoingEmail:
    """One email to queue: sent for ``site_id`` to ``address``, made when it is sent by the
    registered message builder ``builder`` from ``params`` (ids, JSON). ``kind`` and
    ``topic`` are the app's words for what it is and what it is about (``topic`` finds its
    deliveries: ``notifications.selectors``); ``dedupe_key`` is unique across all apps."""

    site_id: int
    address: str
    kind: str
    dedupe_key: str
    builder: str
    params: Mapping[str, int | str | None]
    topic: str


def deliveries_enqueue(*, messages: Sequence[OutgoingEmail]) -> None:
    """Queue ``messages`` in the current transaction and send them once it commits.

    One INSERT for all of them; a message whose ``dedupe_key`` is queued already adds
    nothing (so queueing the same emails again is harmless). After commit, one task per
    site and topic sends that topic's messages still to be sent, over one connection.
    Raises ValueError, queueing nothing, for a message naming no registered builder or
    missing a field.
    """
    if not messages:
        return
    for message in messages:
        _check(message)
    EmailDelivery.objects.bulk_create(
        [
            EmailDelivery(
                site_id=message.site_id,
                address=message.address,
                kind=message.kind,
                topic=message.topic,
                dedupe_key=message.dedupe_key,
                builder=message.builder,
                params=dict(message.params),
            )
            for message in messages
        ],
        ignore_conflicts=True,
    )
    keys_by_topic: dict[tuple[int, str], dict[str, None]] = {}
    for message in messages:
        keys_by_topic.setdefault((message.site_id, message.topic), {})[message.dedupe_key] = None
    send_emails = _send_task()
    for (site_id, _topic), keys in keys_by_topic.items():
        # A broker that cannot be reached leaves them QUEUED for the sweep; without a
        # broker the task runs here and keeps its mail errors for the sweep (tasks.py).
        enqueue_on_commit(send_emails, site_id=site_id, dedupe_keys=list(keys))


def deliveries_insert_sql(
    *,
    source: str,
    site_id: str,
    address: str,
    kind: str,
    topic: str,
    dedupe_key: str,
    builder: str,
    params: str,
) -> str:
    """For a service that writes its rows set-based: an ``INSERT ... SELECT`` queueing one
    delivery per row of ``source`` (SQL: a table or CTE name), the other arguments being SQL
    expressions over it (``params`` a jsonb object). A key already queued adds nothing, as
    in ``deliveries_enqueue``; the statement returns the topic and key of each row it adds.
    The caller checks the fields (``builder`` registered, lengths within the columns') and
    calls ``deliveries_send_on_commit`` with what was queued."""
    return (
        "INSERT INTO notifications_emaildelivery (site_id, address, kind, topic, dedupe_key, "  # noqa: S608 - expressions from the calling service's code
        "builder, params, status, attempts, last_error, created_at) "
        f"SELECT {site_id}, {address}, {kind}, {topic}, {dedupe_key}, {builder}, {params}, "
        f"'{DeliveryStatus.QUEUED}', 0, '', statement_timestamp() FROM {source} "
        "ON CONFLICT (dedupe_key) DO NOTHING RETURNING topic, dedupe_key"
    )


def deliveries_send_on_commit(*, site_id: int, keys_by_topic: Mapping[str, Sequence[str]]) -> None:
    """Send the deliveries queued under these topics and keys once the transaction
    commits: one task per topic, as ``deliveries_enqueue`` sends its own."""
    send_emails = _send_task()
    for _topic, keys in keys_by_topic.items():
        if keys:
            enqueue_on_commit(send_emails, site_id=site_id, dedupe_keys=list(keys))


def _send_task():
    # Imported here: notifications.tasks imports this module (its tasks call the senders).
    from .tasks import send_emails

    return send_emails


def _check(message: OutgoingEmail) -> None:
    for name in ("address", "kind", "topic", "dedupe_key", "builder"):
        value = getattr(message, name)
        limit = EmailDelivery._meta.get_field(name).max_length
        if not value or len(value) > limit:
            raise ValueError(f"An email's {name} needs 1 to {limit} characters: {value!r}")
    try:
        builder_for(message.builder)
    except UnknownBuilder as error:
        raise ValueError(str(error)) from None


# --- Sending ---------------------------------------------------------------------------------


def deliveries_send_by_key(*, site_id: int, dedupe_keys: Sequence[str]) -> int:
    """Send the site's deliveries with these ``dedupe_keys`` that are still to be sent, over
    one connection (what ``deliveries_enqueue`` queued). Returns how many were sent now."""
    if not dedupe_keys:
        return 0
    return _send_all(_sendable(Q(site_id=site_id, dedupe_key__in=list(dedupe_keys))))


def delivery_send(*, site_id: int, delivery_id: int) -> bool:
    """Send one delivery unless it is sent (or being sent) already. True when sent now."""
    return deliveries_send(site_id=site_id, delivery_ids=[delivery_id]) == 1


def deliveries_send(*, site_id: int, delivery_ids: Sequence[int]) -> int:
    """Send each of the site's ``delivery_ids`` that is due, over one mail connection,
    through the guarded transitions in this module's docstring. Returns how many were
    sent now."""
    if not delivery_ids:
        return 0
    return _send_all(_sendable(Q(site_id=site_id, pk__in=list(delivery_ids))))


def _send_all(deliveries: list[EmailDelivery]) -> int:
    """Claim, build, send and record ``deliveries``, in order, over one connection.

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
            contents, unbuildable = _build(claimed)
            for index, delivery in enumerate(claimed):
                if delivery.pk in unbuildable:
                    _record_unbuildable(delivery, unbuildable[delivery.pk])
                    continue
                message = delivery_email(delivery=delivery, content=contents[delivery.pk])
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


def _build(claimed: Sequence[EmailDelivery]) -> tuple[dict[int, EmailContent], dict[int, str]]:
    """The content of each claimed delivery, from one call of each builder named; and, for
    each delivery no email can be built for, why. A builder that raises is a bug, not the
    mail server: each of its deliveries is counted a failed attempt, the rest of the batch
    is let go untried, and the error is raised."""
    contents: dict[int, EmailContent] = {}
    unbuildable: dict[int, str] = {}
    by_builder: dict[str, list[EmailDelivery]] = {}
    for delivery in claimed:
        by_builder.setdefault(delivery.builder, []).append(delivery)
    for name, batch in by_builder.items():
        try:
            builder = builder_for(name)
        except UnknownBuilder as error:
            unbuildable.update(dict.fromkeys((d.pk for d in batch), _describe(error)))
            continue
        try:
            built = builder(batch)
        except Exception as error:
            for delivery in batch:
                _record_failure(delivery, error)
            _release([d for d in claimed if d.builder != name], error)
            raise
        for delivery in batch:
            content = built.get(delivery.pk)
            if content is None:
                unbuildable[delivery.pk] = (
                    f"The message builder {name!r} made no email for it: what it was "
                    f"about is gone ({delivery.params})."
                )[:ERROR_MAX]
            else:
                contents[delivery.pk] = content
    return contents, unbuildable


def _sendable(condition: Q) -> list[EmailDelivery]:
    """The deliveries matching ``condition`` that may be due, in one query. Whether each
    is really due is decided by its claim."""
    return list(
        EmailDelivery.objects.filter(condition)
        .exclude(status__in=[DeliveryStatus.SENT, DeliveryStatus.FAILED])
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


# SENDING -> SENT for one message: a fixed statement (no query to compile per message), still
# one per message so that the crash window stays one message wide (the module docstring).
_SENT_SQL = """
    UPDATE {table} SET status = %s, sent_at = %s, attempts = attempts + 1, last_error = ''
    WHERE id = %s AND status = %s
"""


def _record_sent(delivery: EmailDelivery) -> None:
    now = timezone.now()
    with db_connection.cursor() as cursor:
        cursor.execute(
            _SENT_SQL.format(table=db_connection.ops.quote_name(EmailDelivery._meta.db_table)),
            [DeliveryStatus.SENT.value, now, delivery.pk, DeliveryStatus.SENDING.value],
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


def _record_unbuildable(delivery: EmailDelivery, reason: str) -> None:
    """No email can be built for it: FAILED at once (trying again would build nothing)."""
    EmailDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.FAILED,
        attempts=F("attempts") + 1,
        last_error=reason[:ERROR_MAX],
        claimed_at=timezone.now(),
    )
    delivery.status, delivery.attempts = DeliveryStatus.FAILED, delivery.attempts + 1
    logger.error("Email delivery %s cannot be sent: %s", delivery.pk, reason)


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


def deliveries_due_by_site(*, limit: int = 5000) -> dict[int, list[int]]:
    """Deliveries whose task was lost, ``{site id: [delivery id]}``, across every site (the
    beat sweep's read): QUEUED or RETRYING for longer than ``STALE_AFTER``, or SENDING with
    an expired claim. Oldest first, at most ``limit``."""
    now = timezone.now()
    stale = now - STALE_AFTER
    rows = (
        EmailDelivery.objects.filter(
            Q(status=DeliveryStatus.QUEUED, created_at__lt=stale)
            | Q(status=DeliveryStatus.RETRYING, claimed_at__lt=stale)
            | Q(status=DeliveryStatus.SENDING, claimed_at__lt=now - CLAIM_LEASE)
        )
        .order_by("pk")
        .values_list("site_id", "pk")[:limit]
    )
    due: dict[int, list[int]] = {}
    for site_id, delivery_id in rows:
        due.setdefault(site_id, []).append(delivery_id)
    return due


# --- Retention -------------------------------------------------------------------------------


def deliveries_prune(*, now=None) -> int:
    """Delete deliveries that are done with (SENT or FAILED) and were queued more than
    ``MATMIS_DELIVERY_RETENTION_DAYS`` ago; never one still to send (QUEUED, SENDING,
    RETRYING), however old. One statement; returns how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.MATMIS_DELIVERY_RETENTION_DAYS)
    deleted, _ = EmailDelivery.objects.filter(
        status__in=[DeliveryStatus.SENT, DeliveryStatus.FAILED], created_at__lt=cutoff
    ).delete()
    return deleted
