"""Servers that the fault scenarios (``bench/scenarios/faults.py``) and tests
(``tests/notifications/test_faults.py``) start, break on purpose and bring back.

Each runs in a process (group) of its own on 127.0.0.1, at a free port that it keeps when
it is stopped and started again (the server "comes back" where the application expects
it), and is stopped, with its data, by ``stop()`` or the ``with`` block, whatever happens:

- ``RedisServer``: a throwaway ``redis-server`` (no persistence);
- ``SmtpSink``: an aiosmtpd server that keeps every message, appends its Message-ID to a
  file (so duplicates are counted where they arrive) and answers "250" ``delay`` seconds
  later: a client killed meanwhile leaves the server holding a message it never heard
  accepted, the worst case for duplicates;
- ``CeleryWorker``: ``celery -A matmis worker`` on a given database, broker and mail server,
  which ``kill()`` ends with SIGKILL, children and all;
- ``PostgresCluster``: a throwaway PostgreSQL cluster, started by ``scripts/devdb`` (its own
  data folder under /var/tmp and port, as the server user when run as root), restarted with
  ``pg_ctl restart -m fast``;
- ``Gunicorn``: the project under gunicorn (gthread);
- ``publishing_to(url)``: this process's Celery app publishes to a real broker instead of
  running tasks in process.

Nothing here imports Django at module level: the bench imports it before Django is set up.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager, suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], object], *, timeout: float = START_TIMEOUT, what: str):
    """Poll ``condition`` every 50 ms until it is true (returned); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"Gave up after {timeout:.0f} s waiting for {what}.")
        time.sleep(0.05)


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop_group(process: subprocess.Popen | None, *, timeout: float = 15.0) -> None:
    """SIGTERM to the process group, SIGKILL when it outlives ``timeout``."""
    if process is None or process.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class _Server:
    """Start/stop, usable as a context manager that starts it (unless ``autostart`` is
    false) and always stops it and cleans up."""

    autostart = True

    def __enter__(self):
        try:
            if self.autostart:
                self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


# --- Redis -----------------------------------------------------------------------------------


class RedisServer(_Server):
    """A throwaway redis-server on 127.0.0.1 (no snapshot, no append-only file)."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - redis-server, fixed arguments
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(lambda: self.ping() or self.process.poll() is not None, what="Redis to start")
        if self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited ({self.process.returncode})")

    def stop(self) -> None:
        """Down, as a crash takes it: SIGKILL, nothing saved."""
        if self.process is not None and self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    close = stop


# --- SMTP ------------------------------------------------------------------------------------

_SINK = textwrap.dedent(
    """
    import asyncio, sys
    from email.parser import BytesHeaderParser
    from aiosmtpd.controller import Controller

    port, delay, record = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    out = open(record, "a", buffering=1)

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            # The message is the server's once its data is in (counted here); the reply
            # comes ``delay`` later. A client that dies meanwhile never hears "250".
            headers = BytesHeaderParser().parsebytes(envelope.content)
            out.write((headers["Message-ID"] or "(none)").strip() + "\\n")
            if delay:
                await asyncio.sleep(delay)
            return "250 2.0.0 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()
    """
)


class SmtpSink(_Server):
    """An aiosmtpd server in a subprocess that keeps every message, appends its Message-ID
    to a file (``message_ids()`` counts them) and only then answers, ``delay`` seconds
    later. Stopped and started again, it keeps its port and its count. Until ``start()``
    (or after ``stop()``) nothing listens on the port: connections are refused.
    ``down=True``: the ``with`` block does not start it."""

    def __init__(self, *, port: int | None = None, delay: float = 0.0, down: bool = False):
        self.port = port or free_port()
        self.delay = delay
        self.autostart = not down
        self.process: subprocess.Popen | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="matmis-fault-smtp-"))
        self.record = self._dir / "message-ids.txt"
        self.record.touch()

    @staticmethod
    def available() -> bool:
        try:
            import aiosmtpd  # noqa: F401
        except ImportError:
            return False
        return True

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [PYTHON, "-c", _SINK, str(self.port), str(self.delay), str(self.record)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            start_new_session=True,
        )
        if self.process.stdout.readline().strip() != b"ready":
            self.stop()
            raise RuntimeError("the SMTP sink did not start")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        with suppress(OSError):
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _stop_group(process)
        with suppress(OSError):
            process.stdout.close()

    def message_ids(self) -> Counter:
        """How many times each Message-ID arrived."""
        return Counter(self.record.read_text().split())

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


# --- Celery ----------------------------------------------------------------------------------


def worker_env(*, database_url: str, broker_url: str, smtp_port: int) -> dict[str, str]:
    """The environment of a worker on this database, broker and local mail server."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "matmis.settings.base",
        "MATMIS_ENV": "development",
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url,
        "DB_CONN_MAX_AGE": "0",
        "REDIS_URL": broker_url,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EMAIL_USE_TLS": "false",
        "EMAIL_USE_SSL": "false",
        "EMAIL_TIMEOUT": "10",
    }


class CeleryWorker(_Server):
    """``celery -A matmis worker`` (prefork, ``concurrency`` processes) in a process group of
    its own; ``kill()`` is ``kill -9`` of the whole group."""

    def __init__(self, env: dict[str, str], *, concurrency: int = 2, name: str = "fault"):
        self.env = env
        self.concurrency = concurrency
        self.name = name
        self.process: subprocess.Popen | None = None
        handle, path = tempfile.mkstemp(prefix=f"matmis-fault-worker-{name}-", suffix=".log")
        os.close(handle)
        self.log = Path(path)

    def start(self) -> None:
        offset = self.log.stat().st_size
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and project
                [
                    PYTHON,
                    "-m",
                    "celery",
                    "-A",
                    "matmis",
                    "worker",
                    "--pool",
                    "prefork",
                    "--concurrency",
                    str(self.concurrency),
                    "--loglevel",
                    "INFO",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-n",
                    f"{self.name}-{os.getpid()}-{time.monotonic_ns()}@%h",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def ready() -> bool:
            return b"ready." in self.log.read_bytes()[offset:] or self.process.poll() is not None

        wait_for(ready, what="the Celery worker to start")
        if self.process.poll() is not None:
            raise RuntimeError(f"the Celery worker exited:\n{_tail(self.log)}")

    def kill(self) -> None:
        """SIGKILL to the worker and its pool processes at once: nothing is acknowledged,
        nothing is recorded, nothing is cleaned up."""
        if self.process is not None and self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        _stop_group(self.process)

    def tail(self) -> str:
        return _tail(self.log, 40)

    def close(self) -> None:
        self.stop()
        self.log.unlink(missing_ok=True)


@contextmanager
def publishing_to(broker_url: str):
    """This process's Celery app publishes to ``broker_url`` (and does not run tasks in
    process) for the block; as it was afterwards."""
    from matmis.celery import app

    conf = app.conf
    saved = (conf.broker_url, conf.task_always_eager)
    conf.broker_url, conf.task_always_eager = broker_url, False
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield app
    finally:
        with suppress(Exception):
            app.pool.force_close_all()
        conf.broker_url, conf.task_always_eager = saved
        app._pool = None
        app.amqp._producer_pool = None


# --- PostgreSQL ------------------------------------------------------------------------------


class PostgresCluster(_Server):
    """A throwaway PostgreSQL cluster made and started by ``scripts/devdb`` (data folder
    under /var/tmp, its own port, superuser ``matmis`` with trust authentication on
    127.0.0.1; run as the ``postgres`` user when we are root). ``close()`` destroys it."""

    DEVDB = ROOT / "scripts" / "devdb"

    def __init__(self, *, port: int | None = None, database: str = "matmis_fault"):
        self.port = port or free_port()
        self.database = database
        self.base = Path(tempfile.mkdtemp(prefix="matmis-fault-pg-", dir="/var/tmp"))
        self.base.chmod(0o755)  # the server user must reach the data folder
        self.data = self.base / "postgres"

    @property
    def url(self) -> str:
        return f"postgres://matmis@127.0.0.1:{self.port}/{self.database}"

    def _devdb(self, command: str) -> None:
        env = {
            **os.environ,
            "MATMIS_PG_DIR": str(self.data),
            "MATMIS_PG_PORT": str(self.port),
            "MATMIS_DB_NAME": self.database,
        }
        done = subprocess.run(  # noqa: S603 - the project's own script
            [str(self.DEVDB), command], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"scripts/devdb {command} failed: {done.stderr.strip()}")

    def start(self) -> None:
        self._devdb("start")

    def _pg_ctl(self) -> list[str]:
        version = (self.data / "PG_VERSION").read_text().strip()
        pg_ctl = Path(f"/usr/lib/postgresql/{version}/bin/pg_ctl")
        command = [str(pg_ctl) if pg_ctl.exists() else shutil.which("pg_ctl") or "pg_ctl"]
        if os.geteuid() == 0:
            owner = pwd.getpwuid(self.data.stat().st_uid).pw_name
            command = ["runuser", "-u", owner, "--", *command]
        return command

    def restart(self, *, mode: str = "fast") -> None:
        """``pg_ctl restart -m fast``: sessions are ended, the server stops and starts
        again; returns once it accepts connections."""
        done = subprocess.run(  # noqa: S603 - pg_ctl on our own cluster
            [
                *self._pg_ctl(),
                "restart",
                "-D",
                str(self.data),
                "-m",
                mode,
                "-w",
                "-t",
                "60",
                "-s",
                "-l",
                f"{self.data}.log",  # or the server would hold our pipe open
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl restart failed: {done.stdout}{done.stderr}")

    def close(self) -> None:
        try:
            if (self.data / "PG_VERSION").exists():
                self._devdb("destroy")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


# --- gunicorn --------------------------------------------------------------------------------


class Gunicorn(_Server):
    """The project under gunicorn (gthread) on 127.0.0.1, in a process group of its own."""

    def __init__(self, env: dict[str, str], *, workers: int = 2, threads: int = 4):
        self.env = env
        self.workers = workers
        self.threads = threads
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        handle, path = tempfile.mkstemp(prefix="matmis-fault-gunicorn-", suffix=".log")
        os.close(handle)
        self.log = Path(path)

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - the project's own gunicorn
                [
                    str(ROOT / ".venv" / "bin" / "gunicorn"),
                    "matmis.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--worker-class",
                    "gthread",
                    "--workers",
                    str(self.workers),
                    "--threads",
                    str(self.threads),
                    "--timeout",
                    "30",
                    "--graceful-timeout",
                    "5",
                    "--chdir",
                    str(ROOT),
                    "--error-logfile",
                    "-",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(
            lambda: listening(self.port) or self.process.poll() is not None,
            what="gunicorn to listen",
        )
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{_tail(self.log)}")

    def tail(self) -> str:
        return _tail(self.log, 40)

    def close(self) -> None:
        _stop_group(self.process)
        self.log.unlink(missing_ok=True)


# --- A small site to serve -------------------------------------------------------------------

SITE_SLUG = "fault-trust"
SITE_USER_EMAIL = "fault-staff@example.test"


def seed_site() -> dict[str, str]:
    """A trust with three schools and a member of its staff signed in (no second factor),
    in the database Django is set up on; returns its ``host`` and session ``cookie``
    (signed with this process's SECRET_KEY: the server must share it)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from accounts.models import StaffProfile, User
    from institutions.models import GroupMembership, Institution, InstitutionKind, Status
    from matmis.tenancy import SESSION_SITE_KEY, session_mark

    trust, _ = Institution.objects.get_or_create(
        slug=SITE_SLUG, defaults={"kind": InstitutionKind.TRUST, "name": "Fault Trust"}
    )
    for n in range(3):
        school, _ = Institution.objects.get_or_create(
            slug=f"fault-school-{n}",
            defaults={
                "kind": InstitutionKind.SCHOOL,
                "name": f"Fault School {n}",
                "status": Status.OPEN,
                "urn": f"{990000 + n}",
            },
        )
        GroupMembership.objects.get_or_create(group=trust, school=school)
    user, _ = User.objects.get_or_create(email=SITE_USER_EMAIL, defaults={"full_name": "Fault"})
    StaffProfile.objects.get_or_create(site=trust, user=user)

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[SESSION_SITE_KEY] = session_mark(trust)
    session.save()
    return {
        "host": f"{trust.slug}.{settings.BASE_DOMAIN}",
        "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
    }


if __name__ == "__main__":
    # python -m bench.faults_support seed-site: seed_site() in DATABASE_URL, as JSON.
    import json

    if sys.argv[1:] != ["seed-site"]:
        sys.exit("usage: python -m bench.faults_support seed-site")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "matmis.settings.base")
    import django

    django.setup()
    print(json.dumps(seed_site()))
