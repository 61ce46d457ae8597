"""Email delivery to a local SMTP sink: how fast the task code drains queued deliveries,
against a bare SMTP client sending the same bytes.

Data: a trust of 125 schools, each with a pending request to four recipients (the recipient
roles of PERFORMANCE.md: 2 to 6 per school), so 500 ``EmailDelivery`` rows, QUEUED.

The sink is an aiosmtpd server on loopback, in a process of its own (so it does not share
this process's interpreter lock), which accepts and discards.

Measured side by side, the two taking turns, ``REPEAT`` times each:

1. the floor: raw ``smtplib``, one connection, ``sendmail`` of the 500 messages' bytes,
   built beforehand exactly as Django's SMTP backend builds them (CRLF line ends), so
   neither building nor the database is in it;
2. the drain: ``notifications.tasks.send_request_emails`` run for each request, exactly as
   a worker runs it (Celery's task tracing in process, without the broker round trip):
   fetch, claim each delivery, render the email (text and HTML), send it through Django's
   SMTP backend (one connection per request), record SENT.

3. building the same 500 messages alone (render and Django's MIME, no database, no SMTP),
   to say where the drain's time goes (info line ``email_drain_parts``).

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


def _queue_deliveries(trust) -> list[int]:
    """Every request's emails QUEUED afresh (untimed); returns the request ids."""
    from notifications.models import DeliveryKind, EmailDelivery
    from notifications.services import delivery_dedupe_key
    from sharing.models import RequestRecipient

    EmailDelivery.objects.filter(site=trust).delete()
    recipients = RequestRecipient.objects.filter(request__group=trust).order_by("pk")
    EmailDelivery.objects.bulk_create(
        EmailDelivery(
            site=trust,
            request_id=recipient.request_id,
            recipient=recipient,
            kind=DeliveryKind.REQUEST,
            dedupe_key=delivery_dedupe_key(
                request_id=recipient.request_id,
                recipient_id=recipient.pk,
                kind=DeliveryKind.REQUEST,
                reminder_id=None,
            ),
        )
        for recipient in recipients
    )
    return sorted({recipient.request_id for recipient in recipients})


@scenario("email_drain", goals={"email_drain_vs_smtplib": ">= 0.8"})
def email_drain(bench: Bench) -> None:
    """Drain 500 queued deliveries through the task code against raw smtplib."""
    try:
        import aiosmtpd  # noqa: F401

        from notifications.services import deliveries_send  # noqa: F401
        from notifications.tasks import send_request_emails
    except ImportError as error:
        bench.skip(f"missing: {error.name}")
    from django.conf import settings
    from django.test.utils import override_settings

    from notifications.emails import request_email_build
    from notifications.models import DeliveryStatus, EmailDelivery

    trust = _build(bench)
    request_ids = _queue_deliveries(trust)
    total = EmailDelivery.objects.filter(site=trust).count()
    deliveries = list(
        EmailDelivery.objects.filter(site=trust)
        .select_related(
            "request__group", "request__school", "request__sender__user", "recipient__user"
        )
        .order_by("pk")
    )
    prepared = [
        (settings.DEFAULT_FROM_EMAIL, message.to, message.message(policy=SMTP).as_bytes())
        for message in (request_email_build(delivery=d) for d in deliveries)
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
            start = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=20) as client:
                for sender, to, data in prepared:
                    client.sendmail(sender, to, data)
            return time.perf_counter() - start

        def drain() -> float:
            _queue_deliveries(trust)
            start = time.perf_counter()
            with override_settings(MAILERS=mailer):
                for request_id in request_ids:
                    send_request_emails.apply(kwargs={"request_id": request_id, "kind": "request"})
            seconds = time.perf_counter() - start
            sent = EmailDelivery.objects.filter(site=trust, status=DeliveryStatus.SENT).count()
            if sent != total:
                raise RuntimeError(f"the drain sent {sent} of {total} deliveries")
            return seconds

        def build() -> float:
            start = time.perf_counter()
            for delivery in deliveries:
                request_email_build(delivery=delivery).message(policy=SMTP).as_bytes()
            return time.perf_counter() - start

        actions = {"floor": floor, "drain": drain, "build": build}
        runs: dict[str, list[float]] = {name: [] for name in actions}
        for action in actions.values():
            action()  # warm up: connections, templates, the sink
        names = list(actions)
        for rep in range(REPEAT):
            bench.progress(f"email drain, round {rep + 1} of {REPEAT}")
            for name in names[rep % 3 :] + names[: rep % 3]:  # taking turns
                runs[name].append(actions[name]())
    floor_time, drain_time = median_of(runs["floor"]), median_of(runs["drain"])
    build_time = median_of(runs["build"])
    bench.goal(
        "email_drain_vs_smtplib",
        floor_time.median / drain_time.median,
        detail=(
            f"{total} emails ({size / 1024:.1f} KiB each, text and HTML) to an aiosmtpd sink "
            "on loopback (its own process)\n"
            f"drain: send_request_emails for each of {len(request_ids)} requests, in process "
            f"(claim, render, Django SMTP backend, record) {drain_time} = "
            f"{total / drain_time.median:,.0f}/s\n"
            f"floor: raw smtplib, one connection, the same bytes {floor_time} = "
            f"{total / floor_time.median:,.0f}/s"
        ),
    )
    drain = drain_time.median
    rest = max(drain - build_time.median - floor_time.median, 0)
    bench.info(
        "email_drain_parts",
        f"build {build_time.median / drain:.0%}, SMTP {floor_time.median / drain:.0%}, "
        f"database and task {rest / drain:.0%}",
        detail=(
            f"building the 500 messages alone (render + Django's MIME through Python's email "
            f"package, no database, no SMTP) {build_time}: "
            f"{build_time.median / floor_time.median:.1f}x the floor's whole time\n"
            "the rest: fetch, claim and record SENT (one UPDATE per message, which keeps a "
            "crash from ever re-sending more than one message), connections, task tracing"
        ),
    )
    _queue_deliveries(trust)  # leave nothing half-sent behind
