"""Celery tasks of notifications: thin, they take ids and call ``notifications.services``.

SMTP and network errors are retried with exponential backoff and jitter (up to eight
retries, at most ten minutes apart); ``acks_late`` returns a task to the queue when its
worker dies. Without a broker (``CELERY_TASK_ALWAYS_EAGER``, the demo) a task runs inside
the request that queued it: it tries once and never raises a mail error into that
request; the delivery stays RETRYING (or FAILED), visibly, for the sweep.

The beat task ``deliveries_retry_due`` (``CELERY_BEAT_SCHEDULE``) re-enqueues deliveries
whose task was lost: queued while the broker was down, out of retries while the mail
server was down, or claimed by a worker that died.
"""

import logging
from collections.abc import Callable
from itertools import batched
from smtplib import SMTPException

from matmis.celery import app

from .services import deliveries_due_ids, deliveries_send, request_deliveries_send

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


@app.task(name="notifications.send_request_emails", bind=True, **RETRY_POLICY)
def send_request_emails(self, *, request_id: int, kind: str, reminder_id: int | None = None) -> int:
    """Send the request's (or reminder's) emails still to be sent; returns how many."""
    return _send(
        self, request_deliveries_send, request_id=request_id, kind=kind, reminder_id=reminder_id
    )


@app.task(name="notifications.send_deliveries", bind=True, **RETRY_POLICY)
def send_deliveries(self, *, delivery_ids: list[int]) -> int:
    """Send these deliveries, those still to be sent; returns how many."""
    return _send(self, deliveries_send, delivery_ids=delivery_ids)


@app.task(name="notifications.deliveries_retry_due")
def deliveries_retry_due() -> int:
    """Re-enqueue every delivery whose task was lost, in batches; returns how many."""
    ids = deliveries_due_ids()
    for batch in batched(ids, SWEEP_BATCH):
        send_deliveries.apply_async(kwargs={"delivery_ids": list(batch)})
    if ids:
        logger.info("Re-enqueued %s email deliveries", len(ids))
    return len(ids)
