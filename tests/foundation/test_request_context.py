"""Request ids, JSON logs and error tracking (``matmis.request_context``,
``matmis.error_tracking``): every log line of a request, and of the tasks it queued, names
the request; the id is answered in ``X-Request-ID`` and shown on the error pages."""

import json
import logging
import os
import subprocess
import sys
from types import SimpleNamespace
from unittest import mock

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory

from matmis import request_context
from matmis.celery import app
from matmis.request_context import (
    JsonFormatter,
    LogContextFilter,
    RequestIdMiddleware,
    add_context_to_task_headers,
    bind_task_context,
    unbind_task_context,
)
from tests.conftest import SiteClient
from tests.foundation.test_readiness import (
    ThrowawayRedis,
    needs_redis_server,
    wait_for,
)
from tests.foundation.test_readiness import _database_url as database_url

pytestmark = pytest.mark.django_db

logger = logging.getLogger("matmis.tests.request_context")


class Captured(logging.Handler):
    """Keeps the records it is given, after the context filter has run."""

    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(LogContextFilter())

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def captured():
    handler = Captured()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


def test_every_response_has_a_request_id(site_client, trust):
    first = site_client(trust).get("/healthz")["X-Request-ID"]
    second = site_client(trust).get("/healthz")["X-Request-ID"]
    assert len(first) == 32 and first != second


def test_a_safe_incoming_request_id_is_kept(site_client, trust):
    response = site_client(trust).get("/healthz", HTTP_X_REQUEST_ID="lb-1234abcd-5678")
    assert response["X-Request-ID"] == "lb-1234abcd-5678"


@pytest.mark.parametrize(
    "incoming", ["short", "x" * 65, "has space-1234", "<script>alert(1)</script>", "a\u00e9bcdefgh"]
)
def test_an_unsafe_incoming_request_id_is_replaced(site_client, trust, incoming):
    response = site_client(trust).get("/healthz", HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-ID"] != incoming
    assert request_context.SAFE_REQUEST_ID.fullmatch(response["X-Request-ID"])


def test_djangos_own_line_for_a_404_carries_the_id(site_client, trust, captured):
    response = site_client(trust).get("/no-such-page/")
    [record] = [r for r in captured.records if r.name == "django.request"]  # once, not twice
    assert record.getMessage() == "Not Found: /no-such-page/"
    assert record.request_id == response["X-Request-ID"]
    assert record.site_id == trust.pk


def test_refusals_before_any_view_carry_the_id_too(client):
    response = client.get("/", HTTP_HOST=f"no-such-site.{settings.BASE_DOMAIN}")
    assert response.status_code == 404
    assert response["X-Request-ID"]


def test_the_404_and_403_pages_show_the_request_id(site_client, trust, trust_staff):
    response = site_client(trust, trust_staff).get("/no-such-page/")
    assert response.status_code == 404
    assert response["X-Request-ID"] in response.content.decode()
    assert "quote this reference" in response.content.decode()

    # A form that did not come from the site: the 403 page.
    client = SiteClient(trust, enforce_csrf_checks=True)
    response = client.post("/accounts/sign-in/", {}, HTTP_X_REQUEST_ID="quote-me-123")
    assert response.status_code == 403
    assert '<code class="mm-request-id">quote-me-123</code>' in response.content.decode()


def test_the_500_page_shows_the_request_id():
    from matmis.views import server_error

    request = RequestFactory().get("/")
    request.request_id = "abcdef12-500"
    response = server_error(request)
    assert response.status_code == 500
    assert '<code class="mm-request-id">abcdef12-500</code>' in response.content.decode()


def test_log_lines_of_a_request_carry_its_id_site_and_user(
    site_client, trust, trust_staff, captured
):
    def view(request):
        logger.info("inside the request")
        return HttpResponse("ok")

    with mock.patch("portal.views.HomeView.get", lambda self, request: view(request)):
        response = site_client(trust, trust_staff).get("/")
    record = next(r for r in captured.records if r.getMessage() == "inside the request")
    assert record.request_id == response["X-Request-ID"]
    assert record.site_id == trust.pk
    assert record.user_id == trust_staff.pk

    logger.info("outside any request")
    outside = captured.records[-1]
    assert (outside.request_id, outside.site_id, outside.user_id) == (None, None, None)


def test_json_lines_have_the_context_fields():
    record = logging.LogRecord("matmis.x", logging.ERROR, __file__, 1, "failed %s", ("once",), None)
    record.request_id, record.site_id, record.user_id = "abcdefgh12", 3, 7
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed once"
    assert line["level"] == "ERROR"
    assert line["logger"] == "matmis.x"
    assert (line["request_id"], line["site_id"], line["user_id"]) == ("abcdefgh12", 3, 7)


def test_log_format_is_plain_in_tests_and_the_handler_has_the_filter():
    assert settings.LOG_FORMAT == "plain"
    handler = settings.LOGGING["handlers"]["console"]
    assert handler["formatter"] == "plain" and handler["filters"] == ["context"]
    assert "%(request_id)s" in settings.LOGGING["formatters"]["plain"]["format"]


# --- The same id in the web's and the worker's lines ----------------------------------------


def test_a_task_queued_by_a_request_logs_with_the_requests_id(captured):
    """The web side publishes (``before_task_publish`` puts the id in the headers); later,
    in the worker, ``task_prerun`` binds it for the task's lines."""
    published_headers = {}

    def view(request):
        request._cached_user = SimpleNamespace(pk=41, is_authenticated=True)
        logger.info("web line")
        add_context_to_task_headers(headers=published_headers)
        return HttpResponse("ok")

    request = RequestFactory().get("/", HTTP_X_REQUEST_ID="web-to-worker-0001")
    request.site = SimpleNamespace(pk=5)
    response = RequestIdMiddleware(view)(request)

    # The worker: the message's headers become the task's request attributes.
    task = SimpleNamespace(
        request=SimpleNamespace(is_eager=False, headers=None, **published_headers)
    )
    bind_task_context(task=task, kwargs={"site_id": 5})
    logger.info("worker line")
    unbind_task_context(task=task)
    logger.info("after the task")

    web, worker, after = (
        next(r for r in captured.records if r.getMessage() == message)
        for message in ("web line", "worker line", "after the task")
    )
    assert web.request_id == worker.request_id == response["X-Request-ID"]
    assert (worker.site_id, worker.user_id) == (5, 41)
    assert after.request_id is None


@app.task(name="tests.request_context.log_a_line")
def log_a_line(*, site_id: int) -> None:
    logger.info("task line")


def test_a_task_run_eagerly_logs_with_the_requests_id(captured):
    def view(request):
        log_a_line.apply_async(kwargs={"site_id": 9})
        return HttpResponse("ok")

    response = RequestIdMiddleware(view)(RequestFactory().get("/"))
    record = next(r for r in captured.records if r.getMessage() == "task line")
    assert record.request_id == response["X-Request-ID"]
    assert record.site_id == 9


def test_a_task_published_outside_a_request_gets_an_id_of_its_own(captured):
    headers = {}
    add_context_to_task_headers(headers=headers)
    assert headers == {}
    task = SimpleNamespace(request=SimpleNamespace(is_eager=False, headers=None))
    bind_task_context(task=task, kwargs={})
    logger.info("beat task line")
    unbind_task_context(task=task)
    assert request_context.SAFE_REQUEST_ID.fullmatch(captured.records[-1].request_id)


# --- Sentry ------------------------------------------------------------------------------------


def _sentry_state(extra_env: dict) -> dict:
    """Settings loaded in a fresh process: whether Sentry is on, and its options."""
    code = (
        "import django, json, sentry_sdk; django.setup(); c = sentry_sdk.get_client();"
        "print(json.dumps({'active': c.is_active(), 'pii': c.options.get('send_default_pii'),"
        "'env': c.options.get('environment'), 'release': c.options.get('release'),"
        "'integrations': sorted(c.integrations)}))"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SENTRY_") and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update({"DJANGO_SETTINGS_MODULE": "matmis.settings.base", **extra_env})
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_a_dsn_sentry_is_never_started():
    state = _sentry_state({})
    assert state["active"] is False


def test_with_a_dsn_sentry_reports_web_and_worker_errors_without_personal_data():
    state = _sentry_state(
        {
            "SENTRY_DSN": "https://public@sentry.invalid/1",
            "SENTRY_ENVIRONMENT": "staging",
            "SENTRY_RELEASE": "matmis@1.2.3",
        }
    )
    assert state["active"] is True
    assert state["pii"] is False
    assert (state["env"], state["release"]) == ("staging", "matmis@1.2.3")
    assert {"django", "celery"} <= set(state["integrations"])


# --- For real: a worker on a throwaway Redis, its JSON lines --------------------------------


@pytest.fixture
def publish_to(request):
    """This process's Celery app publishes to ``url`` instead of running tasks in process."""
    conf = app.conf
    saved = (conf.broker_url, conf.task_always_eager)

    def switch(url):
        conf.broker_url, conf.task_always_eager = url, False
        app._pool = None
        app.amqp._producer_pool = None

    yield switch
    if app._pool is not None:
        app.pool.force_close_all()
    conf.broker_url, conf.task_always_eager = saved
    app._pool = None
    app.amqp._producer_pool = None


@needs_redis_server
def test_one_request_has_the_same_id_in_web_and_worker_lines(captured, publish_to, tmp_path):
    from mis.tasks import refresh_due_rollups

    redis = ThrowawayRedis()
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "matmis.settings.base",
        "MATMIS_ENV": "development",
        "DATABASE_URL": database_url(),
        "DB_CONN_MAX_AGE": "0",
        "REDIS_URL": redis.url,
        "LOG_FORMAT": "json",
    }
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                *("-m", "celery", "-A", "matmis", "worker", "--pool", "solo"),
                *("--without-gossip", "--without-mingle", "--loglevel", "INFO"),
                *("-n", f"request-id-test-{os.getpid()}@%h"),
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(
            lambda: b"ready." in log.read_bytes() or worker.poll() is not None,
            timeout=60,
            what="the worker to start",
        )
        assert worker.poll() is None, log.read_text()
        publish_to(redis.url)

        def view(request):
            logger.info("web line before queueing")
            refresh_due_rollups.apply_async()
            return HttpResponse("ok")

        response = RequestIdMiddleware(view)(RequestFactory().get("/"))
        request_id = response["X-Request-ID"]

        def worker_lines():
            lines = []
            for raw in log.read_text().splitlines():
                try:
                    lines.append(json.loads(raw))
                except ValueError:
                    continue  # the worker's start-up banner is not a log line
            return lines

        def task_done():
            return any("succeeded" in line["message"] for line in worker_lines())

        wait_for(task_done, timeout=60, what="the task to run in the worker")
        done = next(line for line in worker_lines() if "succeeded" in line["message"])
        assert "mis.rollups_refresh_due" in done["message"]
        assert done["request_id"] == request_id
        web = next(r for r in captured.records if r.getMessage() == "web line before queueing")
        assert web.request_id == request_id
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        redis.stop()


# --- Settings --------------------------------------------------------------------------------


def test_production_logs_json_lines_by_default():
    from tests.foundation.test_settings import run_django

    result = run_django(
        [
            "shell",
            "-c",
            "import logging; logging.getLogger('matmis.x').warning('hello %s', 'there')",
        ],
        MATMIS_ENV="production",
        DJANGO_SECRET_KEY="k" * 60,
        BASE_DOMAIN="matmis.example",
    )
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello there" and line["level"] == "WARNING"
    assert (line["request_id"], line["site_id"], line["user_id"]) == (None, None, None)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be 'json' or 'plain'"),
        ("MATMIS_METRICS_ALLOWED_NETWORKS", "10.0.0.0/8,intranet", "not 'intranet'"),
    ],
)
def test_bad_observability_settings_refuse_to_start(variable, value, message):
    from tests.foundation.test_settings import run_django

    result = run_django(["check"], **{variable: value})
    assert result.returncode != 0
    assert message in result.stderr
