"""The outbox: one record per email to send, so a task that runs twice, or is retried after
a failure, never sends the same email twice.

A delivery knows what notifications needs to send it and nothing of what it is about: the
site it is sent for, the address, a kind and a topic (the app's words, for finding its
deliveries), a unique ``dedupe_key``, and the registered message builder
(``notifications.builders``) that makes the email from ``params`` (ids) when it is sent.

How a delivery moves (``notifications.services``): QUEUED → SENDING (claimed, with
``claimed_at``) → SENT; or SENDING → RETRYING (an SMTP error, retried with backoff) → SENDING
again …; or FAILED after the last attempt, or at once when no email can be built for it.
"""

from django.db import models
from django.db.models import Q


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"


class EmailDelivery(models.Model):
    site = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The site it is sent for.",
    )
    address = models.EmailField(help_text="The recipient's address.")
    kind = models.CharField(max_length=30, help_text="What it is, in the sending app's words.")
    topic = models.CharField(
        max_length=100,
        help_text="What it is about, for the app to find it: 'agreement-request:12'.",
    )
    dedupe_key = models.CharField(
        max_length=100, unique=True, help_text="One delivery per key, however often queued."
    )
    builder = models.CharField(
        max_length=100, help_text="The registered message builder that makes the email."
    )
    params = models.JSONField(default=dict, blank=True, help_text="The builder's ids.")
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the latest attempt claimed it (SENDING) or ended without sending.",
    )
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["site", "status"], name="delivery_site_status"),
            models.Index(fields=["site", "topic"], name="delivery_site_topic"),
            # The sweep for deliveries still to send (deliveries_due_by_site), across
            # sites: a small set.
            models.Index(
                fields=["status", "claimed_at"],
                condition=~Q(status__in=["sent", "failed"]),
                name="delivery_unsent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.address}: {self.status}"
