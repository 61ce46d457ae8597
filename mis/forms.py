"""Forms of the Students and Attendance pages (and their API twins): they parse what the
query string asks for; the reads live in ``mis.selectors``."""

import datetime
from dataclasses import dataclass

from django import forms

from .codes import YEAR_GROUPS
from .selectors import SEARCH_MAX

DATE_FORMAT = "%Y-%m-%d"


@dataclass(frozen=True)
class PupilFilters:
    search: str = ""
    year_group: int | None = None
    include_leavers: bool = False

    @property
    def is_filtered(self) -> bool:
        return bool(self.search) or self.year_group is not None or self.include_leavers


class PupilSearchForm(forms.Form):
    q = forms.CharField(
        label="Search pupils",
        required=False,
        max_length=SEARCH_MAX,
        error_messages={"max_length": f"Search for {SEARCH_MAX} characters or fewer."},
    )
    year = forms.TypedChoiceField(
        label="Year group",
        required=False,
        choices=[("", "All year groups"), *((str(y), label) for y, label in YEAR_GROUPS.items())],
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": "Choose a year group from the list."},
    )
    leavers = forms.BooleanField(label="Include pupils who have left", required=False)

    def filters(self) -> PupilFilters:
        """What to show: the parts that were understood (a part that was not is reported
        by the form and left out)."""
        self.is_valid()
        data = self.cleaned_data
        return PupilFilters(
            search=(data.get("q") or "").strip(),
            year_group=data.get("year"),
            include_leavers=bool(data.get("leavers")),
        )


class AttendanceDateForm(forms.Form):
    date = forms.DateField(
        label="Date",
        required=False,
        input_formats=[DATE_FORMAT],
        error_messages={
            "invalid": "Enter the date as year-month-day, for example 2026-11-25.",
        },
    )

    def __init__(self, data=None, *, today: datetime.date):
        super().__init__(data)
        self.today = today

    def clean_date(self):
        day = self.cleaned_data.get("date")
        if day is not None and day > self.today:
            raise forms.ValidationError(
                "The date must be today or earlier: registers are not taken in advance."
            )
        return day

    def day(self) -> datetime.date:
        """The day asked for; today when none was, or when it was not valid."""
        if self.is_valid() and self.cleaned_data.get("date"):
            return self.cleaned_data["date"]
        return self.today
