"""Readiness: can this process do its work now? ``/readyz`` asks each dependency in turn,
each within ``MATMIS_READINESS_TIMEOUT`` seconds:

- ``database``: ``SELECT 1`` on the default database;
- ``redis``: a PING to ``REDIS_URL`` (the broker and the shared cache);
- ``celery``: a ping answered by at least one worker through the broker;
- ``storage``: a small probe file written, read back and deleted in the default storage
  (where uploads go).

Without ``REDIS_URL`` tasks run in the web process (development), so ``redis`` and
``celery`` answer ``not configured`` and do not fail. ``/healthz`` (liveness) stays the cheap
check a container restart hangs on; ``/readyz`` is for a load balancer deciding whether to
send traffic, and for an operator's dashboard.
"""

import logging
import time
import uuid

import redis
from celery import Celery
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connections

logger = logging.getLogger(__name__)

OK = "ok"
NOT_CONFIGURED = "not configured"
PROBE_CONTENT = b"matmis readiness probe"


def _database_connection():
    return connections["default"]


def check_database() -> str:
    connection = _database_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return OK


def check_redis() -> str:
    if not settings.REDIS_URL:
        return NOT_CONFIGURED
    timeout = settings.MATMIS_READINESS_TIMEOUT
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout
    )
    try:
        client.ping()
    finally:
        client.close()
    return OK


def check_celery() -> str:
    if not settings.REDIS_URL:
        return NOT_CONFIGURED
    # A Celery app of its own on the broker (REDIS_URL): nothing of the process's app (its
    # pools, its connection) is borrowed, so a check never blocks or breaks its publishing.
    probe = Celery("matmis-readiness", broker=settings.REDIS_URL, set_as_current=False)
    try:
        probe.conf.broker_connection_timeout = settings.MATMIS_READINESS_TIMEOUT
        probe.conf.broker_connection_retry = False
        replies = probe.control.ping(timeout=settings.MATMIS_READINESS_TIMEOUT)
    finally:
        probe.close()
    if not replies:
        raise RuntimeError("no worker answered")
    return f"{len(replies)} worker(s) answered"


def check_storage() -> str:
    storage = storages["default"]
    name = storage.save(f"readiness/probe-{uuid.uuid4().hex}.txt", ContentFile(PROBE_CONTENT))
    try:
        with storage.open(name, "rb") as probe:
            if probe.read() != PROBE_CONTENT:
                raise RuntimeError("the probe file read back differently")
    finally:
        storage.delete(name)
    return OK


CHECKS = {
    "database": check_database,
    "redis": check_redis,
    "celery": check_celery,
    "storage": check_storage,
}


_last: tuple[float, bool, dict] | None = None


def readiness() -> tuple[bool, dict[str, dict[str, str]]]:
    """Every check's outcome (``{"status": "ok"|"failing", "detail": ...}``) and whether
    all passed. A check that raises is failing: the answer names the error's class only (it
    is public), the log has the whole message. The answer is reused for
    ``MATMIS_READINESS_CACHE_SECONDS``: the page is public, and a burst of requests must not
    become a burst of broker pings and storage writes."""
    global _last
    now = time.monotonic()
    if _last is not None and now - _last[0] < settings.MATMIS_READINESS_CACHE_SECONDS:
        return _last[1], _last[2]
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = {"status": "ok", "detail": check()}
        except Exception as error:
            logger.warning("Readiness: %s is failing: %r", name, error)
            results[name] = {"status": "failing", "detail": type(error).__name__}
    ready = all(result["status"] == "ok" for result in results.values())
    _last = (now, ready, results)
    return ready, results
