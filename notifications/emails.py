"""The email of a delivery: its builder's content (``notifications.builders``), addressed to
the delivery's recipient, from ``DEFAULT_FROM_EMAIL``, with the delivery's own Message-ID."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from .builders import EmailContent
from .models import EmailDelivery


def delivery_message_id(*, delivery: EmailDelivery) -> str:
    """The same Message-ID on every attempt of one delivery, so that in the rare case a
    message goes out twice (see ``notifications.services``) mail systems can tell it is
    the same message."""
    return f"<matmis.delivery.{delivery.pk}@{settings.BASE_DOMAIN}>"


def delivery_email(*, delivery: EmailDelivery, content: EmailContent) -> EmailMultiAlternatives:
    """The message to send for ``delivery``: plain text, and HTML when the builder made it."""
    message = EmailMultiAlternatives(
        subject=content.subject,
        body=content.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.address],
        headers={
            "Message-ID": delivery_message_id(delivery=delivery),
            "Auto-Submitted": "auto-generated",
        },
    )
    if content.html:
        message.attach_alternative(content.html, "text/html")
    return message
