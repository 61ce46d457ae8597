"""Password reset emails through the outbox, like every other email. Accounts sits below
the outbox and the outbox knows no app, so the roof joins them: the receiver of
``accounts.identity.reset_link.password_reset_requested`` queues one delivery per person,
and the registered message builder makes each email (with a fresh link) when it is sent.

A delivery holds the person's id and address, never a token. Each request is its own
delivery (a new dedupe key); how often one may ask is limited before this, by
``accounts.identity.sign_in.password_reset_allowed``."""

import uuid
from collections.abc import Sequence

from django.dispatch import receiver

from accounts.identity.reset_link import password_reset_email, password_reset_requested
from accounts.models import User
from institutions.models import Institution
from notifications.builders import EmailContent, register_builder
from notifications.models import EmailDelivery
from notifications.services import OutgoingEmail, deliveries_enqueue

RESET_LINK_BUILDER = "accounts.password-reset"
KIND = "password-reset"


@receiver(password_reset_requested, dispatch_uid="portal.password_reset_emails")
def password_reset_enqueue(sender, *, users: Sequence[User], site: Institution, **kwargs):
    deliveries_enqueue(
        messages=[
            OutgoingEmail(
                site_id=site.pk,
                address=user.email,
                kind=KIND,
                topic=f"{KIND}:{user.pk}",
                dedupe_key=f"{KIND}:{uuid.uuid4().hex}",
                builder=RESET_LINK_BUILDER,
                params={"user_id": user.pk},
            )
            for user in users
        ]
    )


@register_builder(RESET_LINK_BUILDER)
def password_reset_emails(deliveries: Sequence[EmailDelivery]) -> dict[int, EmailContent]:
    """Each delivery's email with a link made now; none for a person who may no longer
    reset their password at the delivery's site (the outbox records it as failed)."""
    users = User.objects.in_bulk({delivery.params.get("user_id") for delivery in deliveries})
    sites = Institution.objects.in_bulk({delivery.site_id for delivery in deliveries})
    contents = {}
    for delivery in deliveries:
        user = users.get(delivery.params.get("user_id"))
        if user is None:
            continue
        email = password_reset_email(
            user=user, address=delivery.address, site=sites[delivery.site_id]
        )
        if email is not None:
            contents[delivery.pk] = EmailContent(
                subject=email.subject, text=email.text, html=email.html
            )
    return contents
