"""What a third-party app may take from a school, defined in code like the permission
registry (``accounts.permissions``): each scope has a code, a label, a plain description
and the exact fields it releases, each mapped to the real field it reads.

Public School Data is the register's public facts: every app may read it for any open
school, without consent, to validate a connection. Every other scope reaches an app only
after the school authorises it (``thirdparty.services``), and only its fields: the app API
answers field by field (``thirdparty.app_api``)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ScopeField:
    name: str  # the field's name in the app API
    label: str
    source: str  # the model field it reads (``model.field``), or how it is derived


@dataclass(frozen=True)
class Scope:
    code: str
    label: str
    description: str
    fields: tuple[ScopeField, ...]
    needs_consent: bool = True

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.fields)


PUBLIC_SCHOOL_DATA = "public_school_data"
SCHOOL_DETAILS = "school_details"
STUDENTS = "students"
STUDENT_CHARACTERISTICS = "student_characteristics"
ATTENDANCE = "attendance"
BEHAVIOUR = "behaviour"
STAFF = "staff"


def _f(name: str, label: str, source: str) -> ScopeField:
    return ScopeField(name, label, source)


SCOPES: dict[str, Scope] = {
    scope.code: scope
    for scope in (
        Scope(
            PUBLIC_SCHOOL_DATA,
            "Public School Data",
            "The school's public facts from the national register, used to validate a "
            "connection. Always available: no consent is needed.",
            (
                _f("name", "Name", "institution.name"),
                _f("urn", "URN", "institution.urn"),
                _f("la_code", "Local authority code", "institution.la_code"),
                _f("la_name", "Local authority", "institution.la_name"),
                _f("phase", "Phase", "institution.phase"),
                _f("type", "Type", "institution.type_name"),
                _f("status", "Status", "institution.status"),
                _f("address", "Address", "institution.street, town, postcode"),
                _f("ofsted_grade", "Ofsted grade", "institution.ofsted_grade"),
                _f(
                    "ofsted_last_inspection",
                    "Last Ofsted inspection",
                    "institution.ofsted_last_inspection",
                ),
            ),
            needs_consent=False,
        ),
        Scope(
            SCHOOL_DETAILS,
            "School Details",
            "The school's capacity, its head teacher and the dates of this year's terms.",
            (
                _f("capacity", "Capacity", "institution.capacity"),
                _f("headteacher", "Head teacher", "institution.head_first_name, head_last_name"),
                _f("terms", "Term dates", "the academic year's terms (mis.calendar)"),
            ),
        ),
        Scope(
            STUDENTS,
            "Students",
            "Each pupil's name, date of birth, year group, dates of joining and leaving "
            "the school, and unique pupil number.",
            (
                _f("upn", "Unique pupil number (UPN)", "pupil.upn"),
                _f("legal_first_name", "Legal first name", "pupil.legal_first_name"),
                _f("legal_last_name", "Legal last name", "pupil.legal_last_name"),
                _f("preferred_first_name", "Preferred first name", "pupil.preferred_first_name"),
                _f("date_of_birth", "Date of birth", "pupil.date_of_birth"),
                _f("year_group", "Year group", "pupil.year_group"),
                _f("enrolled_on", "Joined the school", "pupil.enrolled_on"),
                _f("left_on", "Left the school", "pupil.left_on"),
            ),
        ),
        Scope(
            STUDENT_CHARACTERISTICS,
            "Student Characteristics",
            "Each pupil's free school meals eligibility, disadvantaged (pupil premium) "
            "status and special educational needs provision.",
            (
                _f("fsm_eligible", "Eligible for free school meals", "pupil.fsm_eligible"),
                _f("disadvantaged", "Disadvantaged (pupil premium)", "pupil.disadvantaged"),
                _f("sen_provision", "SEN provision", "pupil.sen_provision"),
            ),
        ),
        Scope(
            ATTENDANCE,
            "Attendance",
            "Each pupil's attendance register marks, morning and afternoon, with their DfE codes.",
            (
                _f("student_id", "Pupil", "mark.pupil_id"),
                _f("date", "Date", "mark.date"),
                _f("session", "Session (AM or PM)", "mark.session"),
                _f("code", "Attendance code", "mark.code"),
            ),
        ),
        Scope(
            BEHAVIOUR,
            "Behaviour and Exclusions",
            "Each pupil's suspensions and permanent exclusions: kind, start, length and reason.",
            (
                _f("student_id", "Pupil", "exclusion.pupil_id"),
                _f("kind", "Suspension or permanent exclusion", "exclusion.kind"),
                _f("starts_on", "Start date", "exclusion.starts_on"),
                _f("sessions", "Length in sessions", "exclusion.sessions"),
                _f("reason", "Reason code", "exclusion.reason"),
            ),
        ),
        Scope(
            STAFF,
            "Staff",
            "The school's staff on this platform: names, work email addresses and roles.",
            (
                _f("name", "Name", "user.full_name"),
                _f("email", "Work email", "user.email"),
                _f("job_title", "Job title", "staff_profile.job_title"),
                _f("roles", "Roles", "the business roles assigned to the staff profile"),
            ),
        ),
    )
}

# What an app may ask for: every scope that needs the school's consent.
CONSENT_SCOPES = tuple(code for code, scope in SCOPES.items() if scope.needs_consent)


class UnknownScope(ValueError):
    pass


def scopes_in_order(codes) -> list[str]:
    """``codes`` in the registry's order, each once. Raises UnknownScope for a code that is
    not a scope an app may ask for."""
    wanted = set(codes)
    unknown = wanted - set(CONSENT_SCOPES)
    if unknown:
        raise UnknownScope(", ".join(sorted(unknown)))
    return [code for code in CONSENT_SCOPES if code in wanted]


def scope_labels(codes) -> list[str]:
    return [SCOPES[code].label for code in codes if code in SCOPES]
