"""Housekeeping in beat: expired sessions, old failed sign-ins, audit and delivery
retention. What goes, what stays, and that the application still cannot delete a recent
audit event itself."""

import datetime

import psycopg
import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent, SignInFailure
from accounts.retention import AUDIT_MINIMUM_RETENTION_DAYS
from accounts.tasks import clear_expired_sessions, prune_audit_events, prune_sign_in_failures
from matmis.celery import app
from matmis.db_roles import APP_FUNCTIONS, app_role
from notifications.models import DeliveryStatus, EmailDelivery
from notifications.tasks import prune_deliveries
from tests.factories import TrustFactory
from tests.security.test_database_roles import (  # noqa: F401 - a fixture
    _login_as,
    application_login,
)

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
HOUSEKEEPING_TASKS = {
    "accounts.sessions_clear_expired",
    "accounts.sign_in_failures_prune",
    "accounts.provider_sign_ins_prune",
    "accounts.audit_events_prune",
    "notifications.deliveries_prune",
}


def test_every_housekeeping_job_is_scheduled_in_beat_and_registered(settings):
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled >= HOUSEKEEPING_TASKS
    assert set(app.tasks) >= HOUSEKEEPING_TASKS


def test_expired_sessions_go_and_live_ones_stay():
    now = timezone.now()
    Session.objects.create(session_key="expired" * 4, session_data="x", expire_date=now - DAY)
    Session.objects.create(session_key="livelive" * 4, session_data="x", expire_date=now + DAY)
    clear_expired_sessions.apply().get()
    clear_expired_sessions.apply().get()  # idempotent
    assert list(Session.objects.values_list("session_key", flat=True)) == ["livelive" * 4]


def test_failed_sign_ins_older_than_a_day_go_and_those_the_lock_out_counts_stay():
    trust = TrustFactory()
    now = timezone.now()
    old = SignInFailure.objects.create(email="a@example.test", site=trust, at=now - 2 * DAY)
    recent = SignInFailure.objects.create(
        email="b@example.test", site=trust, at=now - datetime.timedelta(minutes=10)
    )
    yesterday = SignInFailure.objects.create(
        email="c@example.test", site=trust, at=now - datetime.timedelta(hours=23)
    )
    assert prune_sign_in_failures.apply().get() == 1
    assert prune_sign_in_failures.apply().get() == 0
    assert not SignInFailure.objects.filter(pk=old.pk).exists()
    assert set(SignInFailure.objects.values_list("pk", flat=True)) == {recent.pk, yesterday.pk}


def _event(at: datetime.datetime) -> AuditEvent:
    return AuditEvent.objects.create(
        actor_email="someone@example.test", action=AuditAction.SIGN_IN, at=at
    )


def test_audit_events_past_the_retention_period_go_and_younger_ones_stay(settings):
    settings.MATMIS_AUDIT_RETENTION_DAYS = 400
    now = timezone.now()
    old = _event(now - 401 * DAY)
    kept = [_event(now - 399 * DAY), _event(now - DAY), _event(now)]
    assert prune_audit_events.apply().get() == 1
    assert prune_audit_events.apply().get() == 0  # idempotent
    assert not AuditEvent.objects.filter(pk=old.pk).exists()
    assert set(AuditEvent.objects.values_list("pk", flat=True)) == {e.pk for e in kept}


def test_a_retention_period_below_the_minimum_is_refused_and_deletes_nothing(settings):
    settings.MATMIS_AUDIT_RETENTION_DAYS = AUDIT_MINIMUM_RETENTION_DAYS - 1
    event = _event(timezone.now() - (AUDIT_MINIMUM_RETENTION_DAYS + 1) * DAY)
    with pytest.raises(ImproperlyConfigured, match="at least 365"):
        prune_audit_events.apply().get()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_application_still_cannot_delete_a_recent_audit_event():
    with connection.cursor() as cursor:  # the tests work as the app role (SET ROLE)
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == app_role()
    recent = _event(timezone.now() - 30 * DAY)
    old = _event(timezone.now() - 3000 * DAY)
    # A DELETE of its own: refused outright, even of an old event.
    with (
        pytest.raises(DatabaseError, match="permission denied"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM accounts_auditevent WHERE id = %s", [recent.pk])
    # The retention function with a cut-off that would reach it: refused.
    for cutoff in (timezone.now(), timezone.now() - 364 * DAY, None):
        with (
            pytest.raises(DatabaseError, match="kept for at least 365 days"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("SELECT accounts_auditevent_delete_older_than(%s)", [cutoff])
    assert set(AuditEvent.objects.values_list("pk", flat=True)) == {recent.pk, old.pk}


def test_only_the_application_role_may_execute_the_retention_function():
    signature = next(iter(APP_FUNCTIONS))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_function_privilege(%s, %s, 'EXECUTE'), "
            "has_function_privilege('public', %s, 'EXECUTE'), p.prosecdef "
            "FROM pg_proc p WHERE p.oid = to_regprocedure(%s)",
            [app_role(), signature, signature, signature],
        )
        app_may, public_may, security_definer = cursor.fetchone()
    assert (app_may, public_may, security_definer) == (True, False, True)


def _delivery(site, key: str, status: str, age: datetime.timedelta) -> EmailDelivery:
    delivery = EmailDelivery.objects.create(
        site=site,
        address=f"{key}@example.test",
        kind="test",
        topic="test",
        dedupe_key=key,
        builder="test",
        status=status,
    )
    EmailDelivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - age)
    return delivery


def test_old_sent_and_failed_deliveries_go_and_pending_or_recent_ones_stay(settings):
    settings.MATMIS_DELIVERY_RETENTION_DAYS = 30
    trust = TrustFactory()
    gone = {
        _delivery(trust, "old-sent", DeliveryStatus.SENT, 31 * DAY).pk,
        _delivery(trust, "old-failed", DeliveryStatus.FAILED, 31 * DAY).pk,
    }
    kept = {
        _delivery(trust, "old-queued", DeliveryStatus.QUEUED, 300 * DAY).pk,
        _delivery(trust, "old-retrying", DeliveryStatus.RETRYING, 300 * DAY).pk,
        _delivery(trust, "old-sending", DeliveryStatus.SENDING, 300 * DAY).pk,
        _delivery(trust, "recent-sent", DeliveryStatus.SENT, 29 * DAY).pk,
        _delivery(trust, "recent-failed", DeliveryStatus.FAILED, DAY).pk,
    }
    assert prune_deliveries.apply().get() == 2
    assert prune_deliveries.apply().get() == 0  # idempotent
    remaining = set(EmailDelivery.objects.values_list("pk", flat=True))
    assert remaining == kept
    assert not remaining & gone


@pytest.mark.django_db(transaction=True)
def test_in_production_the_applications_own_login_cannot_delete_a_recent_audit_event(
    application_login,  # noqa: F811 - the fixture imported above
):
    role, password = application_login
    recent = _event(timezone.now() - 30 * DAY)
    old = _event(timezone.now() - 3000 * DAY)
    with _login_as(role, password) as app, app.cursor() as cursor:
        cursor.execute("RESET ROLE")
        for statement, params in (
            ("DELETE FROM accounts_auditevent WHERE id = %s", [recent.pk]),
            ("SELECT accounts_auditevent_delete_older_than(now())", []),
            ("SELECT accounts_auditevent_delete_older_than(now() - interval '364 days')", []),
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                cursor.execute(statement, params)
        # What retention allows: events older than the cut-off, through the function.
        cursor.execute("SELECT accounts_auditevent_delete_older_than(now() - interval '2000 days')")
        assert cursor.fetchone() == (1,)
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not AuditEvent.objects.filter(pk=old.pk).exists()
