"""Pupils on the roll: add, edit and readmit (taking a pupil off roll starts a transfer and
lives with the Common Transfer File work).

A UPN is the pupil's permanent one, checked with its check letter, or a temporary one made
here when none is known yet (``temporary_upn_for``): the same shape, ending in a letter."""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import audit
from accounts.models import AuditAction
from institutions.models import Institution

from ..codes import UPN_LETTERS, YEAR_GROUPS, SenProvision, Sex, upn_check_letter, upn_problem
from ..models import Pupil, RegistrationGroup
from ..rollups import records_changed

# The oldest and youngest a pupil on a school's roll can plausibly be, in years.
OLDEST_PUPIL = 25
YOUNGEST_PUPIL = 2


@dataclass(frozen=True)
class PupilDetails:
    """What a person enters about a pupil (the form and the API both build one). ``upn``
    empty with ``temporary_upn`` asks for a temporary UPN."""

    legal_first_name: str
    legal_last_name: str
    date_of_birth: datetime.date
    year_group: int
    enrolled_on: datetime.date
    preferred_first_name: str = ""
    sex: str = ""
    upn: str = ""
    temporary_upn: bool = False
    registration_group_id: int | None = None
    fsm_eligible: bool = False
    disadvantaged: bool = False
    sen_provision: str = SenProvision.NONE


# Fields copied from the details onto the pupil, in the audit's order.
_FIELDS = (
    "upn",
    "legal_first_name",
    "preferred_first_name",
    "legal_last_name",
    "date_of_birth",
    "sex",
    "year_group",
    "registration_group_id",
    "enrolled_on",
    "fsm_eligible",
    "disadvantaged",
    "sen_provision",
)


def _plain(value):
    return value.isoformat() if isinstance(value, datetime.date) else value


# What taking a pupil off roll records (mis.transfers): kept in the audit's before and
# after, and cleared on readmission.
_LEAVING_FIELDS = ("left_on", "leaving_reason", "destination_urn", "destination_name")


def _snapshot(pupil: Pupil) -> dict:
    return {name: _plain(getattr(pupil, name)) for name in (*_FIELDS, *_LEAVING_FIELDS)}


def _changes(before: dict, after: dict) -> dict:
    return {name: [before[name], after[name]] for name in after if before.get(name) != after[name]}


def temporary_upn_for(*, site: Institution, today: datetime.date) -> str:
    """A temporary UPN for a new pupil of ``site`` that no pupil of it holds: the school's
    LA and establishment numbers, the year, then a serial of two digits and a letter."""
    la_code = site.la_code if len(site.la_code) == 3 and site.la_code.isdigit() else "999"
    number = site.establishment_number
    number = number if len(number) == 4 and number.isdigit() else "9999"
    prefix = f"{la_code}{number}{today.year % 100:02d}"
    taken = set(
        Pupil.objects.filter(site=site, upn__regex=rf"^.{prefix}").values_list("upn", flat=True)
    )
    for serial in range(100):
        for letter in UPN_LETTERS:
            body = f"{prefix}{serial:02d}{letter}"
            upn = upn_check_letter(body) + body
            if upn not in taken:
                return upn
    raise ValidationError("Every temporary UPN of this year is in use: enter the pupil’s UPN.")


def _clean(*, site: Institution, details: PupilDetails, pupil: Pupil | None, today) -> dict:
    """The values to save, or a ValidationError naming every field that is wrong."""
    errors: dict[str, str] = {}
    values = {
        name: getattr(details, name)
        for name in _FIELDS
        if name not in ("upn",)  # decided below
    }
    for name in ("legal_first_name", "legal_last_name", "preferred_first_name"):
        values[name] = " ".join(str(values[name]).split())
    if not values["legal_first_name"]:
        errors["legal_first_name"] = "Enter the pupil’s legal first name."
    if not values["legal_last_name"]:
        errors["legal_last_name"] = "Enter the pupil’s legal last name."
    born = details.date_of_birth
    if born > today:
        errors["date_of_birth"] = "The date of birth must be in the past."
    elif not (
        today.replace(year=today.year - OLDEST_PUPIL) <= born
        and born <= today.replace(year=today.year - YOUNGEST_PUPIL)
    ):
        errors["date_of_birth"] = (
            f"A pupil is between {YOUNGEST_PUPIL} and {OLDEST_PUPIL} years old: "
            "check the date of birth."
        )
    if details.sex not in ("", *Sex.values):
        errors["sex"] = "Choose female or male, or leave it empty when not known."
    if details.year_group not in YEAR_GROUPS:
        errors["year_group"] = "Choose a year group from the list."
    if details.sen_provision not in SenProvision.values:
        errors["sen_provision"] = "Choose the SEN provision from the list."
    if details.enrolled_on < born:
        errors["enrolled_on"] = "The admission date cannot be before the date of birth."
    elif pupil is None and details.enrolled_on > today + datetime.timedelta(days=366):
        errors["enrolled_on"] = "The admission date is more than a year ahead."
    elif pupil is not None and pupil.left_on is not None and details.enrolled_on > pupil.left_on:
        errors["enrolled_on"] = "The admission date cannot be after the pupil left."
    if details.registration_group_id is not None and not (
        RegistrationGroup.objects.filter(site=site, pk=details.registration_group_id).exists()
    ):
        errors["registration_group_id"] = "Choose one of the school’s registration groups."

    upn = details.upn.strip().upper()
    if details.temporary_upn and not upn:
        if pupil is not None and pupil.upn_is_temporary:
            upn = pupil.upn
        else:
            upn = temporary_upn_for(site=site, today=today)
    elif not upn:
        errors["upn"] = "Enter the pupil’s UPN, or choose a temporary UPN when none is known yet."
    elif problem := upn_problem(upn):
        errors["upn"] = problem
    if "upn" not in errors:
        clash = Pupil.objects.filter(site=site, upn=upn)
        if pupil is not None:
            clash = clash.exclude(pk=pupil.pk)
        if clash.exists():
            errors["upn"] = f"Another pupil of this school already has the UPN {upn}."
    values["upn"] = upn
    if errors:
        raise ValidationError(errors)
    return values


@transaction.atomic
def pupil_add(
    *, site: Institution, details: PupilDetails, actor: audit.Actor, today: datetime.date
) -> Pupil:
    """Add a pupil to the school's roll from ``details``."""
    values = _clean(site=site, details=details, pupil=None, today=today)
    pupil = Pupil(site=site, **values)
    pupil.save(force_insert=True)
    records_changed(school_ids=[site.pk])
    audit.record(
        actor=actor,
        action=AuditAction.PUPIL_ADDED,
        target=f"Pupil {pupil.pk} ({pupil.upn})",
        detail={"pupil": pupil.pk, "after": _snapshot(pupil)},
        site=site,
    )
    return pupil


@transaction.atomic
def pupil_edit(*, pupil: Pupil, details: PupilDetails, actor: audit.Actor, today) -> Pupil:
    """Change a pupil's record to ``details``; the audit keeps each change's before and
    after. Nothing changed: nothing written."""
    pupil = Pupil.objects.select_for_update().get(site_id=pupil.site_id, pk=pupil.pk)
    values = _clean(site=pupil.site, details=details, pupil=pupil, today=today)
    before = _snapshot(pupil)
    for name, value in values.items():
        setattr(pupil, name, value)
    changes = _changes(before, _snapshot(pupil))
    if not changes:
        return pupil
    pupil.save(update_fields=[name for name in values if name in changes])
    records_changed(school_ids=[pupil.site_id])
    audit.record(
        actor=actor,
        action=AuditAction.PUPIL_CHANGED,
        target=f"Pupil {pupil.pk} ({pupil.upn})",
        detail={"pupil": pupil.pk, "changes": changes},
        site=pupil.site,
    )
    return pupil


@transaction.atomic
def pupil_readmit(
    *, pupil: Pupil, readmitted_on: datetime.date, actor: audit.Actor, today: datetime.date
) -> Pupil:
    """Put a pupil who left back on the roll from ``readmitted_on`` (after the day they
    left, and not more than a year ahead): the admission date becomes that day, the leaving
    date goes; the audit keeps both earlier dates."""
    pupil = Pupil.objects.select_for_update().get(site_id=pupil.site_id, pk=pupil.pk)
    if pupil.left_on is None:
        raise ValidationError({"readmitted_on": f"{pupil.name} is on the roll already."})
    if readmitted_on <= pupil.left_on:
        raise ValidationError(
            {
                "readmitted_on": f"{pupil.name} left on {pupil.left_on:%-d %B %Y}: readmission "
                "must be after that day."
            }
        )
    if readmitted_on > today + datetime.timedelta(days=366):
        raise ValidationError({"readmitted_on": "The readmission date is more than a year ahead."})
    before = _snapshot(pupil)
    pupil.enrolled_on, pupil.left_on = readmitted_on, None
    pupil.leaving_reason = pupil.destination_urn = pupil.destination_name = ""
    pupil.save(update_fields=["enrolled_on", *_LEAVING_FIELDS])
    records_changed(school_ids=[pupil.site_id])
    audit.record(
        actor=actor,
        action=AuditAction.PUPIL_READMITTED,
        target=f"Pupil {pupil.pk} ({pupil.upn})",
        detail={"pupil": pupil.pk, "changes": _changes(before, _snapshot(pupil))},
        site=pupil.site,
    )
    return pupil


def details_of(pupil: Pupil) -> PupilDetails:
    """A pupil's current details, to edit."""
    return PupilDetails(
        **{name: getattr(pupil, name) for name in _FIELDS},
        temporary_upn=pupil.upn_is_temporary,
    )
