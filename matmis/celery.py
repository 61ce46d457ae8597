"""The Celery application.

With ``REDIS_URL`` set, tasks go to a real worker (and beat) through Redis. Without it,
``CELERY_TASK_ALWAYS_EAGER`` runs them in this process. Either way they are only ever
enqueued through ``enqueue_on_commit``, so they run after the transaction that asked for
them has committed, and never for one that rolled back.

The rows a task works on are its outbox: written in the request's transaction, relayed to
the broker after commit. A broker that cannot be reached then never fails the request
(``publish``): the rows wait, visibly, for their sweep (``deliveries_retry_due`` for emails).
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


def publish(task, /, **kwargs) -> bool:
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
    """Send ``task`` with keyword arguments once the current transaction commits; if the
    broker cannot be reached then, log it and carry on (``publish``).

    Pass ids, never model instances: the task refetches what it needs.
    """
    transaction.on_commit(partial(publish, task, **kwargs), robust=False)
