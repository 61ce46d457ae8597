"""Celery tasks of notifications: thin, they take ids (and the site) and call
``notifications.services``.

They carry the site of their deliveries, and read only that site's, but are not
``matmis.tasks.SiteTask``s: a send holds no transaction open across the mail server's
network round trips (its claims and records are statements of their own), and the outbox
holds no personal data under Row-Level Security.

SMTP and network errors are retried with exponential backoff and jitter (up to eight
retries, at most ten minutes apart); ``acks_late`` returns a task to the queue when its
worker dies. Without a broker (``CELERY_TASK_ALWAYS_EAGER``, the demo) a task runs inside
the request that queued it: it tries once and never raises a mail error into that
request; the delivery stays RETRYING (or FAILED), visibly, for the sweep.

The beat task ``deliveries_retry_due`` (``CELERY_BEAT_SCHEDULE``) re-enqueues deliveries
whose task was lost, a task per site and batch: queued while the broker was down, out of
retries while the mail server was down, or claimed by a worker that died.
"""

import logging
from collections.abc import Callable
from itertools import batched
from smtplib import SMTPException

from matmis.celery import app, enqueue_on_commit

from .services import (
    deliveries_due_by_site,
    deliveries_prune,
    deliveries_send,
    deliveries_send_by_key,
)

logger = logging.getLogger(__name__)

RETRY_POLICY = {
    "autoretry_for": (SMTPException, OSError),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
}
SWEEP_BATCH = 50


def _send(task, send: Callable[..., int], **kwargs) -> int:
    try:
        return send(**kwargs)
    except (SMTPException, OSError) as error:
        if task.request.is_eager:
            logger.warning("Email not sent yet (%s); left for the retry sweep", error)
            return 0
        raise  # autoretry_for: retried with backoff


@app.task(name="notifications.send_emails", bind=True, **RETRY_POLICY)
def send_emails(self, *, site_id: int, dedupe_keys: list[str]) -> int:
    """Send the site's queued emails with these keys, those still to be sent (what
    ``deliveries_enqueue`` queued for one topic); returns how many."""
    return _send(self, deliveries_send_by_key, site_id=site_id, dedupe_keys=dedupe_keys)


@app.task(name="notifications.send_deliveries", bind=True, **RETRY_POLICY)
def send_deliveries(self, *, site_id: int, delivery_ids: list[int]) -> int:
    """Send these deliveries of the site, those still to be sent; returns how many."""
    return _send(self, deliveries_send, site_id=site_id, delivery_ids=delivery_ids)


@app.task(name="notifications.deliveries_retry_due")
def deliveries_retry_due() -> int:
    """Re-enqueue every delivery whose task was lost, a task per site and batch (published
    at once: beat runs outside a transaction); returns how many deliveries."""
    due = deliveries_due_by_site()
    for site_id, ids in due.items():
        for batch in batched(ids, SWEEP_BATCH):
            enqueue_on_commit(send_deliveries, site_id=site_id, delivery_ids=list(batch))
    total = sum(len(ids) for ids in due.values())
    if total:
        logger.info("Re-enqueued %s email deliveries", total)
    return total


@app.task(name="notifications.deliveries_prune")
def prune_deliveries() -> int:
    """Beat, daily: delete sent and failed deliveries past
    ``MATMIS_DELIVERY_RETENTION_DAYS`` (never one still to send); returns how many."""
    deleted = deliveries_prune()
    if deleted:
        logger.info("Deleted %s email deliveries past their retention period", deleted)
    return deleted
