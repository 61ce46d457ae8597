"""The data sharing request and reminder emails: plain text and HTML.

Each names the group, the sender and the level with its meaning, and links to the request
page on the school's own host. The link only locates the request: it carries no token,
opening it needs a signed-in user there, and a GET of that page changes nothing (mail
scanners follow links).
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from sharing.models import LEVEL_MEANINGS, AccessLevel, AgreementRequest

from .models import DeliveryKind, EmailDelivery


def request_page_url(*, request: AgreementRequest) -> str:
    """The request's page on the school's host (``school.url`` ends with a slash)."""
    return f"{request.school.url}data/data-sharing/requests/{request.id}/"


def request_email_subject(*, request: AgreementRequest, kind: str) -> str:
    subject = (
        f"{request.group.name} asks to share data with {request.school.name}: "
        f"{AccessLevel(request.level).label}"
    )
    return f"Reminder: {subject}" if kind == DeliveryKind.REMINDER else subject


def delivery_message_id(*, delivery: EmailDelivery) -> str:
    """The same Message-ID on every attempt of one delivery, so that in the rare case a
    message goes out twice (see ``notifications.services``) mail systems can tell it is
    the same message."""
    return f"<matmis.delivery.{delivery.pk}@{settings.BASE_DOMAIN}>"


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


def request_email_context(*, delivery: EmailDelivery) -> RequestEmailContext:
    request = delivery.request
    sender = request.sender
    level = AccessLevel(request.level)
    return RequestEmailContext(
        recipient_name=delivery.recipient.user.display_name,
        group_name=request.group.name,
        school_name=request.school.name,
        sender_name=sender.user.display_name,
        sender_job_title=sender.job_title,
        level_label=level.label,
        level_meaning=LEVEL_MEANINGS[level],
        request_url=request_page_url(request=request),
        requested_on=f"{request.created_at:%-d %B %Y}",
        is_reminder=delivery.kind == DeliveryKind.REMINDER,
    )


def request_email_build(*, delivery: EmailDelivery) -> EmailMultiAlternatives:
    """The email of ``delivery`` (with ``request__group``, ``request__school``,
    ``request__sender__user`` and ``recipient__user`` loaded, or fetched on access)."""
    context = {"email": request_email_context(delivery=delivery)}
    message = EmailMultiAlternatives(
        subject=request_email_subject(request=delivery.request, kind=delivery.kind),
        body=render_to_string("notifications/email/request.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.recipient.email],
        headers={
            "Message-ID": delivery_message_id(delivery=delivery),
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(
        render_to_string("notifications/email/request.html", context), "text/html"
    )
    return message
