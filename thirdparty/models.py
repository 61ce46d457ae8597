"""Third-party apps, the schools' decisions about them, and every call they make.

- ``App``: an education app registered by platform support (its vendor, purpose, scopes
  asked for, status), with one OAuth2 client (``oauth2_provider.Application``).
- ``DataAccessRequest``: an app asking one school for its scopes; at most one pending per
  (app, school), by the database.
- ``AppAuthorisation``: what a school has granted an app; one per (app, school), by the
  database, kept (revoked) when access ends.
- ``AppDecision``: every authorise, decline, change and revoke, kept as history (the
  receipts are made from it).
- ``AppCall``: the access log, one row per app call, that the school reads.
- ``RecordChange``: when a school's pupil records changed or were removed, kept by database
  triggers (migration 0002), so that apps can sync incrementally (``updated_since`` and the
  deletions list).

Site rows (``AppCall``, ``RecordChange``) are guarded by Row-Level Security like pupil
data: only inside a transaction bound to their school.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class AppStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


def _scope_list(**kwargs) -> ArrayField:
    return ArrayField(models.CharField(max_length=40), default=list, blank=True, **kwargs)


class App(models.Model):
    oauth_client = models.OneToOneField(
        "oauth2_provider.Application", on_delete=models.PROTECT, related_name="matmis_app"
    )
    vendor = models.CharField(max_length=150)
    name = models.CharField(max_length=150)
    purpose = models.TextField(help_text="What the app does for a school, in plain words.")
    website = models.URLField()
    privacy_notice_url = models.URLField("privacy notice URL")
    support_email = models.EmailField(
        help_text="The vendor's contact: gets a receipt of every school's decision."
    )
    required_scopes = _scope_list()
    optional_scopes = _scope_list()
    status = models.CharField(max_length=10, choices=AppStatus.choices, default=AppStatus.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "name"], name="app_name_unique_per_vendor")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.vendor})"

    @property
    def is_active(self) -> bool:
        return self.status == AppStatus.ACTIVE


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the school"
    AUTHORISED = "authorised", "Authorised"
    DECLINED = "declined", "Declined"
    SUPERSEDED = "superseded", "Replaced by a newer request"


class RequestOrigin(models.TextChoices):
    APP = "app", "Asked by the app"
    SCHOOL = "school", "Started by the school"


class DataAccessRequest(models.Model):
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="requests")
    school = models.ForeignKey(
        "institutions.Institution", on_delete=models.CASCADE, related_name="+"
    )
    # The app's scopes when it asked: what the school decides on.
    required_scopes = _scope_list()
    optional_scopes = _scope_list()
    origin = models.CharField(max_length=10, choices=RequestOrigin.choices)
    status = models.CharField(
        max_length=12, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    granted_scopes = _scope_list()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "school"],
                condition=Q(status="pending"),
                name="one_pending_app_request_per_school",
            )
        ]
        indexes = [models.Index(fields=["school", "status"], name="app_request_school")]

    def __str__(self) -> str:
        return f"{self.app} at {self.school}: {self.status}"


class AuthorisationStatus(models.TextChoices):
    ACTIVE = "active", "Authorised"
    REVOKED = "revoked", "Revoked"


class AppAuthorisation(models.Model):
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="authorisations")
    school = models.ForeignKey(
        "institutions.Institution", on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=10, choices=AuthorisationStatus.choices)
    # What the school granted: the request's required scopes plus the optional scopes it
    # ticked; ``offered_optional`` are the optional scopes it may still change in place.
    required_scopes = _scope_list()
    optional_scopes = _scope_list()
    offered_optional = _scope_list()
    authorised_at = models.DateTimeField()
    changed_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "school"], name="one_authorisation_per_app_and_school"
            )
        ]
        indexes = [models.Index(fields=["school", "status"], name="app_authorisation_school")]

    def __str__(self) -> str:
        return f"{self.app} at {self.school}: {self.status}"

    @property
    def is_active(self) -> bool:
        return self.status == AuthorisationStatus.ACTIVE

    @property
    def scopes(self) -> list[str]:
        if not self.is_active:
            return []
        return [*self.required_scopes, *self.optional_scopes]


class DecisionAction(models.TextChoices):
    AUTHORISED = "authorised", "Authorised"
    DECLINED = "declined", "Declined"
    CHANGED = "changed", "Changed optional scopes"
    REVOKED = "revoked", "Revoked"


class AppDecision(models.Model):
    """One decision of a school about an app: the history, and what receipts tell of."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey(
        "institutions.Institution", on_delete=models.CASCADE, related_name="+"
    )
    request = models.ForeignKey(
        DataAccessRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    action = models.CharField(max_length=12, choices=DecisionAction.choices)
    scopes = _scope_list(help_text="The scopes granted after the decision.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_roles = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["school", "at"], name="app_decision_school")]

    def __str__(self) -> str:
        return f"{self.app} at {self.school}: {self.action}"


class AppCall(models.Model):
    """The access log: one row per app call naming a school."""

    site = models.ForeignKey(
        "institutions.Institution", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    endpoint = models.CharField(max_length=60)
    scopes = _scope_list(help_text="The scopes whose fields the answer carried.")
    records = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField()
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["site", "-at"], name="app_call_site_at"),
            models.Index(fields=["site", "app", "-at"], name="app_call_site_app_at"),
        ]

    def __str__(self) -> str:
        return f"{self.app_id} {self.endpoint} {self.at}"


class RecordChange(models.Model):
    """When a pupil record last changed, or was removed (written by database triggers)."""

    site = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    entity = models.CharField(max_length=20)  # "student" or "exclusion"
    record_id = models.BigIntegerField()
    changed_at = models.DateTimeField()
    deleted = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "entity", "record_id"], name="record_change_once"
            )
        ]
        indexes = [
            models.Index(fields=["site", "entity", "changed_at"], name="record_change_since")
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.record_id} at {self.changed_at}"
