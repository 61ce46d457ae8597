import datetime

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email=username.strip().lower())


class User(AbstractBaseUser, PermissionsMixin):
    """One person. Signs in with an email address; site access comes from staff profiles.

    ``is_staff`` marks platform support staff (the admin on the bare base domain); it gives
    no access to any school's or group's site.
    """

    email = models.EmailField(
        "email address",
        max_length=254,
        unique=True,
        error_messages={"unique": "Someone already uses this email address."},
    )
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        "platform staff",
        default=False,
        help_text="Can use the platform admin on the base domain.",
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            # Addresses are stored lower-case, so the unique index is case-insensitive.
            models.CheckConstraint(condition=Q(email=Lower("email")), name="user_email_lowercase")
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    @property
    def display_name(self) -> str:
        return self.full_name or self.email


class StaffProfile(models.Model):
    """Ties a user to one site. Signing in at a site needs an active profile there."""

    site = models.ForeignKey(
        "institutions.Institution", on_delete=models.CASCADE, related_name="staff_profiles"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="staff_profiles")
    job_title = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "user"], name="one_profile_per_user_and_site")
        ]
        indexes = [models.Index(fields=["site", "is_active"], name="profile_site_active")]

    def __str__(self) -> str:
        return f"{self.user} at {self.site}"


class BusinessRole(models.Model):
    """A role at one site (Head Teacher, Trust Administrator...) granting permissions."""

    site = models.ForeignKey(
        "institutions.Institution", on_delete=models.CASCADE, related_name="business_roles"
    )
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=255, blank=True)
    is_seeded = models.BooleanField(default=False, help_text="Created from the defaults.")
    retired_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the role was retired: from then on it grants nothing and cannot be "
        "newly assigned (it can be reinstated).",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("site", Lower("name"), name="role_name_unique_per_site")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


class RoleGrant(models.Model):
    """One permission granted by a role, at View or Administer (absent means Off).

    A group role's grants marked ``in_school`` form its school-level set: what its holders
    may do inside a school site they have logged in to from the group (the hop).
    """

    site = models.ForeignKey("institutions.Institution", on_delete=models.CASCADE, related_name="+")
    role = models.ForeignKey(BusinessRole, on_delete=models.CASCADE, related_name="grants")
    code = models.CharField(max_length=60)
    access = models.PositiveSmallIntegerField()
    in_school = models.BooleanField(
        default=False, help_text="Applies inside a school's MIS reached from this group site."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["role", "code", "in_school"], name="one_grant_per_role_code_and_scope"
            ),
            models.CheckConstraint(
                condition=Q(access__in=[1, 2]), name="grant_access_view_or_admin"
            ),
        ]
        indexes = [models.Index(fields=["site", "code"], name="grant_site_code")]

    def __str__(self) -> str:
        return f"{self.role}: {self.code}={self.access}"


def in_force_q(on: datetime.date, prefix: str = "") -> Q:
    """The role assignments in force on ``on``: started (or no start date) and not ended
    (or no end date); both dates count as days in force.

    ``prefix`` reaches the assignment through a relation, e.g. ``"role__assignments__"``
    from a ``RoleGrant``; keep it in the same ``filter()`` call as the relation's other
    conditions so that they all apply to the same assignment.
    """
    return (Q(**{f"{prefix}starts_on__isnull": True}) | Q(**{f"{prefix}starts_on__lte": on})) & (
        Q(**{f"{prefix}ends_on__isnull": True}) | Q(**{f"{prefix}ends_on__gte": on})
    )


def dates_in_force(
    starts_on: datetime.date | None, ends_on: datetime.date | None, on: datetime.date
) -> bool:
    """``in_force_q`` for dates already in memory: the same rule, in Python."""
    return (starts_on is None or starts_on <= on) and (ends_on is None or ends_on >= on)


class RoleAssignmentQuerySet(models.QuerySet):
    def in_force(self, *, on: datetime.date | None = None) -> "RoleAssignmentQuerySet":
        """The assignments in force on ``on`` (default: today, in the site's time zone)."""
        return self.filter(in_force_q(on or timezone.localdate()))


class RoleAssignment(models.Model):
    """A staff profile holds a role, optionally only between two dates (both included):
    ``RoleAssignment.objects.in_force(on=...)``, ``in_force_q`` and ``dates_in_force``
    are the one rule for "in force"."""

    site = models.ForeignKey("institutions.Institution", on_delete=models.CASCADE, related_name="+")
    profile = models.ForeignKey(StaffProfile, on_delete=models.CASCADE, related_name="assignments")
    role = models.ForeignKey(BusinessRole, on_delete=models.CASCADE, related_name="assignments")
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["profile", "role"], name="role_once_per_profile"),
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True)
                | Q(ends_on__isnull=True)
                | Q(ends_on__gte=models.F("starts_on")),
                name="assignment_ends_after_it_starts",
            ),
        ]
        indexes = [models.Index(fields=["site", "profile"], name="assignment_site_profile")]

    def __str__(self) -> str:
        return f"{self.profile} as {self.role}"


class SiteSecurityPolicy(models.Model):
    """Security settings a site chooses for its own staff."""

    site = models.OneToOneField(
        "institutions.Institution", on_delete=models.CASCADE, related_name="security_policy"
    )
    require_two_factor = models.BooleanField(
        default=False, help_text="Every member of staff must sign in with a second factor."
    )
    # Sign-in with the organisation's Microsoft or Google account (accounts.identity.oidc).
    sign_in_provider = models.CharField(
        max_length=20,
        blank=True,
        choices=[("microsoft", "Microsoft"), ("google", "Google")],
        help_text="The identity provider staff may sign in with; blank: none.",
    )
    sign_in_domains = models.TextField(
        blank=True, help_text="Email domains accepted from the provider, one per line."
    )
    accept_provider_mfa = models.BooleanField(
        default=False,
        help_text="The provider's multi-factor sign-in (amr 'mfa') stands for this site's own.",
    )

    def __str__(self) -> str:
        return f"Security policy of {self.site}"


class StaffAssociation(models.Model):
    """Which schools a group staff member works with (group sites only).

    Effective schools: every current school of the group when ``all_schools`` is set;
    otherwise the chosen schools plus the schools of the chosen clusters.
    """

    site = models.ForeignKey("institutions.Institution", on_delete=models.CASCADE, related_name="+")
    profile = models.OneToOneField(
        StaffProfile, on_delete=models.CASCADE, related_name="association"
    )
    all_schools = models.BooleanField("associated to all institutions", default=False)

    def __str__(self) -> str:
        return f"Associations of {self.profile}"


class AssociatedSchool(models.Model):
    site = models.ForeignKey("institutions.Institution", on_delete=models.CASCADE, related_name="+")
    association = models.ForeignKey(
        StaffAssociation, on_delete=models.CASCADE, related_name="school_links"
    )
    school = models.ForeignKey(
        "institutions.Institution", on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["association", "school"], name="school_once_per_association"
            )
        ]
        indexes = [models.Index(fields=["site", "school"], name="assoc_school_site_school")]

    def __str__(self) -> str:
        return f"{self.association_id} → school {self.school_id}"


class AssociatedCluster(models.Model):
    site = models.ForeignKey("institutions.Institution", on_delete=models.CASCADE, related_name="+")
    association = models.ForeignKey(
        StaffAssociation, on_delete=models.CASCADE, related_name="cluster_links"
    )
    cluster = models.ForeignKey("institutions.Cluster", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["association", "cluster"], name="cluster_once_per_association"
            )
        ]
        indexes = [models.Index(fields=["site", "cluster"], name="assoc_cluster_site_cluster")]

    def __str__(self) -> str:
        return f"{self.association_id} → cluster {self.cluster_id}"


class SignInFailure(models.Model):
    """A failed sign-in, kept to throttle guessing per account and per address."""

    email = models.CharField(max_length=254)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    site = models.ForeignKey(
        "institutions.Institution",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["email", "at"], name="signin_failure_email_at"),
            models.Index(fields=["ip_address", "at"], name="signin_failure_ip_at"),
        ]

    def __str__(self) -> str:
        return f"{self.email} from {self.ip_address} at {self.at:%Y-%m-%d %H:%M}"


class UsedBackupCode(models.Model):
    """A backup code someone has used, kept as a keyed digest (never the code itself), so a
    second use is told apart from a wrong code. Making new backup codes forgets them."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "digest"], name="used_backup_code_once")
        ]

    def __str__(self) -> str:
        return f"a backup code of user {self.user_id}, used {self.used_at:%Y-%m-%d %H:%M}"


class HopToken(models.Model):
    """A single-use, short-lived ticket from a group site into one school site.

    Only the SHA-256 of the token is stored; the token itself travels once, by POST.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(
        "institutions.Institution", on_delete=models.CASCADE, related_name="+"
    )
    school = models.ForeignKey(
        "institutions.Institution", on_delete=models.CASCADE, related_name="+"
    )
    group_session_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Hop of {self.user_id} from {self.group_id} to {self.school_id}"


class ProviderSignIn(models.Model):
    """One sign-in with an identity provider (OpenID Connect), from start to handover.

    Started on the site's host (``state_hash``, ``nonce``, ``code_verifier``); the provider's
    callback on the platform host spends the state once and, for a person with an active
    staff profile at ``site``, sets ``user`` and a handover token (only its SHA-256 kept),
    which the site's host redeems once, within a minute, in the browser that started it.
    """

    site = models.ForeignKey("institutions.Institution", on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=20)
    state_hash = models.CharField(max_length=64, unique=True)
    nonce = models.CharField(max_length=64)
    code_verifier = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    called_back_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    provider_mfa = models.BooleanField(default=False)
    handover_hash = models.CharField(max_length=64, blank=True, db_index=True)
    handover_expires_at = models.DateTimeField(null=True, blank=True)
    handover_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.provider} sign-in at {self.site_id}"


class StaffInvitation(models.Model):
    """An invitation to set a password and start work at a site, sent by email with a
    single-use link on the site's host.

    Only the SHA-256 of the link's token is kept (``token_hash``), never the token: the
    token is made when the email is built, and a new email (a resend) makes a new one, so
    every earlier link dies. Pending until accepted, revoked or past ``expires_at``.
    """

    site = models.ForeignKey("institutions.Institution", on_delete=models.CASCADE, related_name="+")
    profile = models.ForeignKey(StaffProfile, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, blank=True)
    sends = models.PositiveIntegerField(
        default=1, help_text="How many emails were asked for; only the last one's link works."
    )
    invited_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # At most one invitation of a profile is open (neither used nor revoked).
            models.UniqueConstraint(
                fields=["profile"],
                condition=Q(used_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_profile",
            )
        ]
        indexes = [models.Index(fields=["site", "created_at"], name="invitation_site_created")]

    def __str__(self) -> str:
        return f"Invitation of profile {self.profile_id} at {self.site_id}"


class AuditAction(models.TextChoices):
    SIGN_IN = "sign_in", "Signed in"
    SIGN_IN_FAILED = "sign_in_failed", "Failed sign-in"
    SIGN_OUT = "sign_out", "Signed out"
    TWO_FACTOR_ENROLLED = "two_factor_enrolled", "Set up two-factor sign-in"
    TWO_FACTOR_REMOVED = "two_factor_removed", "Removed two-factor sign-in"
    ROLE_ASSIGNED = "role_assigned", "Role assigned"
    ROLE_REMOVED = "role_removed", "Role removed"
    ROLE_CHANGED = "role_changed", "Role permissions changed"
    ASSOCIATION_CHANGED = "association_changed", "Associations changed"
    SECURITY_POLICY_CHANGED = "security_policy_changed", "Security policy changed"
    HOP_STARTED = "hop_started", "Logged in to a school's MIS"
    HOP_ENDED = "hop_ended", "Left a school's MIS"
    HOP_WRITE = "hop_write", "Change made while logged in from a group"
    CLUSTER_CHANGED = "cluster_changed", "Cluster changed"
    AGREEMENT_RAISED = "agreement_raised", "Data sharing agreement set or raised"
    AGREEMENT_AUTOMATED = "agreement_automated", "Automated data sharing agreement"
    AGREEMENT_ENDED = "agreement_ended", "Data sharing agreement ended"
    REQUEST_SENT = "request_sent", "Data sharing request sent"
    REQUEST_REMINDED = "request_reminded", "Data sharing reminder sent"
    REQUEST_APPROVED = "request_approved", "Data sharing request approved"
    REQUEST_DECLINED = "request_declined", "Data sharing request declined"
    REQUEST_WITHDRAWN = "request_withdrawn", "Data sharing request withdrawn"
    REQUEST_FORWARDED = "request_forwarded", "Data sharing request forwarded"
    PASSWORD_RESET = "password_reset", "Password reset"
    BACKUP_CODES_REGENERATED = "backup_codes_regenerated", "New backup codes made"
    STAFF_INVITED = "staff_invited", "Member of staff invited"
    STAFF_ADDED = "staff_added", "Existing user added as staff"
    INVITATION_RESENT = "invitation_resent", "Invitation sent again"
    INVITATION_REVOKED = "invitation_revoked", "Invitation revoked"
    INVITATION_ACCEPTED = "invitation_accepted", "Invitation accepted"
    STAFF_DEACTIVATED = "staff_deactivated", "Member of staff deactivated"
    STAFF_REACTIVATED = "staff_reactivated", "Member of staff reactivated"
    PUPIL_OFF_ROLL = "pupil_off_roll", "Pupil taken off roll"
    CTF_IMPORTED = "ctf_imported", "Common Transfer File imported"
    CTF_EXPORTED = "ctf_exported", "Common Transfer File exported"
    ARRIVAL_RECEIVED = "arrival_received", "Pupil transfer received from another school"
    ARRIVAL_ACCEPTED = "arrival_accepted", "Pupil transfer accepted"
    ARRIVAL_REJECTED = "arrival_rejected", "Pupil transfer rejected"
    PUPIL_ADDED = "pupil_added", "Pupil added to the roll"
    PUPIL_CHANGED = "pupil_changed", "Pupil’s record changed"
    PUPIL_READMITTED = "pupil_readmitted", "Pupil readmitted"
    REGISTRATION_GROUP_CHANGED = "registration_group_changed", "Registration group changed"
    REGISTER_TAKEN = "register_taken", "Register marks saved"
    MARK_AMENDED = "mark_amended", "Register mark amended"
    REGISTER_SETTINGS_CHANGED = "register_settings_changed", "Register closing times changed"
    RESOURCE_ADDED = "resource_added", "Resource added"
    RESOURCE_CHANGED = "resource_changed", "Resource changed"
    RESOURCE_DELETED = "resource_deleted", "Resource deleted"
    RESOURCE_SHARED = "resource_shared", "Resource shared"
    RESOURCE_UNSHARED = "resource_unshared", "Resource share ended"
    RESOURCE_DOWNLOADED = "resource_downloaded", "Resource opened from another organisation"
    NETWORK_REQUESTED = "network_requested", "Sharing network requested"
    NETWORK_APPROVED = "network_approved", "Sharing network approved"
    NETWORK_WITHDRAWN = "network_withdrawn", "Sharing network withdrawn from"
    SHARE_GROUP_CHANGED = "share_group_changed", "Sharing group changed"
    SHARE_GROUP_WHITELIST = "share_group_whitelist", "Community group whitelist changed"
    APP_AUTHORISED = "app_authorised", "Third-party app authorised"
    APP_DECLINED = "app_declined", "Third-party app's request declined"
    APP_SCOPES_CHANGED = "app_scopes_changed", "Third-party app's optional scopes changed"
    APP_REVOKED = "app_revoked", "Third-party app revoked"
    APP_CONNECTION_REQUESTED = "app_connection_requested", "Connection to a third-party app asked"


class AuditEvent(models.Model):
    """Who did what, where, from which site and address. Written in the same transaction
    as the change it records; never edited."""

    site = models.ForeignKey(
        "institutions.Institution",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
        help_text="Where it happened; empty for the platform.",
    )
    acting_from = models.ForeignKey(
        "institutions.Institution",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="During a hop, the group site the person came from.",
    )
    # PROTECT: the application may only add to the trail (matmis.db_roles), so a person who
    # acted is deactivated, never deleted (SET_NULL would rewrite their events).
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    target = models.CharField(max_length=255, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["site", "-at"], name="audit_site_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_email} {self.action} {self.target}"
