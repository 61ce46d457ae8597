"""Celery tasks of the MIS: thin, they call ``mis.rollups``."""

from matmis.celery import app

from .rollups import rollups_refresh_due


@app.task(name="mis.rollups_refresh_due", acks_late=True)
def refresh_due_rollups() -> int:
    """Beat, every few minutes: refresh the figures of every school that is due."""
    return rollups_refresh_due()
