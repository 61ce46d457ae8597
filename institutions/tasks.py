"""Celery tasks of institutions: thin, they take ids and call a service."""

from matmis.celery import app

from .register_import import register_import_run


@app.task(name="institutions.run_register_import")
def run_register_import(*, register_import_id: int) -> None:
    """Run a queued register import (queued by ``register_import_upload``)."""
    register_import_run(register_import_id=register_import_id)
