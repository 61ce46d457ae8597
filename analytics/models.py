"""Published statistics: what the DfE publishes about each school (and England as a whole)
for an academic year, imported from Explore Education Statistics files.

Public data, visible to a group at agreement level 1 and above. The counts are kept beside
the rates so that a group's figure can be computed as it should be (total absence over
total possible sessions), never as an average of the schools' percentages.
"""

from django.db import models
from django.db.models import Q


class PublishedFigures(models.Model):
    school = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="published_figures",
        help_text="Empty for England's national figures.",
    )
    time_period = models.CharField(max_length=6, help_text="The DfE's academic year: 202425.")

    # Absence (the "Pupil absence in schools in England" release).
    sessions_possible = models.BigIntegerField(null=True, blank=True)
    sessions_overall_absence = models.BigIntegerField(null=True, blank=True)
    overall_absence_rate = models.DecimalField(
        max_digits=6, decimal_places=2, null=True, blank=True
    )
    enrolments = models.PositiveIntegerField(null=True, blank=True)
    persistent_absentees = models.PositiveIntegerField(null=True, blank=True)
    persistent_absence_rate = models.DecimalField(
        max_digits=6, decimal_places=2, null=True, blank=True
    )
    # Suspensions and permanent exclusions (the release of that name).
    headcount = models.PositiveIntegerField(null=True, blank=True)
    suspensions = models.PositiveIntegerField(null=True, blank=True)
    suspension_rate = models.DecimalField(
        "suspensions per 100 pupils", max_digits=7, decimal_places=2, null=True, blank=True
    )
    permanent_exclusions = models.PositiveIntegerField(null=True, blank=True)
    permanent_exclusion_rate = models.DecimalField(
        "permanent exclusions per 100 pupils", max_digits=7, decimal_places=2, null=True, blank=True
    )
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["school", "time_period"],
                nulls_distinct=False,
                name="published_figures_one_per_school_year",
            ),
            models.CheckConstraint(
                condition=Q(time_period__regex=r"^[0-9]{6}$"), name="published_time_period_shape"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school or 'England'} {self.time_period}"
