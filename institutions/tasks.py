"""Celery tasks of institutions: thin, they take ids and call a service."""

from matmis.celery import app, enqueue_on_commit

from .register_import import register_import_run, register_imports_due_ids


@app.task(name="institutions.run_register_import")
def run_register_import(*, register_import_id: int) -> None:
    """Run a queued register import (queued by ``register_import_upload``)."""
    register_import_run(register_import_id=register_import_id)


@app.task(name="institutions.register_imports_retry_due")
def register_imports_retry_due() -> int:
    """Beat: queue again every upload whose import was lost (queued while the broker was
    down, or its worker died). Returns how many were found; each is published at once
    (beat runs outside a transaction), or, with the broker still down, left for the next
    sweep."""
    due = register_imports_due_ids()
    for register_import_id in due:
        enqueue_on_commit(run_register_import, register_import_id=register_import_id)
    return len(due)
