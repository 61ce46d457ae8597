"""Readiness (``/readyz``, ``matmis.readiness``) with each dependency stopped in turn, on
throwaway servers: a Redis started for the test and stopped, a database address where
nothing listens, no Celery worker, a storage that fails. Liveness (``/healthz``) stays the
cheap check."""

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db.backends.postgresql.base import DatabaseWrapper
from django.test import override_settings

from matmis import readiness

pytestmark = pytest.mark.django_db

needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None,
    reason="redis-server is not installed: scripts/test installs it (ensure_redis)",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, *, timeout: float = 30.0, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"Gave up after {timeout:.0f} s waiting for {what}.")


class ThrowawayRedis:
    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, what=f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def throwaway_redis():
    server = ThrowawayRedis()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh_answers(settings):
    """Each request of these tests runs the checks (no answer reused)."""
    settings.MATMIS_READINESS_CACHE_SECONDS = 0


class FailingStorage(FileSystemStorage):
    def _save(self, name, content):
        raise OSError("the disk is full")


def readyz(client):
    return client.get("/readyz", HTTP_HOST=settings.BASE_DOMAIN)


def test_ready_when_everything_answers(client):
    response = readyz(client)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert body["checks"]["database"] == {"status": "ok", "detail": "ok"}
    assert body["checks"]["storage"] == {"status": "ok", "detail": "ok"}
    # No REDIS_URL in the tests: tasks run in process, nothing to ask.
    assert body["checks"]["redis"]["detail"] == "not configured"
    assert body["checks"]["celery"]["detail"] == "not configured"


def test_readyz_is_on_every_site_host_too(site_client, trust):
    response = site_client(trust).get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_healthz_stays_cheap_while_readiness_fails(client, monkeypatch):
    monkeypatch.setitem(readiness.CHECKS, "storage", lambda: 1 / 0)
    assert readyz(client).status_code == 503
    health = client.get("/healthz", HTTP_HOST=settings.BASE_DOMAIN)
    assert health.status_code == 200 and health.json() == {"status": "ok"}


def test_the_database_unreachable_is_named(client, monkeypatch):
    closed = {
        **settings.DATABASES["default"],
        "HOST": "127.0.0.1",
        "PORT": str(free_port()),  # nothing listens there
        "OPTIONS": {"connect_timeout": 2},
    }
    unreachable = DatabaseWrapper(closed, alias="readiness-probe")
    monkeypatch.setattr(readiness, "_database_connection", lambda: unreachable)
    try:
        response = readyz(client)
    finally:
        unreachable.close()
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["database"]
    assert body["checks"]["database"] == {"status": "failing", "detail": "OperationalError"}


def test_storage_that_fails_is_named(client):
    failing = {**settings.STORAGES, "default": {"BACKEND": f"{__name__}.FailingStorage"}}
    with override_settings(STORAGES=failing):
        response = readyz(client)
    assert response.status_code == 503
    assert response.json()["failing"] == ["storage"]
    assert response.json()["checks"]["storage"]["detail"] == "OSError"


def test_the_storage_probe_leaves_nothing_behind(client, tmp_path):
    storage = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    with override_settings(STORAGES=storage, MEDIA_ROOT=tmp_path):
        assert readyz(client).status_code == 200
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []


@needs_redis_server
def test_redis_then_workers_stopped_in_turn(client, throwaway_redis):
    with override_settings(REDIS_URL=throwaway_redis.url, MATMIS_READINESS_TIMEOUT=0.5):
        # Redis answers, but no worker listens on it.
        response = readyz(client)
        assert response.status_code == 503
        body = response.json()
        assert body["checks"]["redis"] == {"status": "ok", "detail": "ok"}
        assert body["failing"] == ["celery"]

        throwaway_redis.stop()
        response = readyz(client)
        assert response.status_code == 503
        assert response.json()["failing"] == ["redis", "celery"]
        assert response.json()["checks"]["redis"]["detail"] == "ConnectionError"


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@needs_redis_server
def test_ready_with_a_worker_answering(client, throwaway_redis, tmp_path):
    """A real worker on the throwaway Redis: every check passes; stopped, celery fails."""
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "matmis.settings.base",
        "MATMIS_ENV": "development",
        "DATABASE_URL": _database_url(),
        "DB_CONN_MAX_AGE": "0",
        "REDIS_URL": throwaway_redis.url,
    }
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                *("-m", "celery", "-A", "matmis", "worker", "--pool", "solo"),
                *("--without-gossip", "--without-mingle", "--loglevel", "INFO"),
                *("-n", f"readiness-test-{os.getpid()}@%h"),
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        with override_settings(REDIS_URL=throwaway_redis.url, MATMIS_READINESS_TIMEOUT=1.0):
            wait_for(
                lambda: readyz(client).status_code == 200 or worker.poll() is not None,
                timeout=60,
                what="the worker to answer",
            )
            assert worker.poll() is None, log.read_text()
            body = readyz(client).json()
            assert body["checks"]["celery"] == {"status": "ok", "detail": "1 worker(s) answered"}

            worker.terminate()
            worker.wait(timeout=30)
            response = readyz(client)
            assert response.status_code == 503
            assert response.json()["failing"] == ["celery"]
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def test_an_answer_is_reused_for_a_few_seconds(client, settings, monkeypatch):
    settings.MATMIS_READINESS_CACHE_SECONDS = 60
    calls = []
    monkeypatch.setitem(readiness.CHECKS, "storage", lambda: calls.append(1) or "ok")
    monkeypatch.setattr(readiness, "_last", None)
    assert [readyz(client).status_code for _ in range(3)] == [200, 200, 200]
    assert calls == [1]
    settings.MATMIS_READINESS_CACHE_SECONDS = 0
    readyz(client)
    assert calls == [1, 1]
