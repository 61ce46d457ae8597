"""The Celery application.

With ``REDIS_URL`` set, tasks go to a real worker (and beat) through Redis. Without it,
``CELERY_TASK_ALWAYS_EAGER`` runs them in this process. Either way every app enqueues them
through ``enqueue_on_commit`` and nothing else, so they run after the transaction that asked
for them has committed, and never for one that rolled back (a beat sweep, outside any
transaction, publishes at once through the same call).

The rows a task works on are its outbox: written in the request's transaction, relayed to
the broker after commit. A broker that cannot be reached then never fails the request
(``_publish``): the rows wait, visibly, for their sweep (``deliveries_retry_due`` for
emails). Without a broker the task runs in process and its own errors are raised, as in a
worker: a task that must not fail the request that queued it catches its own (the email
tasks keep a mail server's errors for their retries).

Work on one site's rows runs in a worker through ``matmis.tasks.SiteTask``.
"""

import logging
import os
import time
from functools import partial

from celery import Celery
from django.db import transaction
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "matmis.settings.base")

app = Celery("matmis")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)

BROKER_ERRORS = (OperationalError, OSError)
# After a broker error, publishing is not tried again for this long: a burst (a bulk send
# queues a task per school) then costs one failed connection (about 0.6 s with Celery's
# publish retries), not one per task.
BROKER_PAUSE = 10.0
_broker_down_until = 0.0


def _publish(task, /, **kwargs) -> bool:
    """Send ``task`` now; False, with a warning, when the broker cannot be reached (the
    caller's rows then wait for their sweep). Never raises a broker error."""
    global _broker_down_until
    if not task.app.conf.task_always_eager and time.monotonic() < _broker_down_until:
        logger.warning("Broker unreachable a moment ago: %s left for its sweep", task.name)
        return False
    try:
        task.apply_async(kwargs=kwargs)
    except BROKER_ERRORS as error:
        if task.app.conf.task_always_eager:
            raise  # the task itself failed in process: not a broker error
        _broker_down_until = time.monotonic() + BROKER_PAUSE
        logger.warning("Could not reach the broker (%s): %s left for its sweep", error, task.name)
        return False
    return True


def enqueue_on_commit(task, /, **kwargs) -> None:
    """Send ``task`` with keyword arguments once the current transaction commits (at once
    outside a transaction); if the broker cannot be reached then, log it and carry on
    (``_publish``). The one way any app enqueues a task.

    Pass ids, never model instances: the task refetches what it needs.
    """
    transaction.on_commit(partial(_publish, task, **kwargs), robust=False)


# The signal handlers that carry the request id into tasks and count tasks for the metrics.
from . import metrics, request_context  # noqa: E402, F401
