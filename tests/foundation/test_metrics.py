"""Prometheus metrics (``matmis.metrics``, ``portal.metrics``): on the platform host only,
for the operator's networks only; request latency by route name (never a raw path), Celery
task counts and failures, outbox depth and roll-up lag."""

import datetime
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from matmis.metrics import count_task, count_task_failure
from mis.models import RollupState
from mis.rollups import rollups_oldest_due_since
from notifications.models import DeliveryStatus, EmailDelivery
from tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db


def scrape(client, **extra):
    return client.get("/metrics", HTTP_HOST=settings.BASE_DOMAIN, **extra)


def samples(response) -> dict:
    """``{(name, frozenset(labels)): value}`` of a scrape."""
    assert response.status_code == 200
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_loopback_reads_the_metrics(client):
    response = scrape(client)
    assert response["Content-Type"].startswith("text/plain")
    assert "matmis_http_request_duration_seconds" in response.content.decode()


def test_anyone_else_gets_the_not_found_page(client):
    response = scrape(client, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 404
    assert b"matmis_" not in response.content


def test_the_allowed_networks_are_settings_and_use_the_real_client_address(client):
    with override_settings(MATMIS_METRICS_ALLOWED_NETWORKS=["10.1.0.0/16"]):
        assert scrape(client, REMOTE_ADDR="10.1.2.3").status_code == 200
        assert scrape(client).status_code == 404  # loopback is no longer allowed
    # Behind one proxy: the address the proxy saw, never what the client wrote before it.
    with override_settings(
        MATMIS_METRICS_ALLOWED_NETWORKS=["10.1.0.0/16"], MATMIS_TRUSTED_PROXIES=1
    ):
        forwarded = {"REMOTE_ADDR": "172.16.0.2"}
        assert scrape(client, HTTP_X_FORWARDED_FOR="10.1.2.3", **forwarded).status_code == 200
        spoofed = "10.1.2.3, 203.0.113.9"
        assert scrape(client, HTTP_X_FORWARDED_FOR=spoofed, **forwarded).status_code == 404


def test_metrics_are_not_served_on_a_site_host(site_client, trust):
    assert site_client(trust).get("/metrics").status_code == 404


def test_request_latency_is_labelled_by_route_name_never_the_path(client, site_client, trust):
    before = samples(scrape(client))
    site_client(trust).get("/institutions/123456/")
    site_client(trust).get("/healthz")
    after = samples(scrape(client))
    count = "matmis_http_request_duration_seconds_count"
    healthz = value(after, count, route="healthz", method="GET", status="2xx")
    assert healthz == value(before, count, route="healthz", method="GET", status="2xx") + 1
    detail = sum(
        v
        for (name, labels), v in after.items()
        if name == count and ("route", "institutions:detail") in labels
    )
    assert detail >= 1
    routes = {dict(labels).get("route") for (name, labels) in after if name == count}
    assert not any("/" in route for route in routes)


def test_task_counts_and_failures():
    task = SimpleNamespace(name="tests.metrics.task")
    count_task(task=task, state="SUCCESS")
    count_task(task=task, state="FAILURE")
    count_task_failure(sender=task, exception=ValueError("x"))
    from prometheus_client import REGISTRY

    get = REGISTRY.get_sample_value
    assert get("matmis_celery_tasks_total", {"task": task.name, "state": "SUCCESS"}) >= 1
    assert get("matmis_celery_tasks_total", {"task": task.name, "state": "FAILURE"}) >= 1
    assert (
        get("matmis_celery_task_failures_total", {"task": task.name, "exception": "ValueError"})
        >= 1
    )


def _delivery(site, n, status):
    return EmailDelivery.objects.create(
        site=site,
        address=f"reader{n}@example.test",
        kind="note",
        topic="notes:1",
        dedupe_key=f"metrics:{site.pk}:{n}",
        builder="tests.note",
        status=status,
    )


def test_outbox_depth_counts_deliveries_waiting(client, trust):
    waiting = [DeliveryStatus.QUEUED, DeliveryStatus.RETRYING, DeliveryStatus.SENDING]
    for n, status in enumerate([*waiting, DeliveryStatus.SENT, DeliveryStatus.FAILED]):
        _delivery(trust, n, status)
    assert value(samples(scrape(client)), "matmis_outbox_pending_deliveries") == 3


def test_rollup_lag_is_the_age_of_the_oldest_due_school(client):
    now = timezone.now()
    today = timezone.localdate(now)
    assert value(samples(scrape(client)), "matmis_rollup_lag_seconds") == 0
    fresh, stale = InstitutionFactory(), InstitutionFactory()
    RollupState.objects.create(school=fresh, changed_at=now, refreshed_at=now, refreshed_for=today)
    RollupState.objects.create(
        school=stale,
        changed_at=now - datetime.timedelta(hours=3),
        refreshed_at=now - datetime.timedelta(hours=5),
        refreshed_for=today,
    )
    assert rollups_oldest_due_since(now=now) == now - datetime.timedelta(hours=3)
    lag = value(samples(scrape(client)), "matmis_rollup_lag_seconds")
    assert 3 * 3600 <= lag < 3 * 3600 + 60


def test_figures_counted_for_an_earlier_day_are_due_since_midnight():
    now = timezone.now()
    today = timezone.localdate(now)
    school = InstitutionFactory()
    RollupState.objects.create(
        school=school,
        changed_at=now,
        refreshed_at=now,
        refreshed_for=today - datetime.timedelta(days=1),
    )
    since = rollups_oldest_due_since(now=now)
    assert timezone.localtime(since).time() == datetime.time.min
    assert timezone.localdate(since) == today


def test_the_scrape_queries_stay_constant_as_data_grows(client, trust, django_assert_num_queries):
    for n in range(3):
        _delivery(trust, n, DeliveryStatus.QUEUED)
    # The outbox count; the roll-up lag's aggregate and its earlier-day check.
    with django_assert_num_queries(3):
        scrape(client)
    for n in range(3, 30):
        _delivery(trust, n, DeliveryStatus.QUEUED)
    with django_assert_num_queries(3):
        scrape(client)


def test_a_worker_serves_its_own_task_counts_only_when_asked(monkeypatch):
    import socket
    import urllib.request

    from matmis import metrics

    started = []
    monkeypatch.setattr(metrics, "start_http_server", lambda *a, **k: started.append((a, k)))
    with override_settings(MATMIS_WORKER_METRICS_PORT=0):
        metrics.serve_worker_metrics()
    assert started == []
    monkeypatch.undo()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with override_settings(MATMIS_WORKER_METRICS_PORT=port):
        metrics.serve_worker_metrics()
    count_task(task=SimpleNamespace(name="tests.metrics.worker"), state="SUCCESS")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        body = answer.read().decode()
    assert 'matmis_celery_tasks_total{state="SUCCESS",task="tests.metrics.worker"}' in body


def test_several_processes_add_up_through_the_multiprocess_directory(tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR (gunicorn workers, prefork children), each process
    writes its figures there and a scrape adds them up."""
    import os
    import subprocess
    import sys

    count = (
        "import django; django.setup();"
        "from types import SimpleNamespace; from matmis.metrics import count_task;"
        "count_task(task=SimpleNamespace(name='tests.multi'), state='SUCCESS')"
    )
    read = (
        "import django; django.setup(); from matmis.metrics import process_registry;"
        "print(process_registry().get_sample_value("
        "'matmis_celery_tasks_total', {'task': 'tests.multi', 'state': 'SUCCESS'}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "matmis.settings.base",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }

    def run(code):
        return subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()

    run(count)
    run(count)
    assert run(read) == "2.0"
