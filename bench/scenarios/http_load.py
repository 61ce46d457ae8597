"""Over HTTP under gunicorn: throughput of the busiest page against the minimal view, and
50 users over the main journeys (PERFORMANCE.md's HTTP row; issue 7's "Load").

The site is the browse scenario's: the register's largest local authority (600 current
schools among 50,000) with its clusters and the staff member ``bench-browse@example.test``
(``prepare_site``), signed in through a session made with Django's ``SessionStore`` in the
bench database, bound to the site as ``matmis.tenancy`` binds it, the person holding no
authenticator and the site not requiring two-factor sign-in.

gunicorn (gthread) serves the project on 127.0.0.1 at a free port, settings
``matmis.settings.base`` on the bench database, ``DJANGO_DEBUG=false``, a throwaway secret
key, ``MATMIS_ENV=development`` (no HTTPS redirect). ``wrk`` drives it with
``bench/load/journeys.lua``, which sets the site's Host header and the session cookie,
asks for its paths in turn and counts every non-2xx answer.

1. ``http_throughput_busiest_vs_minimal``: requests per second of Browse Institutions with
   a search and two filters (the browse scenario's ``QUERY``) against ``GET /healthz`` on
   the same host; same connections, the two taking turns.
2. ``http_load_50_users``: 50 connections over the main journeys for ``LOAD_SECONDS``
   (``BENCH_LOAD_SECONDS`` shortens it): p50 and p95 latency, requests per second and
   errors (non-2xx answers, socket errors and timeouts).

gunicorn is stopped at the end, whatever happens.
"""

import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from bench.harness import ROOT, Bench, scenario

LOAD_SECONDS = 60  # the 50-user run (BENCH_LOAD_SECONDS overrides it)
LOAD_CONNECTIONS = 50
RATIO_SECONDS = 5  # each side of the ratio, per turn
RATIO_TURNS = 2
WRK_THREADS = 2
WRK_TIMEOUT = "10s"  # a request slower than this counts as an error
GUNICORN_THREADS = 4
LUA = ROOT / "bench" / "load" / "journeys.lua"


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    non_2xx: int
    non_2xx_statuses: dict
    socket_errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


def _gunicorn_workers() -> int:
    return min(4, max(2, os.cpu_count() or 2))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wrk(bench: Bench) -> str:
    """The wrk binary, installed through apt when missing and we are root; else a skip."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        bench.progress("installing wrk (apt-get)")
        apt_get = shutil.which("apt-get") or "apt-get"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = [apt_get, "install", "-y", "-qq", "wrk"]
        if subprocess.run(install, env=apt_env, **quiet).returncode != 0:  # noqa: S603 - fixed arguments
            subprocess.run([apt_get, "update", "-qq"], env=apt_env, **quiet)  # noqa: S603 - fixed arguments
            subprocess.run(install, env=apt_env, **quiet)  # noqa: S603 - fixed arguments
        found = shutil.which("wrk")
        if found:
            return found
        bench.skip("wrk is not installed and apt-get could not install it")
    bench.skip("wrk is not installed (Debian: apt-get install wrk; needs root)")
    raise AssertionError  # unreachable: skip raises


def _signed_in_cookie(site, secret_key: str) -> tuple[str, object]:
    """A session of the site's staff member, signed in and bound to the site, stored in the
    bench database under gunicorn's secret key: (Cookie header value, the session)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.test import override_settings

    from matmis.tenancy import SESSION_SITE_KEY, session_mark

    store = import_module(settings.SESSION_ENGINE).SessionStore
    with override_settings(SECRET_KEY=secret_key):
        session = store()
        session[SESSION_KEY] = site.user._meta.pk.value_to_string(site.user)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = site.user.get_session_auth_hash()
        session[SESSION_SITE_KEY] = session_mark(site.group)
        session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}", session


def _no_two_factor(site) -> None:
    """The staff member has no authenticator and the site does not require one, so the
    session needs no code."""
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import SiteSecurityPolicy

    TOTPDevice.objects.filter(user=site.user).delete()
    StaticDevice.objects.filter(user=site.user).delete()
    SiteSecurityPolicy.objects.filter(site=site.group).update(require_two_factor=False)


@contextmanager
def gunicorn(bench: Bench, *, secret_key: str, base_domain: str):
    """gunicorn serving the project on 127.0.0.1 (a free port), stopped on the way out."""
    port = _free_port()
    workers = _gunicorn_workers()
    env = {
        **os.environ,
        "DATABASE_URL": bench.database_url,
        "DJANGO_SETTINGS_MODULE": "matmis.settings.base",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secret_key,
        "MATMIS_ENV": "development",
        "BASE_DOMAIN": base_domain,
        "LOG_LEVEL": "WARNING",
    }
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in the finally below
        prefix="bench-gunicorn-", suffix=".log", delete=False
    )
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "matmis.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        "gthread",
        "--workers",
        str(workers),
        "--threads",
        str(GUNICORN_THREADS),
        "--keep-alive",
        "5",
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
        "--chdir",
        str(ROOT),
        "--error-logfile",
        "-",
    ]
    bench.progress(
        f"starting gunicorn on 127.0.0.1:{port} ({workers} workers x "
        f"{GUNICORN_THREADS} threads, gthread)"
    )
    process = subprocess.Popen(  # noqa: S603 - the project's own gunicorn
        command,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the workers stop with it
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({process.returncode}): {_tail(log.name)}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"gunicorn did not listen in 60 s: {_tail(log.name)}"
                    ) from exc
                time.sleep(0.2)
        yield port, workers, log.name
    finally:
        _stop(process)
        log.close()
        Path(log.name).unlink(missing_ok=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def _tail(path: str, lines: int = 15) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _check_paths(port: int, host: str, cookie: str, paths: list[str]) -> None:
    """Every path answers 200 to the signed-in staff member (no redirect to sign-in)."""
    wrong = []
    for path in paths:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.request("GET", path, headers={"Host": host, "Cookie": cookie})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                location = response.getheader("Location")
                wrong.append(f"{path} -> {response.status}" + (f" {location}" if location else ""))
        finally:
            connection.close()
    if wrong:
        raise AssertionError("before the load, not 200: " + "; ".join(wrong))


def run_wrk(
    wrk: str,
    port: int,
    host: str,
    cookie: str,
    paths: list[str],
    *,
    connections: int,
    seconds: float,
) -> WrkResult:
    command = [
        wrk,
        f"--threads={min(WRK_THREADS, connections)}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        f"--timeout={WRK_TIMEOUT}",
        f"--script={LUA}",
        f"http://127.0.0.1:{port}",
        "--",
        host,
        cookie,
        *paths,
    ]
    done = subprocess.run(  # noqa: S603 - wrk on loopback, our own script
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    line = next((line for line in done.stdout.splitlines() if line.startswith("WRK_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
    data = json.loads(line.removeprefix("WRK_RESULT "))
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        non_2xx=data["non_2xx"],
        non_2xx_statuses=data["non_2xx_statuses"],
        socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )


def _combined(results: list[WrkResult]) -> tuple[int, float, int]:
    return (
        sum(r.requests for r in results),
        sum(r.seconds for r in results),
        sum(r.errors for r in results),
    )


def journeys(group, browse_query: str) -> list[str]:
    """The main journeys' GETs, in the order each connection asks for them."""
    from institutions.selectors import current_schools

    urns = list(
        current_schools(group=group).order_by("urn").values_list("urn", flat=True)[:300:100]
    )
    pages = [f"/institutions/{urn}/" for urn in urns]
    return [
        "/",
        f"/institutions/?{browse_query}",
        "/institutions/",
        pages[0],
        "/data-sharing/",
        "/institutions/?q=academy",
        "/staff/",
        "/data-sharing/?tab=pending",
        "/institutions/?q=primery&phase=Primary",  # a typo
        pages[1 % len(pages)],
        "/api/v1/institutions/",
        "/data-sharing/?tab=approved",
        "/institutions/?phase=Secondary&ofsted=good&page=2",
        pages[2 % len(pages)],
        "/api/v1/institutions/?q=primary&phase=Primary",
    ]


@scenario(
    "http_load",
    goals={"http_throughput_busiest_vs_minimal": ">= 0.5", "http_load_50_users_errors": "= 0"},
)
def http_load(bench: Bench, *, load_seconds: float | None = None) -> None:
    """Over HTTP under gunicorn: busiest page vs /healthz rps; 50 users over the journeys."""
    try:
        from portal.views import BrowseView  # noqa: F401
    except ImportError:
        bench.skip("the Browse page is not there yet")
    wrk = _wrk(bench)
    if load_seconds is None:
        load_seconds = float(os.environ.get("BENCH_LOAD_SECONDS") or LOAD_SECONDS)
    bench.ensure_register_imported(bench.register_file())
    from django.conf import settings

    from bench.scenarios.browse import CLUSTER_NAMES, QUERY, URL, prepare_site

    largest = bench.register_plan().largest_local_authority()
    site = prepare_site(bench, kind="la", code=largest.code, clusters=CLUSTER_NAMES)
    _no_two_factor(site)
    host = f"{site.group.slug}.{settings.BASE_DOMAIN}"
    secret_key = secrets.token_urlsafe(50)
    cookie, session = _signed_in_cookie(site, secret_key)
    busiest = f"{URL}?{urlencode(QUERY, doseq=True)}"
    paths = journeys(site.group, urlencode(QUERY, doseq=True))
    try:
        with gunicorn(bench, secret_key=secret_key, base_domain=settings.BASE_DOMAIN) as (
            port,
            workers,
            _log,
        ):
            _check_paths(port, host, cookie, ["/healthz", busiest, *paths])
            connections = workers * GUNICORN_THREADS
            bench.progress("warming up: 3 s over the journeys")
            run_wrk(wrk, port, host, cookie, paths, connections=connections, seconds=3)

            bench.progress(
                f"throughput: /healthz and the Browse page, {RATIO_TURNS} turns of "
                f"{RATIO_SECONDS} s each, {connections} connections"
            )
            minimal, page = [], []
            for _ in range(RATIO_TURNS):
                for side, path in ((minimal, "/healthz"), (page, busiest)):
                    side.append(
                        run_wrk(
                            wrk,
                            port,
                            host,
                            cookie,
                            [path],
                            connections=connections,
                            seconds=RATIO_SECONDS,
                        )
                    )
            minimal_n, minimal_s, minimal_errors = _combined(minimal)
            page_n, page_s, page_errors = _combined(page)
            if minimal_errors or page_errors:
                raise AssertionError(
                    f"errors during the throughput runs: /healthz {minimal_errors}, "
                    f"Browse {page_errors} ({[r.non_2xx_statuses for r in minimal + page]})"
                )
            minimal_rps, page_rps = minimal_n / minimal_s, page_n / page_s
            page_p50 = sorted(r.p50_ms for r in page)[len(page) // 2]
            minimal_p50 = sorted(r.p50_ms for r in minimal)[len(minimal) // 2]
            bench.goal(
                "http_throughput_busiest_vs_minimal",
                page_rps / minimal_rps,
                detail=(
                    f"GET {busiest} {page_rps:.1f} rps (p50 {page_p50:.1f} ms), "
                    f"GET /healthz {minimal_rps:.1f} rps (p50 {minimal_p50:.1f} ms), on "
                    f"{host}, signed in\nwrk, {connections} connections, {RATIO_TURNS} turns "
                    f"of {RATIO_SECONDS} s each side; gunicorn gthread {workers} workers x "
                    f"{GUNICORN_THREADS} threads on 127.0.0.1, {os.cpu_count()} CPUs shared "
                    "with wrk and PostgreSQL"
                ),
            )

            bench.progress(
                f"load: {LOAD_CONNECTIONS} connections over {len(paths)} journeys' GETs "
                f"for {load_seconds:g} s"
            )
            load = run_wrk(
                wrk,
                port,
                host,
                cookie,
                paths,
                connections=LOAD_CONNECTIONS,
                seconds=load_seconds,
            )
            statuses = ", ".join(f"{k}: {v}" for k, v in load.non_2xx_statuses.items())
            bench.goal(
                "http_load_50_users_errors",
                load.errors,
                unit="",
                detail=(
                    f"p50 {load.p50_ms:.0f} ms, p95 {load.p95_ms:.0f} ms, {load.rps:.1f} rps\n"
                    f"wrk, {LOAD_CONNECTIONS} connections for {load.seconds:.0f} s, each "
                    f"asking in turn for {len(paths)} GETs: home, Browse (5 searches and "
                    f"filters), 3 institution pages, the 3 Data Sharing tabs, the staff "
                    f"list, the API list (2)\n{load.requests:,} requests, p99 "
                    f"{load.p99_ms:.0f} ms; errors: {load.non_2xx} non-2xx"
                    + (f" ({statuses})" if statuses else "")
                    + f", {load.socket_errors} socket errors or timeouts (> {WRK_TIMEOUT})"
                ),
            )
    finally:
        session.delete()
