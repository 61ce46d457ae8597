"""Email delivery to a local SMTP sink: how fast the task code drains queued deliveries,
against a bare SMTP client sending the same bytes.

Data: a trust of 125 schools, each with a pending request to four recipients (the recipient
roles of PERFORMANCE.md: 2 to 6 per school), so 500 ``EmailDelivery`` rows, QUEUED.

The sink is an aiosmtpd server on loopback, in a process of its own (so it does not share
this process's interpreter lock), which accepts and discards.

Measured side by side, the two taking turns, ``REPEAT`` times each:

1. the floor: the same work without the task machinery: each message rendered and built
   by sharing's builder (its query per batch of ten) and Django's MIME, exactly as Django's
   SMTP backend builds it (CRLF line ends), and sent with raw ``smtplib`` over one
   connection;
2. the drain: ``notifications.tasks.send_emails`` run for each request's emails (the task
   queueing publishes per site and topic), exactly as a worker runs it (Celery's task
   tracing in process, without the broker round trip): fetch, claim each delivery, build
   the emails through sharing's message builder (one query, render text and HTML), send
   them through Django's SMTP backend (one connection per request), record SENT.

3. building the same 500 messages alone (the builder: one query per claimed batch of ten,
   render; then Django's MIME; no SMTP), to say where the drain's time goes (info line
   ``email_drain_parts``).

The goal line is rate(drain) / rate(floor) = time(floor) / time(drain).
"""

import smtplib
import socket
import subprocess
import sys
import textwrap
import time
from email.policy import SMTP
from pathlib import Path

from bench.harness import Bench, median_of, scenario

SCHOOLS = 125
RECIPIENTS_PER_SCHOOL = 4
REPEAT = 5
SLUG = "bench-mail"
ROOT = Path(__file__).resolve().parents[2]

SINK = textwrap.dedent(
    """
    import sys, time
    from aiosmtpd.controller import Controller

    class Discard:
        async def handle_DATA(self, server, session, envelope):
            return "250 2.0.0 OK"

    controller = Controller(Discard(), hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    """The aiosmtpd sink in a subprocess; it stops when its standard input closes."""

    def __enter__(self) -> "SmtpSink":
        self.port = _free_port()
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", SINK, str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        line = self.process.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError("the SMTP sink did not start")
        return self

    def __exit__(self, *exc) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _build(bench: Bench):
    """The trust, its schools, staff, requests and recipients (once per bench database)."""
    from accounts.models import StaffProfile, User
    from institutions.models import GroupMembership, Institution, InstitutionKind, Status
    from sharing.models import AccessLevel, AgreementRequest, RequestRecipient, RequestStatus

    trust = Institution.objects.filter(slug=f"{SLUG}-trust").first()
    if trust is not None:
        return trust
    bench.progress("building the trust, 125 schools and 500 recipients")
    # An import empties the institutions (and their staff profiles) but keeps the people:
    # those of an earlier run go, or making them again would collide.
    User.objects.filter(email__endswith=f"@{SLUG}.test").delete()
    trust = Institution.objects.create(
        kind=InstitutionKind.TRUST, name="Bench Mail Trust", slug=f"{SLUG}-trust"
    )
    schools = Institution.objects.bulk_create(
        Institution(
            kind=InstitutionKind.SCHOOL,
            name=f"Bench Mail School {n}",
            slug=f"{SLUG}-school-{n}",
            status=Status.OPEN,
        )
        for n in range(SCHOOLS)
    )
    GroupMembership.objects.bulk_create(
        GroupMembership(group=trust, school=school) for school in schools
    )
    sender_user = User.objects.create_user(
        email=f"sender@{SLUG}.test", full_name="Bench Sender", password=None
    )
    sender = StaffProfile.objects.create(site=trust, user=sender_user, job_title="Data Lead")
    users = User.objects.bulk_create(
        User(email=f"staff{s}-{r}@{SLUG}.test", full_name=f"Staff {s}-{r}")
        for s in range(SCHOOLS)
        for r in range(RECIPIENTS_PER_SCHOOL)
    )
    requests = AgreementRequest.objects.bulk_create(
        AgreementRequest(
            group=trust,
            school=school,
            level=AccessLevel.DFE_AND_MIS_DATA,
            sender=sender,
            status=RequestStatus.PENDING,
        )
        for school in schools
    )
    RequestRecipient.objects.bulk_create(
        RequestRecipient(
            request=request,
            school=request.school,
            user=user,
            email=user.email,
            role_name="Head Teacher",
        )
        for s, request in enumerate(requests)
        for user in users[s * RECIPIENTS_PER_SCHOOL : (s + 1) * RECIPIENTS_PER_SCHOOL]
    )
    return trust


def _queue_deliveries(trust) -> list[dict]:
    """Every request's emails QUEUED afresh (untimed), as sharing queues them; returns the
    arguments of the task queueing publishes for each request."""
    from notifications.models import DeliveryStatus, EmailDelivery
    from sharing.emails import EmailKind, request_emails_enqueue
    from sharing.models import AgreementRequest

    EmailDelivery.objects.filter(site=trust).delete()
    requests = list(
        AgreementRequest.objects.filter(group=trust).prefetch_related("recipients").order_by("pk")
    )
    request_emails_enqueue(requests=requests, kind=EmailKind.REQUEST)
    # Without a broker (as here) queueing sends them at once, untimed, through the default
    # mailer: back to QUEUED, so that the timed drain sends every one of them itself.
    EmailDelivery.objects.filter(site=trust).update(
        status=DeliveryStatus.QUEUED, attempts=0, claimed_at=None, sent_at=None, last_error=""
    )
    keys: dict[str, list[str]] = {}
    for topic, key in (
        EmailDelivery.objects.filter(site=trust).order_by("pk").values_list("topic", "dedupe_key")
    ):
        keys.setdefault(topic, []).append(key)
    return [{"site_id": trust.pk, "dedupe_keys": batch} for batch in keys.values()]


@scenario("email_drain", goals={"email_drain_vs_smtplib": ">= 0.8"})
def email_drain(bench: Bench) -> None:
    """Drain 500 queued deliveries through the task code against raw smtplib."""
    try:
        import aiosmtpd  # noqa: F401

        from notifications.services import deliveries_send  # noqa: F401
        from notifications.tasks import send_emails
    except ImportError as error:
        bench.skip(f"missing: {error.name}")
    from django.conf import settings
    from django.test.utils import override_settings

    from notifications.builders import builder_for
    from notifications.emails import delivery_email
    from notifications.models import DeliveryStatus, EmailDelivery
    from notifications.services import CLAIM_CHUNK

    trust = _build(bench)
    tasks = _queue_deliveries(trust)
    total = EmailDelivery.objects.filter(site=trust).count()
    bench.require(
        total == SCHOOLS * RECIPIENTS_PER_SCHOOL,
        f"{total} deliveries queued for {trust.name}, not {SCHOOLS * RECIPIENTS_PER_SCHOOL}",
    )
    # Every round deletes and queues 500 deliveries again: their dead rows go first.
    bench.vacuum("notifications_emaildelivery", "sharing_requestrecipient")
    deliveries = list(EmailDelivery.objects.filter(site=trust).order_by("pk"))

    def messages():
        """The deliveries' emails, built by their builder as the drain builds them (a
        claimed batch at a time: CLAIM_CHUNK)."""
        for start in range(0, len(deliveries), CLAIM_CHUNK):
            batch = deliveries[start : start + CLAIM_CHUNK]
            contents = builder_for(batch[0].builder)(batch)
            for delivery in batch:
                yield delivery_email(delivery=delivery, content=contents[delivery.pk])

    prepared = [
        (settings.DEFAULT_FROM_EMAIL, message.to, message.message(policy=SMTP).as_bytes())
        for message in messages()
    ]
    size = sum(len(data) for _, _, data in prepared) / len(prepared)

    with SmtpSink() as sink:
        mailer = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": sink.port, "timeout": 20},
            }
        }

        def floor() -> float:
            """The same work without the task machinery: render and build each message
            (the builder's query per batch, Django's MIME), send it over one connection."""
            start = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=20) as client:
                for message in messages():
                    data = message.message(policy=SMTP).as_bytes()
                    client.sendmail(settings.DEFAULT_FROM_EMAIL, message.to, data)
            return time.perf_counter() - start

        def smtp_only() -> float:
            start = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=20) as client:
                for sender, to, data in prepared:
                    client.sendmail(sender, to, data)
            return time.perf_counter() - start

        def drain() -> float:
            queued = _queue_deliveries(trust)
            start = time.perf_counter()
            with override_settings(MAILERS=mailer):
                for kwargs in queued:
                    send_emails.apply(kwargs=kwargs)
            seconds = time.perf_counter() - start
            sent = EmailDelivery.objects.filter(site=trust, status=DeliveryStatus.SENT).count()
            if sent != total:
                raise RuntimeError(f"the drain sent {sent} of {total} deliveries")
            return seconds

        def build() -> float:
            start = time.perf_counter()
            for message in messages():
                message.message(policy=SMTP).as_bytes()
            return time.perf_counter() - start

        actions = {"floor": floor, "drain": drain, "build": build, "smtp": smtp_only}
        runs: dict[str, list[float]] = {name: [] for name in actions}
        for action in actions.values():
            action()  # warm up: connections, templates, the sink
        names = list(actions)
        for rep in range(REPEAT):
            bench.progress(f"email drain, round {rep + 1} of {REPEAT}")
            turn = rep % len(names)
            for name in names[turn:] + names[:turn]:  # taking turns
                runs[name].append(actions[name]())
    floor_time, drain_time = median_of(runs["floor"]), median_of(runs["drain"])
    build_time, smtp_time = median_of(runs["build"]), median_of(runs["smtp"])
    bench.goal(
        "email_drain_vs_smtplib",
        floor_time.median / drain_time.median,
        detail=(
            f"{total} emails ({size / 1024:.1f} KiB each, text and HTML) to an aiosmtpd sink "
            "on loopback (its own process)\n"
            f"drain: send_emails for each of {len(tasks)} requests, in process "
            f"(claim, render, Django SMTP backend, record) {drain_time} = "
            f"{total / drain_time.median:,.0f}/s\n"
            f"floor: the same messages rendered and built (the builder, Django's MIME) and "
            f"sent by raw smtplib over one connection {floor_time} = "
            f"{total / floor_time.median:,.0f}/s"
        ),
    )
    drain = drain_time.median
    rest = max(drain - build_time.median - smtp_time.median, 0)
    bench.info(
        "email_drain_parts",
        f"build {build_time.median / drain:.0%}, SMTP {smtp_time.median / drain:.0%}, "
        f"database and task {rest / drain:.0%}",
        detail=(
            f"building the 500 messages alone (the builder's query per batch of ten, render, "
            f"Django's MIME through Python's email package, no SMTP) {build_time}; sending "
            f"their bytes alone (smtplib, one connection) {smtp_time}\n"
            "the rest: fetch, claim and record SENT (one UPDATE per message, which keeps a "
            "crash from ever re-sending more than one message), connections, task tracing"
        ),
    )
    _queue_deliveries(trust)  # leave nothing half-sent behind
