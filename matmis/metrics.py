"""Prometheus metrics kept by every process: request latency by route and Celery task counts.

The figures read from the database at each scrape (outbox depth, roll-up lag) and the
``/metrics`` page itself are in ``portal.metrics``. Routes are named by their URL pattern's
name (``institutions:detail``), never by the raw path, so identifiers in paths never become
labels. With several processes (gunicorn workers), set ``PROMETHEUS_MULTIPROC_DIR`` to an
empty directory shared by them before they start: prometheus-client then keeps the figures
in files there and ``/metrics`` adds them up.
"""

import ipaddress
import os
import time

from celery.signals import task_failure, task_postrun, worker_ready
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    multiprocess,
    start_http_server,
)

from .client_address import client_address

REQUEST_LATENCY = Histogram(
    "matmis_http_request_duration_seconds",
    "Time to answer a request, by route (the URL pattern's name), method and status class.",
    ["route", "method", "status"],
)
TASKS_RUN = Counter(
    "matmis_celery_tasks",
    "Celery tasks run to their end, by task and outcome (the task's final state).",
    ["task", "state"],
)
TASKS_FAILED = Counter(
    "matmis_celery_task_failures",
    "Celery tasks that raised, by task and exception class.",
    ["task", "exception"],
)

_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def route_name(request: HttpRequest) -> str:
    """The URL pattern's name of the request (``unmatched`` when none resolved it)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    name = match.view_name or "unnamed"
    return f"platform {name}" if getattr(request, "site", None) is None else name


class RequestLatencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in _METHODS else "other"
        REQUEST_LATENCY.labels(
            route_name(request), method, f"{response.status_code // 100}xx"
        ).observe(time.perf_counter() - started)
        return response


def metrics_reader_allowed(request: HttpRequest) -> bool:
    """Whether the client is on one of ``MATMIS_METRICS_ALLOWED_NETWORKS``."""
    address = client_address(request)
    if address is None:
        return False
    address = ipaddress.ip_address(address)
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in settings.MATMIS_METRICS_ALLOWED_NETWORKS
    )


@task_postrun.connect(dispatch_uid="matmis.metrics.task_postrun")
def count_task(task=None, state=None, **kwargs) -> None:
    TASKS_RUN.labels(getattr(task, "name", "unknown"), state or "unknown").inc()


@task_failure.connect(dispatch_uid="matmis.metrics.task_failure")
def count_task_failure(sender=None, exception=None, **kwargs) -> None:
    TASKS_FAILED.labels(getattr(sender, "name", "unknown"), type(exception).__name__).inc()


def process_registry():
    """The registry to serve: this process's own, or, with ``PROMETHEUS_MULTIPROC_DIR`` set,
    the figures every process wrote there added up."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


@worker_ready.connect(dispatch_uid="matmis.metrics.worker_ready")
def serve_worker_metrics(**kwargs) -> None:
    """A worker's task counts live in the worker's processes: with
    ``MATMIS_WORKER_METRICS_PORT`` set, the worker serves them itself, for the operator's
    Prometheus (on ``MATMIS_WORKER_METRICS_ADDRESS``, default loopback only). With the
    prefork pool the tasks run in child processes: set ``PROMETHEUS_MULTIPROC_DIR`` for the
    worker too, so their counts are added up here."""
    port = settings.MATMIS_WORKER_METRICS_PORT
    if port:
        start_http_server(
            port, addr=settings.MATMIS_WORKER_METRICS_ADDRESS, registry=process_registry()
        )
