"""Email deliveries: one record per (request, recipient, kind and reminder), so a task that
runs twice, or is retried after a failure, never sends the same email twice.

How a delivery moves (``notifications.services``): QUEUED → SENDING (claimed, with
``claimed_at``) → SENT; or SENDING → RETRYING (an SMTP error, retried with backoff) → SENDING
again …; or FAILED after the last attempt.
"""

from django.db import models
from django.db.models import Q


class DeliveryKind(models.TextChoices):
    REQUEST = "request", "Request"
    REMINDER = "reminder", "Reminder"


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
        help_text="The group site that sent it.",
    )
    request = models.ForeignKey(
        "sharing.AgreementRequest", on_delete=models.CASCADE, related_name="deliveries"
    )
    recipient = models.ForeignKey(
        "sharing.RequestRecipient", on_delete=models.CASCADE, related_name="deliveries"
    )
    reminder = models.ForeignKey(
        "sharing.RequestReminder",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    kind = models.CharField(max_length=10, choices=DeliveryKind.choices)
    dedupe_key = models.CharField(
        max_length=100, unique=True, help_text="request:recipient:kind:reminder"
    )
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
            models.Index(fields=["request"], name="delivery_request"),
            # The sweep for deliveries still to send (deliveries_retry_due): a small set.
            models.Index(
                fields=["status", "claimed_at"],
                condition=~Q(status__in=["sent", "failed"]),
                name="delivery_unsent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient_id}: {self.status}"
