"""Who and what each log line is about: the request id, the site and the user, on every line
of a request and of the Celery tasks it queued.

- ``RequestIdMiddleware`` (first in MIDDLEWARE) gives every request an id: the incoming
  ``X-Request-ID`` when it is a safe token (``SAFE_REQUEST_ID``), a new one otherwise. The id
  is answered in the ``X-Request-ID`` response header and shown on the error pages, so a
  person can quote it.
- ``LogContextFilter`` (on the log handlers, settings ``LOGGING``) writes ``request_id``,
  ``site_id`` and ``user_id`` onto every record; ``JsonFormatter`` writes one JSON object a
  line (``LOG_FORMAT=json``), the plain format shows the same fields (``LOG_FORMAT=plain``).
- A task published during a request carries the id and the user in its headers
  (``before_task_publish``); the worker binds them, with the task's ``site_id``, for as long
  as the task runs (``task_prerun`` / ``task_postrun``). A task published with no request
  (a beat sweep) gets an id of its own.

The user id is written once the request has looked the user up (the site check does, for
every page): a log line never queries the database.
"""

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.http import HttpRequest, HttpResponse
from django.utils.log import log_response

REQUEST_ID_HEADER = "X-Request-ID"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{8,64}")
# Names of the task message headers that carry the context from the web to the worker.
TASK_REQUEST_ID_HEADER = "matmis_request_id"
TASK_USER_ID_HEADER = "matmis_user_id"


class LogContext:
    """The context of the work in progress: a request's (site and user read from the
    request) or a task's (given)."""

    __slots__ = ("request", "request_id", "site_id", "user_id")

    def __init__(self, request_id: str, *, request=None, site_id=None, user_id=None):
        self.request_id = request_id
        self.request = request
        self.site_id = site_id
        self.user_id = user_id

    def current_site_id(self) -> int | None:
        if self.request is not None:
            site = getattr(self.request, "site", None)
            return site.pk if site is not None else None
        return self.site_id

    def current_user_id(self) -> int | None:
        if self.request is not None:
            # Only a user the request has already looked up: never a query from a log line.
            user = self.request.__dict__.get("_cached_user")
            return user.pk if user is not None and user.is_authenticated else None
        return self.user_id


_context: ContextVar[LogContext | None] = ContextVar("matmis_log_context", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id of the request (or task) in progress, or None outside any."""
    context = _context.get()
    return context.request_id if context is not None else None


def request_id_from_header(value: str | None) -> str:
    """The incoming id when it is a safe token, otherwise a new one: an id is written into
    logs and a response header, so nothing else from a client is ever repeated."""
    if value and SAFE_REQUEST_ID.fullmatch(value):
        return value
    return new_request_id()


class RequestIdMiddleware:
    """Binds the request's id for its log lines and answers it in ``X-Request-ID``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id_from_header(request.headers.get(REQUEST_ID_HEADER))
        token = _context.set(LogContext(request.request_id, request=request))
        try:
            response = self.get_response(request)
            if response.status_code >= 400:
                # Django would log it after the middleware, outside the request's context.
                log_response(
                    "%s: %s",
                    response.reason_phrase,
                    request.path,
                    response=response,
                    request=request,
                )
        finally:
            _context.reset(token)
        response[REQUEST_ID_HEADER] = request.request_id
        return response


class LogContextFilter(logging.Filter):
    """Adds ``request_id``, ``site_id`` and ``user_id`` to every record (None outside a
    request or task), for both formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        record.request_id = context.request_id if context else None
        record.site_id = context.current_site_id() if context else None
        record.user_id = context.current_user_id() if context else None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, the context fields, and
    the exception when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "site_id": getattr(record, "site_id", None),
            "user_id": getattr(record, "user_id", None),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


# --- Celery: the id travels in the task's headers ----------------------------------------------


@before_task_publish.connect(dispatch_uid="matmis.request_context.publish")
def add_context_to_task_headers(headers=None, **kwargs) -> None:
    context = _context.get()
    if context is None or headers is None:
        return
    headers.setdefault(TASK_REQUEST_ID_HEADER, context.request_id)
    headers.setdefault(TASK_USER_ID_HEADER, context.current_user_id())


def _task_header(task, name: str):
    request = task.request
    value = getattr(request, name, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(name)
    return value


@task_prerun.connect(dispatch_uid="matmis.request_context.prerun")
def bind_task_context(task=None, kwargs=None, **extra) -> None:
    request_id = _task_header(task, TASK_REQUEST_ID_HEADER)
    user_id = _task_header(task, TASK_USER_ID_HEADER)
    outer = _context.get()
    if request_id is None and outer is not None and task.request.is_eager:
        # Run in process (no broker): the request's own context goes on.
        request_id, user_id = outer.request_id, outer.current_user_id()
    if request_id is None or not SAFE_REQUEST_ID.fullmatch(str(request_id)):
        request_id = new_request_id()
    site_id = (kwargs or {}).get("site_id")
    context = LogContext(request_id, site_id=site_id, user_id=user_id)
    task.request.matmis_log_context_token = _context.set(context)


@task_postrun.connect(dispatch_uid="matmis.request_context.postrun")
def unbind_task_context(task=None, **kwargs) -> None:
    token = getattr(task.request, "matmis_log_context_token", None)
    if token is not None:
        task.request.matmis_log_context_token = None
        try:
            _context.reset(token)
        except ValueError:  # set in another context (should not happen): just clear
            _context.set(None)
