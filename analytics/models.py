"""Published statistics: what the DfE publishes about each school (and England as a whole)
for an academic year, imported from Explore Education Statistics files: absence,
suspensions and permanent exclusions, the school census's pupil characteristics (headcount,
free school meals, SEN, English as an additional language) and key stage 2 and 4
performance.

One row per school (or England) and year holds every release's figures, each release
filling its own columns (the others stay NULL): the releases share the key (school, year)
and the gating (level 1), and a group's page reads them all in one join. Each release
has its own latest year (the census of January 2026 is published before the absence of
2024/25): ``analytics.selectors`` picks each release's year by its own columns.

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
    # School census ("Schools, pupils and their characteristics"; SEN support and EHC
    # plans from "Special educational needs in England", the same January census).
    pupils_headcount = models.PositiveIntegerField(null=True, blank=True)
    fsm_eligible = models.PositiveIntegerField(null=True, blank=True)
    fsm_eligible_percent = models.DecimalField(
        max_digits=6, decimal_places=2, null=True, blank=True
    )
    eal_pupils = models.PositiveIntegerField(null=True, blank=True)
    eal_percent = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    sen_support = models.PositiveIntegerField(null=True, blank=True)
    sen_support_percent = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    ehc_plan = models.PositiveIntegerField(null=True, blank=True)
    ehc_plan_percent = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    # Key stage 2 ("Key stage 2 attainment"): the eligible pupils beside each rate.
    ks2_eligible_pupils = models.PositiveIntegerField(null=True, blank=True)
    ks2_rwm_expected_percent = models.DecimalField(
        "meeting the expected standard in reading, writing and maths (%)",
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
    )
    ks2_rwm_higher_percent = models.DecimalField(
        "reaching the higher standard in reading, writing and maths (%)",
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
    )
    ks2_read_scaled_score = models.DecimalField(
        max_digits=6, decimal_places=2, null=True, blank=True
    )
    ks2_mat_scaled_score = models.DecimalField(
        max_digits=6, decimal_places=2, null=True, blank=True
    )
    ks2_read_progress = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    ks2_writ_progress = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    ks2_mat_progress = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    # Key stage 4 ("Key stage 4 performance"): the pupils at the end of key stage 4.
    ks4_pupils = models.PositiveIntegerField(null=True, blank=True)
    attainment8 = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    progress8 = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    progress8_lower = models.DecimalField(
        "Progress 8 lower 95% confidence limit",
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
    )
    progress8_upper = models.DecimalField(
        "Progress 8 upper 95% confidence limit",
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
    )
    engmath_95_percent = models.DecimalField(
        "grade 5 or above in English and maths (%)",
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
    )
    ebacc_entering_percent = models.DecimalField(
        "entering the EBacc (%)", max_digits=6, decimal_places=2, null=True, blank=True
    )
    ebacc_aps = models.DecimalField(
        "EBacc average point score", max_digits=6, decimal_places=2, null=True, blank=True
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
