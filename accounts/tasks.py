"""Celery beat tasks of accounts: housekeeping, thin, calling ``accounts.retention``
(scheduled in ``CELERY_BEAT_SCHEDULE``). Each is idempotent: running one twice, or late,
removes nothing more than running it once on time."""

import logging

from matmis.celery import app

from .identity.provider import provider_sign_ins_prune
from .retention import audit_events_prune, sessions_clear_expired, sign_in_failures_clear_old

logger = logging.getLogger(__name__)


@app.task(name="accounts.sessions_clear_expired")
def clear_expired_sessions() -> None:
    """Delete expired sessions (``clearsessions``)."""
    sessions_clear_expired()


@app.task(name="accounts.sign_in_failures_prune")
def prune_sign_in_failures() -> int:
    """Delete failed sign-ins the throttling no longer looks at; returns how many."""
    deleted = sign_in_failures_clear_old()
    if deleted:
        logger.info("Deleted %s old failed sign-in record(s)", deleted)
    return deleted


@app.task(name="accounts.provider_sign_ins_prune")
def prune_provider_sign_ins() -> int:
    """Delete sign-ins with Microsoft or Google started over a day ago (their state, nonce
    and handover token are long spent or expired); returns how many."""
    deleted = provider_sign_ins_prune()
    if deleted:
        logger.info("Deleted %s old provider sign-in record(s)", deleted)
    return deleted


@app.task(name="accounts.audit_events_prune")
def prune_audit_events() -> int:
    """Delete audit events past ``MATMIS_AUDIT_RETENTION_DAYS``; returns how many."""
    deleted = audit_events_prune()
    if deleted:
        logger.info("Deleted %s audit event(s) past their retention period", deleted)
    return deleted
