"""Forms of taking a pupil off roll and deciding an arrival: they parse; the rules are the
services' (``mis.transfers.services``), whose refusals come back onto the same fields."""

from django import forms
from django.utils import timezone

from mis.codes import LeavingReason

from .services import REJECTION_MAX

DATE_INPUT = forms.DateInput(attrs={"type": "date", "class": "govuk-input govuk-input--width-10"})


class OffRollForm(forms.Form):
    left_on = forms.DateField(
        label="Last day on roll",
        widget=DATE_INPUT,
        error_messages={"required": "Enter the pupil's last day.", "invalid": "Enter a date."},
    )
    reason = forms.ChoiceField(
        label="Ground for taking the pupil off roll",
        choices=[("", "Choose a ground"), *LeavingReason.choices],
        error_messages={
            "required": "Choose the ground for taking the pupil off roll.",
            "invalid_choice": "Choose the ground for taking the pupil off roll.",
        },
    )
    destination_urn = forms.CharField(
        label="Next school's URN",
        required=False,
        max_length=6,
        error_messages={"max_length": "A URN is six digits."},
        help_text="Six digits. A school on this platform receives the pupil's record at once.",
    )
    destination_name = forms.CharField(
        label="Next school, when it has no URN",
        required=False,
        max_length=255,
        help_text="For example a school abroad, or home education.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("left_on", timezone.localdate())


class ArrivalAcceptForm(forms.Form):
    enrolled_on = forms.DateField(
        label="First day on this school's roll",
        widget=DATE_INPUT,
        error_messages={"required": "Enter the pupil's first day.", "invalid": "Enter a date."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("enrolled_on", timezone.localdate())


class ArrivalRejectForm(forms.Form):
    reason = forms.CharField(
        label="Why the pupil is not joining",
        max_length=REJECTION_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "class": "govuk-textarea"}),
        error_messages={
            "required": "Say why the pupil is not joining this school.",
            "max_length": f"At most {REJECTION_MAX} characters.",
        },
    )
