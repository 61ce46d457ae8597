from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower


class InstitutionKind(models.TextChoices):
    SCHOOL = "school", "School"
    TRUST = "trust", "Trust"
    LOCAL_AUTHORITY = "la", "Local Authority"


GROUP_KINDS = (InstitutionKind.TRUST, InstitutionKind.LOCAL_AUTHORITY)


class Institution(models.Model):
    """A school, trust or local authority. Every institution is a site on its own host."""

    kind = models.CharField(max_length=10, choices=InstitutionKind.choices)
    name = models.CharField(max_length=255)
    slug = models.SlugField(
        max_length=63,
        unique=True,
        help_text="The site's host is <slug>.<BASE_DOMAIN>.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(slug__contains="."), name="institution_slug_is_one_label"
            ),
        ]
        indexes = [models.Index(Lower("name"), name="institution_name_lower")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_group(self) -> bool:
        return self.kind in GROUP_KINDS

    @property
    def is_school(self) -> bool:
        return self.kind == InstitutionKind.SCHOOL

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
