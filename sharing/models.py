"""Data sharing agreements between a group (trust or local authority) and each school."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class AccessLevel(models.IntegerChoices):
    """What a group may see and do at a school, ordered; exactly as users know them."""

    DFE_DATA = 1, "DfE Data"
    DFE_AND_MIS_DATA = 2, "DfE Data & MIS Data"
    DFE_MIS_AND_GROUP_ACTIONS = 3, "DfE Data, MIS Data & Group Actions"


LEVEL_MEANINGS = {
    AccessLevel.DFE_DATA: (
        "Published government statistics about the school: census characteristics (pupil "
        "numbers, free school meals, SEN, English as an additional language), key stage 2 "
        "and key stage 4 performance, absence and suspensions."
    ),
    AccessLevel.DFE_AND_MIS_DATA: (
        "Everything in DfE Data, plus live figures from the school's MIS, such as this "
        "term's attendance."
    ),
    AccessLevel.DFE_MIS_AND_GROUP_ACTIONS: (
        "Everything in DfE Data & MIS Data, plus central actions such as authorised group "
        "staff logging in to the school's MIS."
    ),
}


# Why an agreement ended: the only way one ends (``sharing.services.endings``).
SCHOOL_LEFT_THE_GROUP = "school left the group"


class AgreementQuerySet(models.QuerySet):
    def in_force(self) -> "AgreementQuerySet":
        """Agreements that have not ended: the only ones that grant anything."""
        return self.filter(ended_at__isnull=True)

    def ended(self) -> "AgreementQuerySet":
        """Agreements that ended (history: they grant nothing)."""
        return self.filter(ended_at__isnull=False)


class Agreement(models.Model):
    """The approved agreement of one group with one school. Its level only ever rises: the
    service raises it under a row lock, and a database trigger rejects any lowering.

    It ends when the school leaves the group (``ended_at`` and ``end_reason`` set, nothing
    else changed): an ended agreement is kept as history, grants nothing and never changes
    again, and a school that rejoins starts with no agreement (a new row). At most one
    agreement per group and school is in force."""

    group = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="agreements_as_group"
    )
    school = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="agreements_as_school"
    )
    level = models.PositiveSmallIntegerField(choices=AccessLevel.choices)
    automated = models.BooleanField(
        default=False, help_text="Set up by platform support for the whole trust, not by request."
    )
    approved_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    ended_at = models.DateTimeField(
        null=True, blank=True, help_text="When the agreement ended; empty while in force."
    )
    end_reason = models.CharField(
        max_length=200, blank=True, help_text="Why it ended (the school left the group)."
    )

    objects = AgreementQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "school"],
                condition=Q(ended_at__isnull=True),
                name="one_agreement_in_force_per_pair",
            ),
            models.CheckConstraint(condition=Q(level__in=[1, 2, 3]), name="agreement_level_1_to_3"),
            models.CheckConstraint(
                condition=(Q(ended_at__isnull=True) & Q(end_reason=""))
                | (Q(ended_at__isnull=False) & ~Q(end_reason="")),
                name="agreement_ends_with_a_reason",
            ),
        ]

    def __str__(self) -> str:
        ended = f" (ended {self.ended_at:%d %B %Y})" if self.ended_at else ""
        return f"{self.group} – {self.school}: {self.get_level_display()}{ended}"

    @property
    def has_ended(self) -> bool:
        return self.ended_at is not None


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"
    SUPERSEDED = "superseded", "Superseded"


class AgreementRequest(models.Model):
    """A group's request that a school agree to share at ``level``.

    At most one pending request per (group, school); a request at or below the approved
    level is refused by the service. Transitions only leave PENDING.
    """

    group = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="requests_as_group"
    )
    school = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="requests_as_school"
    )
    level = models.PositiveSmallIntegerField(choices=AccessLevel.choices)
    sender = models.ForeignKey(
        "accounts.StaffProfile",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The group staff member the request comes from.",
    )
    status = models.CharField(
        max_length=12, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decline_reason = models.CharField(
        max_length=500, blank=True, help_text="What the school said when it declined."
    )
    withdraw_reason = models.CharField(
        max_length=200,
        blank=True,
        default="",
        db_default="",
        help_text="Why it was withdrawn other than by the group (the school left the group).",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "school"],
                condition=Q(status="pending"),
                name="one_pending_request_per_pair",
            ),
            models.CheckConstraint(condition=Q(level__in=[1, 2, 3]), name="request_level_1_to_3"),
        ]
        indexes = [
            models.Index(fields=["group", "status"], name="request_group_status"),
            models.Index(fields=["school", "status"], name="request_school_status"),
        ]

    def __str__(self) -> str:
        return f"{self.group} asks {self.school} for {self.get_level_display()}"


class RecipientSource(models.TextChoices):
    """How a person came to receive a request."""

    ROLE = "role", "By role"
    NAMED = "named", "Chosen by name"
    FORWARDED = "forwarded", "Forwarded"


class RequestRecipient(models.Model):
    """A school staff member a request was sent to: chosen when it was sent (by role or
    by name), or forwarded to them later by a colleague at the school."""

    request = models.ForeignKey(
        AgreementRequest, on_delete=models.CASCADE, related_name="recipients"
    )
    school = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    email = models.EmailField()
    role_name = models.CharField(max_length=100)
    source = models.CharField(
        max_length=10, choices=RecipientSource.choices, default=RecipientSource.ROLE
    )
    forwarded_by = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who forwarded the request to this person (a forwarded recipient only).",
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "user"], name="recipient_once_per_request"),
            models.CheckConstraint(
                condition=Q(source="forwarded", forwarded_by__isnull=False)
                | (~Q(source="forwarded") & Q(forwarded_by__isnull=True)),
                name="recipient_forwarded_by_iff_forwarded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.role_name})"


class RequestReminder(models.Model):
    """A reminder sent for a pending request."""

    request = models.ForeignKey(
        AgreementRequest, on_delete=models.CASCADE, related_name="reminders"
    )
    sent_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at"]
        indexes = [models.Index(fields=["request", "-sent_at"], name="reminder_request_sent")]

    def __str__(self) -> str:
        return f"Reminder for {self.request_id} at {self.sent_at:%Y-%m-%d %H:%M}"
