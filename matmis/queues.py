"""Which Celery queue each task goes to: email, roll-ups and imports each have their own,
so a bulk send's thousands of emails never wait behind a night's roll-up refresh, a
national register import never holds up either, and each queue's workers scale apart
(compose runs a worker per queue: ``docker-compose.yml``).

- ``email``: the outbox (``notifications.*``: sending, retry sweeps, pruning);
- ``rollups``: the roll-up refresh sweep and its one task per due school, and the marks'
  partitions (``mis.*`` tasks of the roll-ups);
- ``imports``: any task whose name (after its app) says import (the GIAS register, a CTF);
- ``default``: everything else (housekeeping sweeps).

Routed by name (``CELERY_TASK_ROUTES``), so a task added later lands on a queue without
each app repeating the rule. Without a broker (the demo, the tests) tasks run in process
and queues play no part.
"""

DEFAULT = "default"
EMAIL = "email"
ROLLUPS = "rollups"
IMPORTS = "imports"
QUEUES = (DEFAULT, EMAIL, ROLLUPS, IMPORTS)

_ROLLUP_TASKS = (
    "mis.rollups_refresh_due",
    "mis.refresh_school_rollups",
    "mis.attendance_partitions_ensure",
)


def queue_for_task(name: str) -> str:
    """The queue of the task registered as ``name`` (``app.task_name``)."""
    _app, _dot, task = name.partition(".")
    if "import" in task:
        return IMPORTS
    if name.startswith("notifications."):
        return EMAIL
    if name in _ROLLUP_TASKS or task.startswith("rollup"):
        return ROLLUPS
    return DEFAULT


def route_task(name, args, kwargs, options, task=None, **kw) -> dict:
    """Celery's router (``CELERY_TASK_ROUTES``)."""
    return {"queue": queue_for_task(name)}
