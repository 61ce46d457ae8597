import re

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Lower, Replace

from matmis.text_files import ENCODING_LABELS


class InstitutionKind(models.TextChoices):
    SCHOOL = "school", "School"
    TRUST = "trust", "Trust"
    LOCAL_AUTHORITY = "la", "Local Authority"


GROUP_KINDS = (InstitutionKind.TRUST, InstitutionKind.LOCAL_AUTHORITY)


class Phase(models.TextChoices):
    """``PhaseOfEducation (name)`` in the register."""

    NOT_APPLICABLE = "Not applicable"
    NURSERY = "Nursery"
    PRIMARY = "Primary"
    MIDDLE_DEEMED_PRIMARY = "Middle deemed primary"
    SECONDARY = "Secondary"
    MIDDLE_DEEMED_SECONDARY = "Middle deemed secondary"
    SIXTEEN_PLUS = "16 plus"
    ALL_THROUGH = "All-through"


class Status(models.TextChoices):
    """``EstablishmentStatus (name)`` in the register."""

    OPEN = "Open"
    CLOSED = "Closed"
    OPEN_PROPOSED_TO_CLOSE = "Open, but proposed to close"
    PROPOSED_TO_OPEN = "Proposed to open"


# A group's schools are its current members with one of these statuses.
CURRENT_STATUSES = (Status.OPEN, Status.OPEN_PROPOSED_TO_CLOSE)


class OfstedGrade(models.TextChoices):
    """A legacy single overall grade (inspections up to September 2024), normalised.

    Blank means the register gives no single grade: never inspected, or inspected under
    the report-card framework, whose area grades live in ``Institution.ofsted_report_card``.
    """

    OUTSTANDING = "outstanding", "Outstanding"
    GOOD = "good", "Good"
    REQUIRES_IMPROVEMENT = "requires_improvement", "Requires improvement"
    INADEQUATE = "inadequate", "Inadequate"
    SERIOUS_WEAKNESSES = "serious_weaknesses", "Inadequate: serious weaknesses"
    SPECIAL_MEASURES = "special_measures", "Inadequate: special measures"


# A host name label: what a site's slug can be, and all a Host header may ask for.
SITE_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class InstitutionQuerySet(models.QuerySet):
    def site_for_slug(self, slug: str) -> "Institution | None":
        """The site served at ``<slug>.<BASE_DOMAIN>``, or None when there is none."""
        if not SITE_SLUG.match(slug):
            return None
        return self.filter(slug=slug).first()


class Institution(models.Model):
    """A school, trust or local authority. Every institution is a site on its own host."""

    kind = models.CharField(max_length=10, choices=InstitutionKind.choices)
    name = models.CharField(max_length=255)
    slug = models.SlugField(
        max_length=63,
        unique=True,
        help_text="The site's host is <slug>.<BASE_DOMAIN>.",
    )
    # Trusts: ``Trusts (code)``; local authorities: ``LA (code)``. Blank for schools.
    group_code = models.CharField(max_length=20, blank=True)

    # --- The register's record (GIAS establishment export); schools only ---------------
    urn = models.CharField("URN", max_length=6, null=True, blank=True, unique=True)
    la_code = models.CharField("LA code", max_length=3, blank=True)
    la_name = models.CharField("LA name", max_length=100, blank=True)
    establishment_number = models.CharField(max_length=4, blank=True)
    type_name = models.CharField("type", max_length=100, blank=True)
    type_group = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=40, blank=True)
    phase = models.CharField(max_length=40, blank=True)
    statutory_low_age = models.PositiveSmallIntegerField(null=True, blank=True)
    statutory_high_age = models.PositiveSmallIntegerField(null=True, blank=True)
    capacity = models.PositiveIntegerField(null=True, blank=True)
    pupils = models.PositiveIntegerField(null=True, blank=True)
    percentage_fsm = models.DecimalField(
        "% FSM", max_digits=4, decimal_places=1, null=True, blank=True
    )
    trust_code = models.CharField(max_length=20, blank=True)
    trust_name = models.CharField(max_length=255, blank=True)
    open_date = models.DateField(null=True, blank=True)
    close_date = models.DateField(null=True, blank=True)
    street = models.CharField(max_length=255, blank=True)
    locality = models.CharField(max_length=255, blank=True)
    address3 = models.CharField(max_length=255, blank=True)
    town = models.CharField(max_length=100, blank=True)
    county = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    website = models.CharField(max_length=255, blank=True)
    telephone = models.CharField(max_length=30, blank=True)
    head_title = models.CharField(max_length=30, blank=True)
    head_first_name = models.CharField(max_length=100, blank=True)
    head_last_name = models.CharField(max_length=100, blank=True)
    head_job_title = models.CharField(max_length=100, blank=True)
    ofsted_last_inspection = models.DateField(null=True, blank=True)
    ofsted_rating_published = models.CharField(
        max_length=60, blank=True, help_text="The rating exactly as the register publishes it."
    )
    ofsted_grade = models.CharField(max_length=30, choices=OfstedGrade.choices, blank=True)
    ofsted_report_card = models.JSONField(
        default=dict,
        blank=True,
        help_text="Report-card inspections: area name to grade, and safeguarding met or not.",
    )

    # Lower-case name without apostrophes, for typo-tolerant trigram search.
    search_name = models.GeneratedField(
        expression=Lower(Replace(Replace(F("name"), Value("’"), Value("")), Value("'"), Value(""))),
        output_field=models.CharField(max_length=255),
        db_persist=True,
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InstitutionQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(slug__contains="."), name="institution_slug_is_one_label"
            ),
            models.CheckConstraint(
                condition=Q(urn__isnull=True) | Q(urn__regex=r"^[0-9]{6}$"),
                name="institution_urn_six_digits",
            ),
            models.CheckConstraint(
                condition=Q(kind=InstitutionKind.SCHOOL) | Q(urn__isnull=True),
                name="institution_only_schools_have_urns",
            ),
            models.UniqueConstraint(
                fields=["kind", "group_code"],
                condition=~Q(group_code=""),
                name="institution_group_code_unique_per_kind",
            ),
        ]
        indexes = [
            models.Index(Lower("name"), name="institution_name_lower"),
            # No trigram index on search_name: every search is within a group, planned from
            # its memberships by primary key (``selectors.current_schools``), so the index
            # was never used and cost every first import a third of a second to build.
            models.Index(fields=["phase"], name="institution_phase"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_group(self) -> bool:
        return self.kind in GROUP_KINDS

    @property
    def is_school(self) -> bool:
        return self.kind == InstitutionKind.SCHOOL

    @property
    def is_current(self) -> bool:
        """Open (or open but proposed to close): counted among its groups' schools."""
        return self.status in CURRENT_STATUSES

    @property
    def dfe_number(self) -> str:
        """The DfE number, ``LLL/EEEE``: LA code and establishment number."""
        if self.la_code and self.establishment_number:
            return f"{self.la_code}/{self.establishment_number}"
        return ""

    @property
    def head_name(self) -> str:
        return " ".join(
            part for part in (self.head_title, self.head_first_name, self.head_last_name) if part
        )

    @property
    def host(self) -> str:
        return f"{self.slug}.{settings.BASE_DOMAIN}"

    @property
    def url(self) -> str:
        """The absolute address of this site's home page."""
        port = f":{settings.SITE_PORT}" if settings.SITE_PORT else ""
        return f"{settings.SITE_SCHEME}://{self.host}{port}/"


class GroupMembership(models.Model):
    """A school's membership of a trust or local authority, with its dates."""

    group = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="member_links")
    school = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="group_links")
    joined_on = models.DateField(null=True, blank=True)
    left_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "school"],
                condition=Q(left_on__isnull=True),
                name="one_current_membership_per_group_and_school",
            ),
            models.CheckConstraint(
                condition=Q(left_on__isnull=True)
                | Q(joined_on__isnull=True)
                | Q(left_on__gte=models.F("joined_on")),
                name="membership_leaves_after_joining",
            ),
        ]
        indexes = [models.Index(fields=["group", "school"], name="membership_group_school")]

    def __str__(self) -> str:
        return f"{self.school} in {self.group}"


class Cluster(models.Model):
    """A named set of a group's schools, chosen by the group's administrators."""

    group = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="clusters")
    name = models.CharField(max_length=100)
    schools = models.ManyToManyField(
        Institution,
        through="ClusterMembership",
        through_fields=("cluster", "school"),
        related_name="clusters_in",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("group", Lower("name"), name="cluster_name_unique_per_group")
        ]

    def __str__(self) -> str:
        return self.name


class ClusterMembership(models.Model):
    group = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="+")
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="links")
    school = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cluster", "school"], name="school_once_per_cluster")
        ]
        indexes = [models.Index(fields=["group", "school"], name="cluster_link_group_school")]

    def __str__(self) -> str:
        return f"{self.school_id} in cluster {self.cluster_id}"


class RegisterImport(models.Model):
    """One upload of the register's establishment export by platform staff, and its outcome.

    The file is kept in the default storage (``MEDIA_ROOT``); the import runs as a Celery
    task, which writes ``rows_read`` as it goes and the counts when it ends.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    # The first rejections kept with the import (the rest are only counted).
    REJECTIONS_KEPT = 500

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    file = models.FileField(upload_to="register-imports/%Y/%m/")
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(help_text="Bytes.")
    status = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    rows_read = models.PositiveIntegerField(default=0)
    encoding = models.CharField(max_length=20, blank=True)
    schools_created = models.PositiveIntegerField(default=0)
    schools_updated = models.PositiveIntegerField(default=0)
    schools_unchanged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    groups_created = models.PositiveIntegerField(default=0)
    groups_updated = models.PositiveIntegerField(default=0)
    memberships_started = models.PositiveIntegerField(default=0)
    memberships_ended = models.PositiveIntegerField(default=0)
    rejections = models.JSONField(
        default=list, blank=True, help_text="The first rejected rows: line, URN and reason."
    )
    error = models.TextField(blank=True, help_text="Why the file as a whole was not imported.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.State.DONE, self.State.FAILED)

    @property
    def encoding_label(self) -> str:
        return ENCODING_LABELS.get(self.encoding, self.encoding)
