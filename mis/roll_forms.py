"""Forms of the pupil pages (add, edit, readmit), the registration groups and the
registers: they parse what was posted; the rules live in ``mis.services``."""

import datetime

from django import forms

from .codes import YEAR_GROUPS, SenProvision, Session, Sex
from .forms import DATE_FORMAT
from .services.pupils import PupilDetails

_DATE_ERRORS = {"invalid": "Enter the date as year-month-day, for example 2026-11-25."}


def _date(label: str, **kwargs) -> forms.DateField:
    return forms.DateField(
        label=label,
        input_formats=[DATE_FORMAT],
        error_messages={**_DATE_ERRORS, "required": f"Enter the {label.lower()}."},
        **kwargs,
    )


class PupilForm(forms.Form):
    legal_first_name = forms.CharField(
        label="Legal first name",
        max_length=100,
        error_messages={"required": "Enter the pupil’s legal first name."},
    )
    preferred_first_name = forms.CharField(
        label="Preferred first name", max_length=100, required=False
    )
    legal_last_name = forms.CharField(
        label="Legal last name",
        max_length=100,
        error_messages={"required": "Enter the pupil’s legal last name."},
    )
    date_of_birth = _date("Date of birth")
    sex = forms.ChoiceField(label="Sex", choices=[("", "Not known"), *Sex.choices], required=False)
    upn = forms.CharField(label="UPN", max_length=13, required=False)
    temporary_upn = forms.BooleanField(
        label="No UPN is known yet: give the pupil a temporary UPN", required=False
    )
    year_group = forms.TypedChoiceField(
        label="Year group",
        # No year is chosen for the person: a pupil put in Nursery 1 by default is a mistake.
        choices=[
            ("", "Choose a year group"),
            *((str(y), label) for y, label in YEAR_GROUPS.items()),
        ],
        coerce=int,
        error_messages={
            "required": "Choose a year group.",
            "invalid_choice": "Choose a year group from the list.",
        },
    )
    registration_group_id = forms.TypedChoiceField(
        label="Registration group", coerce=int, required=False, empty_value=None
    )
    enrolled_on = _date("Admission date")
    fsm_eligible = forms.BooleanField(label="Eligible for free school meals", required=False)
    disadvantaged = forms.BooleanField(label="Disadvantaged (pupil premium)", required=False)
    sen_provision = forms.ChoiceField(
        label="SEN provision",
        choices=SenProvision.choices,
        initial=SenProvision.NONE,
        error_messages={
            "required": "Choose the pupil’s SEN provision (no special educational need, SEN "
            "support or an EHC plan).",
            "invalid_choice": "Choose one of the census’s SEN provision codes.",
        },
    )

    def __init__(self, *args, group_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["registration_group_id"].choices = [("", "No group"), *group_choices]
        self.fields["registration_group_id"].error_messages["invalid_choice"] = (
            "Choose one of the school’s registration groups."
        )

    def details(self) -> PupilDetails:
        data = self.cleaned_data
        return PupilDetails(
            legal_first_name=data["legal_first_name"],
            legal_last_name=data["legal_last_name"],
            preferred_first_name=data["preferred_first_name"],
            date_of_birth=data["date_of_birth"],
            sex=data["sex"],
            upn=data["upn"],
            temporary_upn=data["temporary_upn"],
            year_group=data["year_group"],
            registration_group_id=data["registration_group_id"],
            enrolled_on=data["enrolled_on"],
            fsm_eligible=data["fsm_eligible"],
            disadvantaged=data["disadvantaged"],
            sen_provision=data["sen_provision"],
        )


class ReadmitForm(forms.Form):
    readmitted_on = _date("Readmission date")


class RegistrationGroupForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=40,
        error_messages={"required": "Enter the group’s name, for example 4B or 7KM."},
    )
    teachers = forms.TypedMultipleChoiceField(label="Teachers", coerce=int, required=False)

    def __init__(self, *args, staff_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teachers"].choices = staff_choices
        self.fields["teachers"].error_messages["invalid_choice"] = (
            "Choose teachers from the school’s current staff."
        )


class RegisterSettingsForm(forms.Form):
    am_closes_at = forms.TimeField(
        label="Morning register closes at",
        input_formats=["%H:%M"],
        error_messages={
            "required": "Enter when the morning register closes, for example 09:30.",
            "invalid": "Enter a time as hours:minutes, for example 09:30.",
        },
    )
    pm_closes_at = forms.TimeField(
        label="Afternoon register closes at",
        input_formats=["%H:%M"],
        error_messages={
            "required": "Enter when the afternoon register closes, for example 13:45.",
            "invalid": "Enter a time as hours:minutes, for example 13:45.",
        },
    )


class RegisterSessionForm(forms.Form):
    """Which register: a day (today unless given; never ahead) and a session (the morning
    before noon, the afternoon after, unless given)."""

    date = forms.DateField(required=False, input_formats=[DATE_FORMAT], error_messages=_DATE_ERRORS)
    session = forms.ChoiceField(
        required=False,
        choices=Session.choices,
        error_messages={"invalid_choice": "Choose the AM or PM register."},
    )

    def __init__(self, data=None, *, now: datetime.datetime):
        super().__init__(data)
        self.now = now

    def clean_date(self):
        day = self.cleaned_data.get("date") or self.now.date()
        if day > self.now.date():
            raise forms.ValidationError("A register cannot be taken for a day still to come.")
        return day

    def clean_session(self):
        return self.cleaned_data.get("session") or (
            Session.AM if self.now.hour < 12 else Session.PM
        )


def posted_marks(data) -> tuple[dict[int, str], dict[int, str]]:
    """The codes (``mark-<pupil id>``) and amendment reasons (``reason-<pupil id>``)
    posted for a register, by pupil id; other fields are ignored."""
    codes, reasons = {}, {}
    for key in data:
        prefix, _, rest = key.partition("-")
        if not rest.isdigit() or len(rest) > 18:
            continue
        if prefix == "mark":
            codes[int(rest)] = data.get(key, "")[:8]
        elif prefix == "reason":
            reasons[int(rest)] = data.get(key, "")[:1000]
    return codes, reasons
