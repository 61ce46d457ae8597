"""Email, roll-ups and imports on queues of their own; the read-replica router; the
settings a transaction-mode pooler needs."""

import importlib
import importlib.util

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from matmis.celery import app
from matmis.queues import DEFAULT, EMAIL, IMPORTS, QUEUES, ROLLUPS, queue_for_task
from matmis.replica import REPLICA, ReplicaRouter, group_reads
from mis.models import AttendanceRollup, Pupil, WeeklyAttendance


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("notifications.send_emails", EMAIL),
        ("notifications.send_deliveries", EMAIL),
        ("notifications.deliveries_retry_due", EMAIL),
        ("mis.rollups_refresh_due", ROLLUPS),
        ("mis.refresh_school_rollups", ROLLUPS),
        ("mis.attendance_partitions_ensure", ROLLUPS),
        ("institutions.run_register_import", IMPORTS),
        ("institutions.register_imports_retry_due", IMPORTS),
        ("accounts.sessions_clear_expired", DEFAULT),
    ],
)
def test_each_kind_of_work_has_its_own_queue(task, queue):
    assert queue_for_task(task) == queue
    assert app.amqp.router.route({}, task)["queue"].name == queue


def test_every_registered_task_lands_on_a_known_queue():
    for config in apps.get_app_configs():
        if importlib.util.find_spec(f"{config.name}.tasks"):
            importlib.import_module(f"{config.name}.tasks")
    names = [name for name in app.tasks if not name.startswith("celery.")]
    assert names
    assert {queue_for_task(name) for name in names} <= set(QUEUES)


def test_group_reads_of_figures_go_to_the_replica_only_when_one_is_set(settings):
    router = ReplicaRouter()
    assert router.db_for_read(AttendanceRollup) is None
    with group_reads():
        assert router.db_for_read(AttendanceRollup) is None  # no replica: the primary
    settings.DATABASES = {**settings.DATABASES, REPLICA: settings.DATABASES["default"]}
    with group_reads():
        assert router.db_for_read(AttendanceRollup) == REPLICA
        assert router.db_for_read(WeeklyAttendance) == REPLICA
        assert router.db_for_read(Pupil) is None  # pupil data: bound on the primary only
    assert router.db_for_read(AttendanceRollup) is None  # outside the block
    assert router.db_for_write(AttendanceRollup) == "default"
    assert router.allow_migrate(REPLICA, "mis") is False
    assert router.allow_migrate("default", "mis") is True


def _database_settings_with(monkeypatch, **environment) -> dict:
    """The default database's settings as the settings module makes them from
    ``environment`` (the module is loaded again, then restored)."""
    import matmis.settings.base as base

    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    try:
        return dict(importlib.reload(base).DATABASES["default"])
    finally:
        for name in environment:
            monkeypatch.delenv(name)
        importlib.reload(base)


def test_behind_a_transaction_pooler_no_server_side_cursors_and_no_foreign_set_role(
    monkeypatch,
):
    database = _database_settings_with(
        monkeypatch, DATABASE_POOLER="transaction", DATABASE_APP_ROLE=""
    )
    assert database["DISABLE_SERVER_SIDE_CURSORS"] is True
    with pytest.raises(ImproperlyConfigured, match="SET ROLE"):
        _database_settings_with(
            monkeypatch, DATABASE_POOLER="transaction", DATABASE_APP_ROLE="someone_else"
        )
    with pytest.raises(ImproperlyConfigured, match="DATABASE_POOLER"):
        _database_settings_with(monkeypatch, DATABASE_POOLER="session")
