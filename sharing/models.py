"""Data sharing agreements between a group (trust or local authority) and each school."""

from django.db import models
from django.db.models import Q


class AccessLevel(models.IntegerChoices):
    """What a group may see and do at a school, ordered; exactly as users know them."""

    DFE_DATA = 1, "DfE Data"
    DFE_AND_MIS_DATA = 2, "DfE Data & MIS Data"
    DFE_MIS_AND_GROUP_ACTIONS = 3, "DfE Data, MIS Data & Group Actions"


LEVEL_MEANINGS = {
    AccessLevel.DFE_DATA: (
        "Published government statistics about the school: census figures, published "
        "absence, exclusions and performance."
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


class Agreement(models.Model):
    """The approved agreement of one group with one school. Its level only ever rises: the
    service raises it under a row lock, and a database trigger rejects any lowering."""

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

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "school"], name="one_agreement_per_pair"),
            models.CheckConstraint(condition=Q(level__in=[1, 2, 3]), name="agreement_level_1_to_3"),
        ]

    def __str__(self) -> str:
        return f"{self.group} – {self.school}: {self.get_level_display()}"
