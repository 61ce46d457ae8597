"""Housekeeping of what accounts keeps: expired sessions, old failed sign-ins and audit
events past their retention period. Each function is set-based (one statement) and
idempotent; the beat tasks in ``accounts.tasks`` call them.

The application may not delete audit events (``matmis.db_roles``: APPEND), so retention
goes through the database function ``accounts_auditevent_delete_older_than``, which runs
as the tables' owner and refuses any cut-off less than ``AUDIT_MINIMUM_RETENTION_DAYS``
ago: whatever the application's connection says, a recent event stays.
"""

import datetime
from importlib import import_module

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone

from accounts.identity.sign_in import FAILURE_RETENTION, sign_in_failures_prune

# The database function refuses shorter periods (migration 0014_audit_retention_function).
AUDIT_MINIMUM_RETENTION_DAYS = 365


def sessions_clear_expired() -> None:
    """Delete expired sessions, as ``manage.py clearsessions`` does (the session engine's
    own ``clear_expired``)."""
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()


def sign_in_failures_clear_old() -> int:
    """Delete failed sign-ins older than the throttling needs (``FAILURE_RETENTION``, far
    beyond the lock-out windows); returns how many went."""
    return sign_in_failures_prune(older_than=FAILURE_RETENTION)


def audit_retention_days() -> int:
    """``MATMIS_AUDIT_RETENTION_DAYS``; ImproperlyConfigured below the minimum."""
    days = settings.MATMIS_AUDIT_RETENTION_DAYS
    if days < AUDIT_MINIMUM_RETENTION_DAYS:
        raise ImproperlyConfigured(
            f"MATMIS_AUDIT_RETENTION_DAYS must be at least {AUDIT_MINIMUM_RETENTION_DAYS}, "
            f"not {days}: the database keeps audit events for at least that long."
        )
    return days


def audit_events_prune(*, now: datetime.datetime | None = None) -> int:
    """Delete audit events older than the retention period; returns how many went."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=audit_retention_days())
    with connection.cursor() as cursor:
        cursor.execute("SELECT accounts_auditevent_delete_older_than(%s)", [cutoff])
        return cursor.fetchone()[0]
