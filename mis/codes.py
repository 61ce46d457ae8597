"""The DfE's vocabulary for pupil records: attendance codes and what each counts as, year
groups, SEN provision, suspension reasons, and the UPN's check letter.

Attendance codes follow the school attendance guidance in force from August 2024 (with the
older codes a school's history may still hold). Every code falls in exactly one category:

- present: in school, or at an approved educational activity off site (counts as present);
- authorised absence and unauthorised absence: both are absence, and both are possible
  sessions;
- not a possible session: the pupil was not expected (not yet on roll, non-compulsory age
  not required, a whole-school closure, unable to attend for exceptional reasons).

Overall absence = (authorised + unauthorised) / possible sessions, where possible sessions
are present + authorised + unauthorised.
"""

from django.db import models


class MarkCategory(models.IntegerChoices):
    PRESENT = 1, "Present"
    AUTHORISED = 2, "Authorised absence"
    UNAUTHORISED = 3, "Unauthorised absence"
    NOT_POSSIBLE = 4, "Not a possible session"


# code -> (category, meaning)
ATTENDANCE_CODES: dict[str, tuple[MarkCategory, str]] = {
    "/": (MarkCategory.PRESENT, "Present (AM)"),
    "\\": (MarkCategory.PRESENT, "Present (PM)"),
    "L": (MarkCategory.PRESENT, "Late, arrived before the register closed"),
    "K": (MarkCategory.PRESENT, "Attending education provision arranged by the local authority"),
    "V": (MarkCategory.PRESENT, "Attending an educational visit or trip"),
    "P": (MarkCategory.PRESENT, "Participating in a supervised sporting activity"),
    "W": (MarkCategory.PRESENT, "Attending work experience"),
    "B": (MarkCategory.PRESENT, "Attending any other approved educational activity"),
    "D": (MarkCategory.NOT_POSSIBLE, "Dual registered, at the other school"),
    "C": (MarkCategory.AUTHORISED, "Leave of absence for exceptional circumstances"),
    "C1": (MarkCategory.AUTHORISED, "Leave of absence for a regulated performance or employment"),
    "C2": (MarkCategory.AUTHORISED, "Leave of absence for a part-time timetable"),
    "E": (MarkCategory.AUTHORISED, "Suspended or permanently excluded, no alternative provision"),
    "H": (MarkCategory.AUTHORISED, "Holiday authorised by the school (before August 2024)"),
    "I": (MarkCategory.AUTHORISED, "Illness"),
    "J1": (MarkCategory.AUTHORISED, "Leave of absence for an interview"),
    "M": (MarkCategory.AUTHORISED, "Medical or dental appointment"),
    "R": (MarkCategory.AUTHORISED, "Religious observance"),
    "S": (MarkCategory.AUTHORISED, "Leave of absence for study"),
    "T": (MarkCategory.AUTHORISED, "Parent travelling for occupational purposes"),
    "G": (MarkCategory.UNAUTHORISED, "Holiday not authorised by the school"),
    "N": (MarkCategory.UNAUTHORISED, "Reason for absence not yet established"),
    "O": (MarkCategory.UNAUTHORISED, "Absent in other or unknown circumstances"),
    "U": (MarkCategory.UNAUTHORISED, "Arrived after the register closed"),
    "X": (MarkCategory.NOT_POSSIBLE, "Not required to attend: non-compulsory school age"),
    "Q": (MarkCategory.NOT_POSSIBLE, "Unable to attend: lack of access arrangements"),
    "Y1": (MarkCategory.NOT_POSSIBLE, "Unable to attend: transport not available"),
    "Y2": (MarkCategory.NOT_POSSIBLE, "Unable to attend: widespread disruption to travel"),
    "Y3": (MarkCategory.NOT_POSSIBLE, "Unable to attend: part of the school premises closed"),
    "Y4": (MarkCategory.NOT_POSSIBLE, "Unable to attend: whole school site closed unexpectedly"),
    "Y5": (MarkCategory.NOT_POSSIBLE, "Unable to attend: criminal justice detention"),
    "Y6": (MarkCategory.NOT_POSSIBLE, "Unable to attend: public health guidance or law"),
    "Y7": (MarkCategory.NOT_POSSIBLE, "Unable to attend: any other unavoidable cause"),
    "Z": (MarkCategory.NOT_POSSIBLE, "Pupil not on admission register"),
    "#": (MarkCategory.NOT_POSSIBLE, "Planned whole-school closure"),
}

CODES_BY_CATEGORY: dict[MarkCategory, tuple[str, ...]] = {
    category: tuple(code for code, (cat, _) in ATTENDANCE_CODES.items() if cat == category)
    for category in MarkCategory
}


def mark_category(code: str) -> MarkCategory:
    return ATTENDANCE_CODES[code][0]


def mark_meaning(code: str) -> str:
    return ATTENDANCE_CODES[code][1]


class Session(models.TextChoices):
    AM = "AM", "Morning"
    PM = "PM", "Afternoon"


class Sex(models.TextChoices):
    """Sex as the school census and the Common Transfer File record it."""

    FEMALE = "F", "Female"
    MALE = "M", "Male"


class SenProvision(models.TextChoices):
    """The census's SEN provision codes."""

    NONE = "N", "No special educational need"
    SEN_SUPPORT = "K", "SEN support"
    EHC_PLAN = "E", "Education, health and care plan"


# National curriculum year groups, stored as numbers so they sort: nursery 1 and 2 below
# reception (0), then years 1 to 14.
YEAR_GROUPS: dict[int, str] = {-2: "Nursery 1", -1: "Nursery 2", 0: "Reception"} | {
    year: f"Year {year}" for year in range(1, 15)
}


def year_group_label(year_group: int) -> str:
    return YEAR_GROUPS.get(year_group, f"Year {year_group}")


class ExclusionKind(models.TextChoices):
    SUSPENSION = "suspension", "Suspension"
    PERMANENT = "permanent", "Permanent exclusion"


class ExclusionReason(models.TextChoices):
    """The reason categories schools return in the census."""

    PHYSICAL_PUPIL = "PP", "Physical assault against a pupil"
    PHYSICAL_ADULT = "PA", "Physical assault against an adult"
    VERBAL_PUPIL = "VP", "Verbal abuse or threatening behaviour against a pupil"
    VERBAL_ADULT = "VA", "Verbal abuse or threatening behaviour against an adult"
    BULLYING = "BU", "Bullying"
    DISCRIMINATION = "DS", "Discriminatory behaviour"
    SEXUAL = "SM", "Sexual misconduct"
    DRUGS = "DA", "Drug and alcohol related"
    DAMAGE = "DM", "Damage"
    THEFT = "TH", "Theft"
    WEAPON = "WE", "Use or threat of use of an offensive weapon or prohibited item"
    ONLINE = "MT", "Inappropriate use of social media or online technology"
    WILFUL_DEFIANCE = "PD", "Persistent or general disruptive behaviour"
    OTHER = "OT", "Other"


# --- Unique Pupil Numbers ------------------------------------------------------------------
# A UPN is 13 characters: a check letter, the LA number (3 digits), the establishment number
# (4), the year of allocation (2) and a serial (3); a temporary UPN ends in a letter instead
# of the serial's last digit. The check letter is the weighted sum of characters 2 to 13
# (weights 2 to 13) modulo 23, as one of these 23 letters (no I, O or S):
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def upn_check_letter(body: str) -> str:
    """The check letter for the 12 characters after it. Raises ValueError if ``body`` is
    not 11 digits followed by a digit or one of ``UPN_LETTERS``."""
    if len(body) != 12 or not (body[:11].isascii() and body[:11].isdecimal()):
        raise ValueError("A UPN has 11 digits after its check letter, then a digit or letter.")
    last = body[11]
    if last in "0123456789":
        last_value = int(last)
    elif last in UPN_LETTERS:
        last_value = UPN_LETTERS.index(last)
    else:
        raise ValueError(f"A UPN cannot end in “{last}”.")
    values = [int(ch) for ch in body[:11]] + [last_value]
    total = sum(value * weight for value, weight in zip(values, range(2, 14), strict=True))
    return UPN_LETTERS[total % 23]


def upn_problem(upn: str) -> str | None:
    """Why ``upn`` is not a valid UPN, or None when it is."""
    if len(upn) != 13:
        return f"A UPN has 13 characters; this one has {len(upn)}."
    if upn != upn.upper() or not upn.isascii():
        return "A UPN is written in capital letters and digits."
    try:
        expected = upn_check_letter(upn[1:])
    except ValueError as error:
        return str(error)
    if upn[0] != expected:
        return f"The check letter is wrong: for these digits it should be {expected}."
    return None


class LeavingReason(models.TextChoices):
    """Why a pupil's name was deleted from the admission register: the grounds of the
    School Attendance (Pupil Registration) (England) Regulations 2024 (regulation 9), by
    short codes of our own (the register keeps the ground, not a census code)."""

    OTHER_SCHOOL = "school", "Registered at another school"
    HOME_EDUCATION = "home", "Educated otherwise than at school (parent's written notice)"
    MOVED_AWAY = "moved", "Moved away: no longer within reasonable distance"
    MEDICAL = "medical", "Medically unfit to attend before leaving school age"
    PERMANENT_EXCLUSION = "excluded", "Permanently excluded"
    DIED = "died", "Died"
    END_OF_EDUCATION = "ended", "Ceased to be of compulsory school age, not continuing"
    CUSTODY = "custody", "Custodial sentence of four months or more"
    NOT_RETURNED = "absent", "Did not return: continuous absence after reasonable enquiries"
    NURSERY_ENDED = "nursery", "Nursery pupil not continuing to reception"
    OTHER = "other", "Another ground of the regulations"


# A pupil's next school is "on the platform" when one of its open school sites has the URN.
URN_PATTERN = r"^[0-9]{6}$"
