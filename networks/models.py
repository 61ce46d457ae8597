"""Staff sharing: resources (files and notes) that staff own, and the ways they reach
people beyond their own organisation: groups (local or community) and networks
(collaboration or coaching), each approved by the organisations it spans.

"Organisation" is a site (school, trust or local authority). A resource belongs to its
owner's organisation (``site``); whoever else may open it is decided at every read by
``networks.reach`` from the shares below, so a suspended network or a departed owner hides
the cross-organisation shares at once, without rewriting them. Nothing here holds pupil
records: a resource is staff content.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ResourceKind(models.TextChoices):
    FILE = "file", "File"
    NOTE = "note", "Note"


class Resource(models.Model):
    site = models.ForeignKey(
        "institutions.Institution", on_delete=models.CASCADE, related_name="staff_resources"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="staff_resources"
    )
    kind = models.CharField(max_length=8, choices=ResourceKind.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    note = models.TextField(blank=True, help_text="The text of a note.")
    # The file: a generated storage name (never the uploader's), its sniffed type and size.
    stored_name = models.CharField(max_length=255, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.BigIntegerField(default=0)
    # Shared with everyone at the owner's organisation.
    everyone_at_site = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["site", "owner"], name="resource_site_owner")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="note") | ~Q(stored_name=""), name="resource_file_has_stored"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_video(self) -> bool:
        return self.content_type.startswith("video/")

    @property
    def is_audio(self) -> bool:
        return self.content_type.startswith("audio/")

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class NetworkKind(models.TextChoices):
    COLLABORATION = "collaboration", "Collaboration network"
    COACHING = "coaching", "Coaching network"


class NetworkStatus(models.TextChoices):
    PENDING = "pending", "Waiting for approvals"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


class Network(models.Model):
    kind = models.CharField(max_length=16, choices=NetworkKind.choices)
    name = models.CharField(max_length=150)
    purpose = models.TextField(blank=True)
    # Where it was requested, and by whom.
    site = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="networks_requested"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # A coaching network's coaching organisation (empty for collaboration).
    coaching_site = models.ForeignKey(
        "institutions.Institution",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="networks_coaching",
    )
    status = models.CharField(
        max_length=12, choices=NetworkStatus.choices, default=NetworkStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="coaching", coaching_site__isnull=False)
                | Q(kind="collaboration", coaching_site__isnull=True),
                name="network_coaching_site_for_coaching",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == NetworkStatus.ACTIVE


class NetworkOrganisation(models.Model):
    """A member organisation, with its leadership's approval (or withdrawal)."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="organisations")
    site = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="network_places"
    )
    # Only named members take part when any are named (a coaching organisation's: its
    # coaches); none named: everyone at the organisation.
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approver_name = models.CharField(max_length=150, blank=True)
    approver_role = models.CharField(max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    statement = models.TextField(blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["network", "site"], name="network_organisation_once")
        ]
        indexes = [models.Index(fields=["site", "network"], name="network_org_site")]

    def __str__(self) -> str:
        return f"{self.site} in {self.network}"


class NetworkMember(models.Model):
    """A named member of a network at one organisation."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="members")
    site = models.ForeignKey("institutions.Institution", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["network", "site", "user"], name="network_member_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.site} in {self.network}"


class GroupStatus(models.TextChoices):
    LOCAL = "local", "Local group"
    REQUESTED = "requested", "Community group requested"
    COMMUNITY = "community", "Community group"


class ShareGroup(models.Model):
    """A group of staff to share with: local (the owner organisation's members only) or,
    once its organisation approves, community (members from organisations that whitelist
    it as well)."""

    site = models.ForeignKey(
        "institutions.Institution", on_delete=models.CASCADE, related_name="share_groups"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=GroupStatus.choices, default=GroupStatus.LOCAL)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    @property
    def is_community(self) -> bool:
        return self.status == GroupStatus.COMMUNITY


class ShareGroupMember(models.Model):
    group = models.ForeignKey(ShareGroup, on_delete=models.CASCADE, related_name="members")
    site = models.ForeignKey("institutions.Institution", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "site", "user"], name="share_group_member_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.site} in {self.group}"


class GroupWhitelistEntry(models.Model):
    """Organisation ``site`` lets its members contribute to community group ``group``."""

    group = models.ForeignKey(ShareGroup, on_delete=models.CASCADE, related_name="whitelist")
    site = models.ForeignKey(
        "institutions.Institution", on_delete=models.CASCADE, related_name="group_whitelist"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "site"], name="group_whitelist_once")
        ]

    def __str__(self) -> str:
        return f"{self.group} whitelisted by {self.site}"


class ResourceShare(models.Model):
    """One share of a resource: with a person (at an organisation: their own colleague, or
    someone reached through ``network``), with a group, or with a whole network (when the
    rules allow it). Ending a share deletes its row; the audit trail keeps the history."""

    site = models.ForeignKey("institutions.Institution", on_delete=models.CASCADE, related_name="+")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="shares")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    recipient_site = models.ForeignKey(
        "institutions.Institution",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    group = models.ForeignKey(
        ShareGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="shares"
    )
    network = models.ForeignKey(
        Network, null=True, blank=True, on_delete=models.CASCADE, related_name="shares"
    )
    shared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # A person (with their organisation), a group, or a whole network: exactly one.
            models.CheckConstraint(
                condition=(
                    Q(recipient__isnull=False, recipient_site__isnull=False, group__isnull=True)
                    | Q(
                        recipient__isnull=True,
                        recipient_site__isnull=True,
                        group__isnull=False,
                        network__isnull=True,
                    )
                    | Q(
                        recipient__isnull=True,
                        recipient_site__isnull=True,
                        group__isnull=True,
                        network__isnull=False,
                    )
                ),
                name="resource_share_one_target",
            ),
            models.UniqueConstraint(
                fields=["resource", "recipient", "recipient_site"],
                condition=Q(recipient__isnull=False),
                name="resource_share_person_once",
            ),
            models.UniqueConstraint(
                fields=["resource", "group"],
                condition=Q(group__isnull=False),
                name="resource_share_group_once",
            ),
            models.UniqueConstraint(
                fields=["resource", "network"],
                condition=Q(recipient__isnull=True, group__isnull=True),
                name="resource_share_network_once",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient_site", "recipient"], name="share_recipient"),
            models.Index(fields=["site", "resource"], name="share_site_resource"),
        ]

    def __str__(self) -> str:
        return f"Share {self.pk} of {self.resource_id}"
