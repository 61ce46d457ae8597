"""The Celery path for real: a worker in a subprocess, a real Redis broker and a real SMTP
server (an aiosmtpd sink on loopback) that refuses the first message once.

The emails are queued exactly as a bulk send queues them (on commit, through the broker);
the worker sends them, retries the refused one with backoff, and each recipient gets
exactly one email. Redis: 127.0.0.1:6379, database 9 (scripts/test starts a Redis when
none answers; without one this test is skipped, saying so).
"""

import os
import socket
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from matmis.celery import app
from notifications.models import DeliveryStatus, EmailDelivery
from sharing.emails import EmailKind, request_emails_enqueue
from tests.notifications.factories import make_pair, make_request

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_URL = os.environ.get("MATMIS_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
QUEUE = "matmis-test-notifications"
ROOT = Path(settings.BASE_DIR)
WAIT = 60.0


def wait_for(condition, *, timeout: float = WAIT, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"Gave up after {timeout:.0f} s waiting for {what}.")


@pytest.fixture
def redis_broker():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(
            f"No Redis answers at {REDIS_URL}: scripts/test starts one (ensure_redis); "
            "install redis-server to run this test."
        )
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


class Sink:
    """An SMTP server's handler keeping what it accepts; refuses the next ``refuse``
    messages with a temporary error."""

    def __init__(self, refuse: int = 0):
        self.refuse = refuse
        self.accepted: list = []
        self.refused = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse > 0:
            self.refuse -= 1
            self.refused += 1
            return "451 4.3.0 Try again later"
        self.accepted.append(envelope)
        return "250 2.0.0 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_sink():
    Controller = pytest.importorskip("aiosmtpd.controller").Controller

    sink = Sink(refuse=1)
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.port = controller.port
    yield sink
    controller.stop()


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(redis_broker, smtp_sink, tmp_path):
    """A Celery worker (solo pool) on the test database, the Redis database and the sink."""
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "matmis.settings.base",
        "MATMIS_ENV": "development",
        "DATABASE_URL": _database_url(),
        "DB_CONN_MAX_AGE": "0",
        "REDIS_URL": REDIS_URL,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_sink.port),
        "EMAIL_USE_TLS": "false",
        "EMAIL_USE_SSL": "false",
        "EMAIL_TIMEOUT": "10",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "matmis",
                "worker",
                "--pool",
                "solo",
                "-Q",
                QUEUE,
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"notifications-test-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(
            lambda: b"ready." in log.read_bytes() or process.poll() is not None,
            what="the Celery worker to start",
        )
        assert process.poll() is None, log.read_text()
        process.log = log
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _forget_routing():
    """Celery builds its router and default queue once and keeps them: rebuild them from
    the configuration as it is now."""
    for cached in ("router", "default_queue"):
        app.amqp.__dict__.pop(cached, None)
    app.amqp.flush_routes()


@pytest.fixture
def publish_to_redis(redis_broker):
    """This process's Celery app publishes to the Redis broker (on the worker's queue),
    instead of running tasks in process as the test settings do. Every task goes to the
    test's own queue: the product's routes (``matmis.queues``) are off while it runs."""
    conf = app.conf
    saved = (conf.broker_url, conf.task_always_eager, conf.task_default_queue, conf.task_routes)
    conf.broker_url, conf.task_always_eager, conf.task_default_queue = REDIS_URL, False, QUEUE
    conf.task_routes = ()
    _forget_routing()
    app._pool = None
    app.amqp._producer_pool = None
    yield
    app.pool.force_close_all()
    conf.broker_url, conf.task_always_eager, conf.task_default_queue, conf.task_routes = saved
    _forget_routing()
    app._pool = None
    app.amqp._producer_pool = None


def test_a_worker_sends_each_email_once_retrying_a_refused_one(worker, smtp_sink, publish_to_redis):
    pair = make_pair()
    request = make_request(pair)
    with transaction.atomic():
        request_emails_enqueue(requests=[request], kind=EmailKind.REQUEST)
        assert EmailDelivery.objects.filter(status=DeliveryStatus.QUEUED).count() == 2

    def all_sent() -> bool:
        return not EmailDelivery.objects.exclude(status=DeliveryStatus.SENT).exists()

    try:
        wait_for(all_sent, what="both deliveries to be sent")
    except AssertionError:
        print(worker.log.read_text())
        raise
    time.sleep(1.5)  # a duplicate would arrive by now

    assert smtp_sink.refused == 1
    recipients = sorted(rcpt for envelope in smtp_sink.accepted for rcpt in envelope.rcpt_tos)
    assert recipients == ["data@st-marys.test", "head@st-marys.test"]
    subjects = {
        message_from_bytes(envelope.content, policy=policy.default)["Subject"]
        for envelope in smtp_sink.accepted
    }
    assert subjects == {"Oak Ridge Trust asks to share data with St Mary’s: DfE Data & MIS Data"}
    attempts = sorted(EmailDelivery.objects.values_list("attempts", flat=True))
    assert attempts == [1, 2]  # the refused one went through on its retry
    assert all(d.sent_at for d in EmailDelivery.objects.all())
