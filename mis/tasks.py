"""Celery tasks of the MIS: thin, they call ``mis.rollups``."""

from matmis.celery import app, enqueue_on_commit
from matmis.tasks import SiteTask

from .partitions import attendance_partitions_ensure
from .rollups import rollups_due_school_ids, rollups_school_is_due, school_rollups_replace


@app.task(base=SiteTask, name="mis.refresh_school_rollups", acks_late=True)
def refresh_school_rollups(*, site_id: int) -> None:
    """One school's figures, if still due, in a transaction bound to the school."""
    if rollups_school_is_due(school_id=site_id):
        school_rollups_replace(school_id=site_id)


@app.task(name="mis.rollups_refresh_due", acks_late=True)
def refresh_due_rollups() -> int:
    """Beat, every few minutes: a refresh task for every school that is due (run by as
    many workers as there are); returns how many were enqueued. A school whose task is
    lost (the broker was down) is still due, and enqueued again next time."""
    school_ids = rollups_due_school_ids()
    for school_id in school_ids:
        enqueue_on_commit(refresh_school_rollups, site_id=school_id)
    return len(school_ids)


@app.task(name="mis.attendance_partitions_ensure", acks_late=True)
def ensure_attendance_partitions() -> int:
    """Beat, daily: this academic year's and next year's partitions of the marks exist
    (``mis.partitions``); returns how many were made."""
    return attendance_partitions_ensure()
