"""The data sharing request and reminder emails: who they go to, and what they say, in
plain text and HTML.

Each names the group, the sender and the level with its meaning, and links to the request
page on the school's own host (``request_page_url``, reversed from the route, so the email
follows the route). The link only locates the request: it carries no token, opening it
needs a signed-in user there, and a GET of that page changes nothing (mail scanners follow
links).

Sharing queues them through the outbox (``request_emails_enqueue``, in the transaction that
creates the request or reminder): one delivery per (request, recipient, kind, reminder),
sent for the group, about the topic ``agreement-request:<id>``. The outbox makes each email
when it sends it, through the message builder registered here (from
``SharingConfig.ready()``), from the ids it was queued with.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin

from django.conf import settings
from django.db import models
from django.template.loader import render_to_string
from django.urls import reverse

from notifications.builders import EmailContent, register_builder
from notifications.models import EmailDelivery
from notifications.services import OutgoingEmail, deliveries_enqueue

from .models import LEVEL_MEANINGS, AccessLevel, AgreementRequest, RequestRecipient, RequestReminder

AGREEMENT_REQUEST_EMAIL = "sharing.agreement-request"


class EmailKind(models.TextChoices):
    REQUEST = "request", "Request"
    REMINDER = "reminder", "Reminder"


def request_topic(request_id: int) -> str:
    """The outbox topic of a request's emails (``notifications.selectors``)."""
    return f"agreement-request:{request_id}"


def request_email_dedupe_key(
    *, request_id: int, recipient_id: int, kind: str, reminder_id: int | None
) -> str:
    return f"{request_id}:{recipient_id}:{kind}:{reminder_id or 0}"


def request_page_url(*, request: AgreementRequest) -> str:
    """The request's page on the school's host: its route on a site's URLconf."""
    path = reverse(
        "school_sharing:request",
        kwargs={"request_id": request.pk},
        urlconf=settings.ROOT_URLCONF,
    )
    return urljoin(request.school.url, path)


# --- Queueing --------------------------------------------------------------------------------


def request_emails_enqueue(
    *,
    requests: Sequence[AgreementRequest],
    kind: str,
    reminders: Mapping[int, RequestReminder] | None = None,
) -> None:
    """Queue the ``kind`` email of each of ``requests`` to each of its recipients, sent
    once the current transaction commits. ``reminders`` maps a request id to its reminder,
    needed for every request when ``kind`` is a reminder.

    Call it inside the transaction that created the requests or reminders. Queueing the
    same emails again is harmless: one delivery per (request, recipient, kind, reminder).
    Queries: one to insert, plus one for the recipients unless they are prefetched.
    """
    if not requests:
        return
    reminders = reminders or {}
    for request in requests:
        _check_kind(kind, reminders.get(request.id))
    recipients_of = _recipients_of(requests)
    deliveries_enqueue(
        messages=[
            _outgoing(request, recipient, kind=kind, reminder=reminders.get(request.id))
            for request in requests
            for recipient in recipients_of[request.id]
        ]
    )


def _outgoing(
    request: AgreementRequest,
    recipient: RequestRecipient,
    *,
    kind: str,
    reminder: RequestReminder | None,
) -> OutgoingEmail:
    reminder_id = reminder.id if reminder else None
    return OutgoingEmail(
        site_id=request.group_id,
        address=recipient.email,
        kind=kind,
        dedupe_key=request_email_dedupe_key(
            request_id=request.id, recipient_id=recipient.id, kind=kind, reminder_id=reminder_id
        ),
        builder=AGREEMENT_REQUEST_EMAIL,
        params={"request_id": request.id, "recipient_id": recipient.id, "reminder_id": reminder_id},
        topic=request_topic(request.id),
    )


def _check_kind(kind: str, reminder: RequestReminder | None) -> None:
    if kind not in EmailKind.values:
        raise ValueError(f"{kind!r} is not a kind of request email.")
    if (kind == EmailKind.REMINDER) != (reminder is not None):
        raise ValueError("A reminder email needs its reminder; a request email has none.")


def _recipients_of(requests: Sequence[AgreementRequest]) -> dict[int, list[RequestRecipient]]:
    """Each request's recipients, from the prefetch cache when there is one."""
    found: dict[int, list[RequestRecipient]] = {}
    missing = []
    for request in requests:
        cache = getattr(request, "_prefetched_objects_cache", {})
        if "recipients" in cache:
            found[request.id] = list(cache["recipients"])
        else:
            found[request.id] = []
            missing.append(request.id)
    if missing:
        for recipient in RequestRecipient.objects.filter(request_id__in=missing).order_by("pk"):
            found[recipient.request_id].append(recipient)
    return found


# --- The emails ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestEmailContext:
    recipient_name: str
    group_name: str
    school_name: str
    sender_name: str
    sender_job_title: str
    level_label: str
    level_meaning: str
    request_url: str
    requested_on: str
    is_reminder: bool
    forwarded_by_name: str = ""  # a colleague at the school forwarded it to the recipient


def request_email_subject(*, request: AgreementRequest, kind: str) -> str:
    subject = (
        f"{request.group.name} asks to share data with {request.school.name}: "
        f"{AccessLevel(request.level).label}"
    )
    return f"Reminder: {subject}" if kind == EmailKind.REMINDER else subject


def request_email_context(*, recipient: RequestRecipient, kind: str) -> RequestEmailContext:
    request = recipient.request
    sender = request.sender
    level = AccessLevel(request.level)
    return RequestEmailContext(
        recipient_name=recipient.user.display_name,
        group_name=request.group.name,
        school_name=request.school.name,
        sender_name=sender.user.display_name,
        sender_job_title=sender.job_title,
        level_label=level.label,
        level_meaning=LEVEL_MEANINGS[level],
        request_url=request_page_url(request=request),
        requested_on=f"{request.created_at:%-d %B %Y}",
        is_reminder=kind == EmailKind.REMINDER,
        forwarded_by_name=(
            recipient.forwarded_by.display_name if recipient.forwarded_by_id else ""
        ),
    )


def request_email_content(*, recipient: RequestRecipient, kind: str) -> EmailContent:
    """The ``kind`` email of ``recipient``'s request to them (with ``request__group``,
    ``request__school``, ``request__sender__user``, ``user`` and ``forwarded_by`` loaded,
    or fetched on access)."""
    context = {"email": request_email_context(recipient=recipient, kind=kind)}
    return EmailContent(
        subject=request_email_subject(request=recipient.request, kind=kind),
        text=render_to_string("sharing/email/request.txt", context),
        html=render_to_string("sharing/email/request.html", context),
    )


# What a request email shows (``request_email_context``, ``request_email_subject``).
_EMAIL_FIELDS = (
    "request",
    "user",
    "forwarded_by",
    "request__group",
    "request__school",
    "request__sender",
    "request__sender__user",
    "user__full_name",
    "user__email",
    "forwarded_by__full_name",
    "forwarded_by__email",
    "request__level",
    "request__created_at",
    "request__group__name",
    "request__school__name",
    "request__school__slug",
    "request__sender__job_title",
    "request__sender__user__full_name",
    "request__sender__user__email",
)


@register_builder(AGREEMENT_REQUEST_EMAIL)
def agreement_request_emails(deliveries: Sequence[EmailDelivery]) -> dict[int, EmailContent]:
    """The message builder of request and reminder emails: the content of each delivery
    whose request and recipient still exist, in one query."""
    recipient_ids = {delivery.params.get("recipient_id") for delivery in deliveries}
    recipients = (
        RequestRecipient.objects.filter(pk__in=recipient_ids)
        .select_related(
            "user", "request__group", "request__school", "request__sender__user", "forwarded_by"
        )
        .only(*_EMAIL_FIELDS)  # the institutions' 140 register columns stay behind
    )
    by_id = {recipient.pk: recipient for recipient in recipients}
    contents = {}
    for delivery in deliveries:
        recipient = by_id.get(delivery.params.get("recipient_id"))
        if recipient is None or recipient.request_id != delivery.params.get("request_id"):
            continue  # gone: the outbox records it as failed, saying so
        contents[delivery.pk] = request_email_content(recipient=recipient, kind=delivery.kind)
    return contents
