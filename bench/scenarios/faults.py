"""Faults injected for real (issue 7), each with its recovery measured: nothing lost, nothing
sent twice beyond the documented crash window, requests failing cleanly and fast.

Every server is real and throwaway (``bench.faults_support``), on 127.0.0.1 at a free port,
stopped with its data at the end, whatever happens: redis-server, an aiosmtpd sink in a
subprocess counting Message-IDs where they arrive, ``celery -A matmis worker`` (prefork) on
the bench database, a PostgreSQL cluster made by ``scripts/devdb`` under /var/tmp, gunicorn.

- ``fault_smtp``: a trust sends requests to ``SMTP_SCHOOLS`` schools while nothing listens on
  the mail server's port; the worker's tries fail (every delivery RETRYING, none SENT);
  after ``SMTP_DOWN_S`` the server comes back; the tasks' own retries (exponential backoff
  with jitter) deliver. Recovery: server back → every delivery SENT.
- ``fault_worker_kill``: the same bulk send to a slow mail server (``KILL_DELAY_S`` before
  each "250"), the worker (``KILL_CONCURRENCY`` processes) killed with SIGKILL, pool and
  all, when ``KILL_AT`` of the batch is sent; a new worker starts and runs the beat sweep.
  Recovery: kill → every delivery SENT.
- ``fault_redis_down``: the bulk send with the broker up, then with it killed (the request
  must still succeed: the deliveries are its outbox), then Redis back, the sweep, a worker
  that stayed up throughout and reconnects. Recovery: Redis back → every delivery SENT.
- ``fault_postgres_restart``: gunicorn on a throwaway cluster (migrated, a trust and a
  signed-in staff member), ``LOAD_THREADS`` threads asking for ``/healthz``, the home page,
  Browse and the API for ``LOAD_SECONDS``; ``pg_ctl restart -m fast`` at ``RESTART_AT_S``.
  Recovery: restart → requests succeed again.

Time the design waits for does not pass in the bench: a delivery's sweep comes after
``STALE_AFTER`` (15 min), a dead worker's claim expires after ``CLAIM_LEASE`` (15 min).
Where the recovery needs it, the unsent rows are aged past both ("the clock moves on"),
and the detail line says what production waits.
"""

import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass

from bench.faults_support import (
    ROOT,
    CeleryWorker,
    Gunicorn,
    PostgresCluster,
    RedisServer,
    SmtpSink,
    publishing_to,
    wait_for,
    worker_env,
)
from bench.harness import Bench, scenario

SLUG = "bench-faults"
RECIPIENT_ROLES = ("Head Teacher", "Data Manager")

SMTP_SCHOOLS = 40  # x 2 recipients
SMTP_DOWN_S = 5.0
SMTP_CONCURRENCY = 2

KILL_SCHOOLS = 60  # x 2 recipients = 120 emails
KILL_DELAY_S = 0.1  # the mail server's answer to each message
KILL_CONCURRENCY = 4
KILL_AT = 0.4  # of the batch sent

REDIS_SCHOOLS = 30  # x 2 recipients

LOAD_THREADS = 8
LOAD_SECONDS = 20.0
RESTART_AT_S = 7.0
CLEAN_FAILURE_S = 5.0  # a failed request must answer faster than this
ERROR_PAGE = "Sorry, there is a problem with the service"


def _needs(bench: Bench, *, redis: bool = True) -> None:
    if redis and not RedisServer.available():
        bench.skip("redis-server is not installed (Debian: apt-get install redis-server)")
    if not SmtpSink.available():
        bench.skip("aiosmtpd is not installed")


# --- The trust, its schools and staff ------------------------------------------------------


@dataclass
class Trust:
    group: object
    schools: list
    sender: object
    actor: object


def _trust(bench: Bench, schools: int) -> Trust:
    """A trust of ``schools`` schools, each with a Head Teacher and a Data Manager (with
    email addresses), and a sender who may send requests; built once, grown when needed,
    with no request left from an earlier run."""
    from accounts.audit import Actor
    from accounts.models import BusinessRole, RoleAssignment, RoleGrant, StaffProfile, User
    from accounts.permissions import INSTITUTION_DETAILS, Access
    from institutions.models import GroupMembership, Institution, InstitutionKind, Status
    from matmis.db_roles import owner_role
    from notifications.models import EmailDelivery
    from sharing.models import AgreementRequest

    group, _ = Institution.objects.get_or_create(
        slug=f"{SLUG}-trust", defaults={"kind": InstitutionKind.TRUST, "name": "Bench Faults"}
    )
    with owner_role():  # the application never deletes requests (matmis.db_roles)
        AgreementRequest.objects.filter(group=group).delete()  # and their recipients
    EmailDelivery.objects.filter(site=group).delete()  # the outbox holds ids: no cascade
    have = Institution.objects.filter(slug__startswith=f"{SLUG}-school-").count()
    if have < schools:
        bench.progress(f"building {schools - have} schools with their staff")
        made = Institution.objects.bulk_create(
            Institution(
                kind=InstitutionKind.SCHOOL,
                name=f"Bench Faults School {n}",
                slug=f"{SLUG}-school-{n}",
                status=Status.OPEN,
            )
            for n in range(have, schools)
        )
        GroupMembership.objects.bulk_create(GroupMembership(group=group, school=s) for s in made)
        roles = {
            (school.pk, name): role
            for school in made
            for name, role in (
                (name, BusinessRole.objects.create(site=school, name=name))
                for name in RECIPIENT_ROLES
            )
        }
        users = User.objects.bulk_create(
            User(email=f"{role}-{school.pk}@{SLUG}.test".replace(" ", "-").lower(), full_name=role)
            for school in made
            for role in RECIPIENT_ROLES
        )
        pairs = [(school, role) for school in made for role in RECIPIENT_ROLES]
        profiles = StaffProfile.objects.bulk_create(
            StaffProfile(site=school, user=user)
            for (school, _), user in zip(pairs, users, strict=True)
        )
        RoleAssignment.objects.bulk_create(
            RoleAssignment(site=school, profile=profile, role=roles[(school.pk, role)])
            for (school, role), profile in zip(pairs, profiles, strict=True)
        )
    user, _ = User.objects.get_or_create(
        email=f"sender@{SLUG}.test", defaults={"full_name": "Bench Faults Sender"}
    )
    sender, _ = StaffProfile.objects.get_or_create(site=group, user=user)
    role, _ = BusinessRole.objects.get_or_create(site=group, name="Bench faults sender")
    RoleGrant.objects.get_or_create(
        site=group,
        role=role,
        code=INSTITUTION_DETAILS,
        in_school=False,
        defaults={"access": int(Access.ADMINISTER)},
    )
    RoleAssignment.objects.get_or_create(site=group, profile=sender, role=role)
    chosen = list(
        Institution.objects.filter(slug__startswith=f"{SLUG}-school-").order_by("pk")[:schools]
    )
    return Trust(group, chosen, sender, Actor(user=user, site=group, ip_address="127.0.0.1"))


def _bulk_send(trust: Trust) -> float:
    """The bulk send (``agreement_requests_send``, every recipient role): its transaction,
    and the tasks published after it commits. Returns the wall time."""
    from matmis.db_roles import owner_role
    from notifications.models import EmailDelivery
    from sharing.models import AgreementRequest
    from sharing.services.requests import agreement_requests_send

    with owner_role():  # the application never deletes requests (matmis.db_roles)
        AgreementRequest.objects.filter(group=trust.group).delete()
    EmailDelivery.objects.filter(site=trust.group).delete()
    started = time.perf_counter()
    outcome = agreement_requests_send(
        group=trust.group,
        schools=trust.schools,
        sender=trust.sender,
        recipient_roles=["all"],
        level=1,
        actor=trust.actor,
    )
    seconds = time.perf_counter() - started
    if len(outcome.done) != len(trust.schools):
        raise RuntimeError(f"the bulk send skipped schools: {outcome.summary}")
    return seconds


def _deliveries(trust: Trust):
    from notifications.models import EmailDelivery

    return EmailDelivery.objects.filter(site=trust.group)


def _statuses(trust: Trust) -> Counter:
    return Counter(_deliveries(trust).values_list("status", flat=True))


def _all_sent(trust: Trust) -> bool:
    from notifications.models import DeliveryStatus

    return not _deliveries(trust).exclude(status=DeliveryStatus.SENT).exists()


def _clock_moves_on(trust: Trust) -> int:
    """Every unsent delivery as if queued and last claimed longer ago than ``STALE_AFTER``
    and ``CLAIM_LEASE``: what the sweep finds once that time has passed."""
    from django.utils import timezone

    from notifications.models import DeliveryStatus
    from notifications.services import CLAIM_LEASE, STALE_AFTER

    past = timezone.now() - max(STALE_AFTER, CLAIM_LEASE) - CLAIM_LEASE / 15
    return (
        _deliveries(trust)
        .exclude(status__in=[DeliveryStatus.SENT, DeliveryStatus.FAILED])
        .update(created_at=past, claimed_at=past)
    )


def _arrivals(trust: Trust, sink: SmtpSink) -> tuple[int, int, int]:
    """(expected, lost, duplicates): Message-IDs of the trust's deliveries against what
    the mail server received."""
    from notifications.emails import delivery_message_id

    expected = {delivery_message_id(delivery=d) for d in _deliveries(trust)}
    arrived = sink.message_ids()
    lost = len(expected - set(arrived))
    duplicates = sum(count - 1 for mid, count in arrived.items() if mid in expected)
    return len(expected), lost, duplicates


def _wait_all_sent(trust: Trust, worker: CeleryWorker, *, timeout: float, what: str) -> float:
    try:
        wait_for(lambda: _all_sent(trust), timeout=timeout, what=what)
    except TimeoutError as error:
        raise RuntimeError(f"{error} ({dict(_statuses(trust))})\n{worker.tail()}") from None
    return time.perf_counter()


def _env(bench: Bench, redis: RedisServer, sink: SmtpSink) -> dict[str, str]:
    return worker_env(database_url=bench.database_url, broker_url=redis.url(), smtp_port=sink.port)


# --- The mail server down ------------------------------------------------------------------


@scenario(
    "fault_smtp",
    goals={
        "fault_smtp_recovery_s": "<= 60",
        "fault_smtp_lost": "= 0",
        "fault_smtp_duplicates": "= 0",
    },
)
def fault_smtp(bench: Bench) -> None:
    """Mail server down during a bulk send, back later: the retries deliver each once."""
    _needs(bench)
    from notifications.models import DeliveryStatus

    trust = _trust(bench, SMTP_SCHOOLS)
    with (
        RedisServer() as redis,
        SmtpSink(down=True) as sink,
        publishing_to(redis.url()),
        CeleryWorker(_env(bench, redis, sink), concurrency=SMTP_CONCURRENCY, name="smtp"),
    ):
        bench.progress(f"bulk send to {SMTP_SCHOOLS} schools, nothing listening for mail")
        down_at = time.perf_counter()
        send_s = _bulk_send(trust)
        total = _deliveries(trust).count()

        def all_retrying() -> Counter | None:
            statuses = _statuses(trust)
            return statuses if statuses == {DeliveryStatus.RETRYING: total} else None

        during = wait_for(
            all_retrying, timeout=60, what="every delivery to be tried and left RETRYING"
        )
        time.sleep(max(0.0, SMTP_DOWN_S - (time.perf_counter() - down_at)))
        sent_while_down = _statuses(trust)[DeliveryStatus.SENT]
        sink.start()
        up_at = time.perf_counter()
        bench.progress("mail server back")
        done_at = wait_for(
            lambda: _all_sent(trust) and time.perf_counter(), timeout=120, what="every delivery"
        )
        time.sleep(1.0)  # a duplicate would arrive by now
        expected, lost, duplicates = _arrivals(trust, sink)
        attempts = list(_deliveries(trust).values_list("attempts", flat=True))
    recovery = done_at - up_at
    bench.goal(
        "fault_smtp_recovery_s",
        recovery,
        unit=" s",
        detail=(
            f"{expected} emails to {SMTP_SCHOOLS} schools; nothing listening on the mail port "
            f"for {SMTP_DOWN_S:g} s: {dict(during)}, {sent_while_down} sent, the bulk send "
            f"answered in {send_s:.2f} s\n"
            f"server back -> every delivery SENT by the tasks' own retries (exponential "
            f"backoff with jitter: the n-th retry within 2^n s, so the wait grows with the "
            f"outage; worker prefork x {SMTP_CONCURRENCY}); attempts per delivery (the first "
            f"of each request counts the failed tries): {dict(sorted(Counter(attempts).items()))}"
        ),
    )
    bench.goal("fault_smtp_lost", lost, unit=" emails", detail="Message-IDs never received")
    bench.goal(
        "fault_smtp_duplicates", duplicates, unit=" emails", detail="Message-IDs received twice"
    )


# --- The worker killed mid-batch -----------------------------------------------------------


@scenario(
    "fault_worker_kill",
    goals={
        "fault_worker_kill_recovery_s": "<= 30",
        "fault_worker_kill_lost": "= 0",
        "fault_worker_kill_duplicates": f"<= {KILL_CONCURRENCY}",
    },
)
def fault_worker_kill(bench: Bench) -> None:
    """Worker killed (SIGKILL) mid-batch: a new worker and the sweep deliver every email."""
    _needs(bench)
    from notifications.models import DeliveryStatus
    from notifications.tasks import deliveries_retry_due

    trust = _trust(bench, KILL_SCHOOLS)
    with (
        RedisServer() as redis,
        SmtpSink(delay=KILL_DELAY_S) as sink,
        publishing_to(redis.url()),
    ):
        env = _env(bench, redis, sink)
        with CeleryWorker(env, concurrency=KILL_CONCURRENCY, name="doomed") as doomed:
            batch_at = time.perf_counter()
            _bulk_send(trust)
            total = _deliveries(trust).count()
            wait_for(
                lambda: _statuses(trust)[DeliveryStatus.SENT] >= total * KILL_AT,
                timeout=120,
                what=f"{KILL_AT:.0%} of the batch to be sent",
            )
            doomed.kill()
            killed_at = time.perf_counter()
        at_kill = _statuses(trust)
        bench.progress(f"worker killed after {killed_at - batch_at:.1f} s: {dict(at_kill)}")
        aged = _clock_moves_on(trust)
        with CeleryWorker(env, concurrency=KILL_CONCURRENCY, name="successor") as successor:
            started_at = time.perf_counter()
            deliveries_retry_due.apply_async()  # the beat sweep, run by the new worker
            done_at = _wait_all_sent(trust, successor, timeout=120, what="every delivery")
            time.sleep(1.0)  # a duplicate would arrive by now
        expected, lost, duplicates = _arrivals(trust, sink)
    bench.goal(
        "fault_worker_kill_recovery_s",
        done_at - killed_at,
        unit=" s",
        detail=(
            f"{expected} emails to {KILL_SCHOOLS} schools, the mail server answering each "
            f"after {KILL_DELAY_S * 1000:.0f} ms; worker prefork x {KILL_CONCURRENCY} killed "
            f"(SIGKILL to its process group) at {at_kill[DeliveryStatus.SENT]} sent: "
            f"{dict(at_kill)}\n"
            f"kill -> a new worker ready in {started_at - killed_at:.1f} s, runs the sweep "
            f"(deliveries_retry_due) and the queued tasks -> every delivery SENT in "
            f"{done_at - started_at:.1f} s more\n"
            f"the clock moved on: {aged} unsent rows aged past STALE_AFTER and CLAIM_LEASE "
            "(15 min each). In production the rows the dead worker held wait for their "
            "claim's lease and the next sweep (every 5 min): up to 20 min; its unacknowledged "
            "tasks return from Redis only after the visibility timeout (1 h by default)"
        ),
    )
    bench.goal("fault_worker_kill_lost", lost, unit=" emails", detail="Message-IDs never received")
    bench.goal(
        "fault_worker_kill_duplicates",
        duplicates,
        unit=" emails",
        detail=(
            f"Message-IDs received twice: the crash window (accepted by the server, SENT not "
            f"recorded) allows one per pool process at the kill ({KILL_CONCURRENCY}); "
            f"{at_kill[DeliveryStatus.SENDING]} deliveries were SENDING then"
        ),
    )


# --- Redis down ----------------------------------------------------------------------------


@scenario(
    "fault_redis_down",
    goals={
        f"fault_redis_down_send_{REDIS_SCHOOLS}_vs_1": "<= 3",
        "fault_redis_down_recovery_s": "<= 60",
        "fault_redis_down_lost": "= 0",
        "fault_redis_down_duplicates": "= 0",
    },
)
def fault_redis_down(bench: Bench) -> None:
    """Broker down during a bulk send: the request succeeds, the sweep sends each email."""
    _needs(bench)
    import matmis.celery
    from notifications.models import DeliveryStatus
    from notifications.tasks import deliveries_retry_due

    trust = _trust(bench, REDIS_SCHOOLS)
    one = Trust(trust.group, trust.schools[:1], trust.sender, trust.actor)
    with (
        RedisServer() as redis,
        SmtpSink() as sink,
        publishing_to(redis.url()),
        CeleryWorker(_env(bench, redis, sink), concurrency=2, name="redis") as worker,
    ):
        up_s = _bulk_send(trust)  # the broker up, for comparison (and a warm-up)
        _wait_all_sent(trust, worker, timeout=60, what="the first send's emails")

        redis.stop()  # killed: the worker loses its broker too
        bench.progress(f"Redis killed; bulk send to 1 school, then to {REDIS_SCHOOLS}")
        down: dict[int, float] = {}
        for chosen in (one, trust):  # the last one's deliveries are sent below
            # Each send as the first since the broker died (matmis.celery pauses
            # publishing for a moment after a broker error).
            matmis.celery._broker_down_until = 0.0
            down[len(chosen.schools)] = _bulk_send(chosen)
        during = _statuses(trust)
        if during != {DeliveryStatus.QUEUED: _deliveries(trust).count()}:
            raise AssertionError(f"with the broker down, deliveries are {dict(during)}")
        sink.record.write_text("")  # count from here on
        redis.start()
        back_at = time.perf_counter()
        bench.progress("Redis back on the same port; the sweep")
        aged = _clock_moves_on(trust)
        deliveries_retry_due()  # what beat runs every 5 minutes
        done_at = _wait_all_sent(trust, worker, timeout=120, what="every delivery")
        time.sleep(1.0)
        expected, lost, duplicates = _arrivals(trust, sink)
    many, single = down[REDIS_SCHOOLS], down[1]
    bench.goal(
        f"fault_redis_down_send_{REDIS_SCHOOLS}_vs_1",
        many / single,
        detail=(
            f"with Redis killed, the bulk send answered (success, and {dict(during)}: the "
            f"outbox rows, committed) in {many:.2f} s for {REDIS_SCHOOLS} schools "
            f"({expected} emails), {single:.2f} s for 1; with Redis up: {up_s:.2f} s for "
            f"{REDIS_SCHOOLS}. Each task published after commit costs Celery's publish "
            "retries (about 0.6 s) unless the failures are short-circuited"
        ),
    )
    bench.goal(
        "fault_redis_down_recovery_s",
        done_at - back_at,
        unit=" s",
        detail=(
            f"Redis back -> the sweep (run at once; {aged} rows aged past STALE_AFTER, 15 "
            "min: production waits that, plus up to 5 min for beat) re-enqueues, the worker "
            "that stayed up reconnects and sends -> every delivery SENT"
        ),
    )
    bench.goal("fault_redis_down_lost", lost, unit=" emails")
    bench.goal("fault_redis_down_duplicates", duplicates, unit=" emails")


# --- PostgreSQL restarted under load -------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    path: str
    start: float
    end: float
    status: int | None  # None: no HTTP answer (refused, reset, timed out)
    clean: bool  # a success, or the project's error page / API error shape, no traceback
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def seconds(self) -> float:
        return self.end - self.start


def _ask(port: int, host: str, cookie: str, path: str) -> Answer:
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": host, "Cookie": cookie})
        response = connection.getresponse()
        body = response.read().decode(errors="replace")
    except (OSError, http.client.HTTPException) as error:
        return Answer(path, start, time.perf_counter(), None, False, type(error).__name__)
    finally:
        connection.close()
    end = time.perf_counter()
    status = response.status
    if status == 200 or "Traceback" in body:
        return Answer(path, start, end, status, status == 200, "traceback in the body")
    if path.startswith("/api/"):
        try:
            shape = json.loads(body)["error"]["code"] == "server_error"
        except (ValueError, KeyError, TypeError):
            shape = False
        clean = shape
    else:
        clean = ERROR_PAGE in body
    clean = clean and status == 500 and end - start < CLEAN_FAILURE_S
    return Answer(path, start, end, status, clean, "" if clean else body[:80])


def _load(port: int, host: str, cookie: str, paths: list[str], stop: threading.Event):
    answers: list[Answer] = []

    def run(offset: int) -> None:
        n = offset
        while not stop.is_set():
            answers.append(_ask(port, host, cookie, paths[n % len(paths)]))
            n += 1

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(LOAD_THREADS)]
    for thread in threads:
        thread.start()
    return answers, threads


@scenario(
    "fault_postgres_restart",
    goals={
        "fault_postgres_restart_recovery_s": "<= 10",
        "fault_postgres_restart_errors_after_recovery": "= 0",
        "fault_postgres_restart_unclean_errors": "= 0",
    },
)
def fault_postgres_restart(bench: Bench) -> None:
    """PostgreSQL restarted under load: clean fast 500s, then every request succeeds."""
    from django.conf import settings

    if not PostgresCluster.DEVDB.exists():
        bench.skip("scripts/devdb is missing")
    secret_key = secrets.token_urlsafe(50)
    with PostgresCluster() as pg:
        env = {
            **os.environ,
            "DATABASE_URL": pg.url,
            "DJANGO_SETTINGS_MODULE": "matmis.settings.base",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secret_key,
            "MATMIS_ENV": "development",
            "BASE_DOMAIN": settings.BASE_DOMAIN,
            "LOG_LEVEL": "WARNING",
        }
        bench.progress(f"throwaway PostgreSQL on 127.0.0.1:{pg.port}: migrating")
        for command in (
            ["manage.py", "migrate", "-v0"],
            ["-m", "bench.faults_support", "seed-site"],
        ):
            done = subprocess.run(  # noqa: S603 - our own interpreter and project
                [sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True
            )
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-2000:]}")
        site = json.loads(done.stdout.strip().splitlines()[-1])
        host, cookie = site["host"], site["cookie"]
        paths = ["/healthz", "/", "/institutions/", "/api/v1/institutions/"]
        with Gunicorn(env, workers=2, threads=4) as server:
            wrong = [
                f"{a.path} -> {a.status} {a.note}"
                for a in (_ask(server.port, host, cookie, path) for path in paths)
                if not a.ok
            ]
            if wrong:
                raise RuntimeError(f"before the restart, not 200: {wrong}\n{server.tail()}")
            bench.progress(
                f"{LOAD_THREADS} threads for {LOAD_SECONDS:g} s; pg_ctl restart -m fast at "
                f"{RESTART_AT_S:g} s"
            )
            stop = threading.Event()
            began = time.perf_counter()
            answers, threads = _load(server.port, host, cookie, paths, stop)
            try:
                time.sleep(RESTART_AT_S)
                restart_at = time.perf_counter()
                pg.restart(mode="fast")
                ready_at = time.perf_counter()
                time.sleep(max(0.0, LOAD_SECONDS - (time.perf_counter() - began)))
            finally:
                stop.set()
                for thread in threads:
                    thread.join(timeout=40)
            log = server.tail()
    _report_restart(bench, answers, restart_at, ready_at, log)


def _report_restart(bench: Bench, answers, restart_at: float, ready_at: float, log: str) -> None:
    answers = sorted(answers, key=lambda a: a.start)
    failed = [a for a in answers if not a.ok]
    early = [a for a in failed if a.end < restart_at]  # before the fault: none expected
    in_flight = [a for a in failed if a.start < restart_at <= a.end]
    outage = [a for a in failed if restart_at <= a.start <= ready_at]
    last_down = max((a.start for a in outage), default=restart_at)
    back = next((a for a in answers if a.ok and a.start >= last_down), None)
    recovered_at = back.end if back else float("inf")
    after = [a for a in failed if a.start > ready_at]
    unclean = [a for a in failed if not a.clean]
    durations = [a.seconds for a in outage]
    bench.goal(
        "fault_postgres_restart_recovery_s",
        recovered_at - restart_at,
        unit=" s",
        detail=(
            f"{len(answers)} requests ({', '.join(sorted({a.path for a in answers}))}) from "
            f"{LOAD_THREADS} threads over {LOAD_SECONDS:g} s to gunicorn (gthread 2 x 4, "
            f"DB_CONN_MAX_AGE 60, CONN_HEALTH_CHECKS) on a throwaway cluster\n"
            f"pg_ctl restart -m fast took {ready_at - restart_at:.2f} s; restart -> the "
            f"first success after the last failure: {recovered_at - restart_at:.2f} s"
        ),
    )
    statuses = Counter(a.status for a in outage)
    bench.info(
        "fault_postgres_restart_outage",
        f"{len(outage)} failed during the restart",
        detail=(
            f"statuses {dict(statuses)}; answered in median "
            f"{statistics.median(durations) * 1000 if durations else 0:.0f} ms, max "
            f"{max(durations, default=0) * 1000:.0f} ms; {len(in_flight)} more in flight when "
            f"it began; {len(early)} failed before it"
        ),
    )
    bench.goal(
        "fault_postgres_restart_errors_after_recovery",
        len(after) + len(early),
        unit=" requests",
        detail=(
            "failures among requests started after the server was ready again (and before "
            "the restart)"
            + (
                f": {Counter((a.path, a.status, a.note) for a in after + early)}"
                if after or early
                else ""
            )
        ),
    )
    bench.goal(
        "fault_postgres_restart_unclean_errors",
        len(unclean),
        unit=" requests",
        detail=(
            f"failures that were not HTTP 500 with the project's error page (or the API's "
            f"error shape) within {CLEAN_FAILURE_S:g} s, or had a traceback in the body"
            + (
                f": {Counter((a.path, a.status, a.note) for a in unclean).most_common(4)}\n"
                f"gunicorn's log ends: {log[-600:]}"
                if unclean
                else ""
            )
        ),
    )
