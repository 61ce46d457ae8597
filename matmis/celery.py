"""The Celery application.

With ``REDIS_URL`` set, tasks go to a real worker (and beat) through Redis. Without it,
``CELERY_TASK_ALWAYS_EAGER`` runs them in this process. Either way they are only ever
enqueued through ``enqueue_on_commit``, so they run after the transaction that asked for
them has committed, and never for one that rolled back.
"""

import os
from functools import partial

from celery import Celery
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "matmis.settings.base")

app = Celery("matmis")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def enqueue_on_commit(task, /, **kwargs) -> None:
    """Send ``task`` with keyword arguments once the current transaction commits.

    Pass ids, never model instances: the task refetches what it needs.
    """
    transaction.on_commit(partial(task.apply_async, kwargs=kwargs), robust=False)
