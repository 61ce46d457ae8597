"""Reads of third-party apps: what a school granted, and the records an app may read.

Every read of a school's records takes the school and runs inside a transaction bound to
it (``matmis.tenancy.site_scope``; Row-Level Security as for pages). The pupils an app may
see come from ``released_pupils`` alone: the one place where a per-person rule (opting
out, issue 16) is added in SQL, for every endpoint at once."""

import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from accounts.models import RoleAssignment, StaffProfile
from institutions.models import CURRENT_STATUSES, Institution, InstitutionKind
from institutions.selectors import current_schools
from mis.calendar import academic_year_start
from mis.models import AttendanceMark, Exclusion, Pupil

from .models import (
    App,
    AppAuthorisation,
    AppCall,
    AppDecision,
    AppStatus,
    AuthorisationStatus,
    DataAccessRequest,
    RecordChange,
    RequestStatus,
)
from .scopes import (
    PUBLIC_SCHOOL_DATA,
    SCOPES,
    STUDENT_CHARACTERISTICS,
    STUDENTS,
)

STUDENT = "student"
EXCLUSION = "exclusion"

# --- Schools and grants ----------------------------------------------------------------------


def open_school_for_urn(*, urn: str) -> Institution:
    """The open school with ``urn`` (its public facts are anyone's); 404 otherwise."""
    school = Institution.objects.filter(
        kind=InstitutionKind.SCHOOL, urn=urn, status__in=CURRENT_STATUSES
    ).first()
    if school is None:
        raise Http404("No open school has this URN.")
    return school


def granted_scopes(*, app: App, school: Institution) -> list[str]:
    """The scopes ``app`` may read at ``school`` now: Public School Data, plus what the
    school authorised (nothing more once revoked)."""
    authorisation = AppAuthorisation.objects.filter(
        app=app, school=school, status=AuthorisationStatus.ACTIVE
    ).first()
    granted = authorisation.scopes if authorisation is not None else []
    return [PUBLIC_SCHOOL_DATA, *granted]


def connected_authorisations(*, app: App) -> QuerySet[AppAuthorisation]:
    """The schools that authorised ``app`` and have not revoked it."""
    return (
        AppAuthorisation.objects.filter(app=app, status=AuthorisationStatus.ACTIVE)
        .select_related("school")
        .order_by("school__name", "pk")
    )


def public_school_data(school: Institution) -> dict:
    address = ", ".join(part for part in (school.street, school.town, school.postcode) if part)
    return {
        "name": school.name,
        "urn": school.urn,
        "la_code": school.la_code,
        "la_name": school.la_name,
        "phase": school.phase,
        "type": school.type_name,
        "status": school.status,
        "address": address,
        "ofsted_grade": school.ofsted_grade or None,
        "ofsted_last_inspection": school.ofsted_last_inspection,
    }


def school_details(school: Institution, *, today: datetime.date) -> dict:
    start = academic_year_start(today)
    terms = [
        {"name": "Autumn term", "starts_on": start, "ends_on": datetime.date(start.year, 12, 31)},
        {
            "name": "Spring term",
            "starts_on": datetime.date(start.year + 1, 1, 1),
            "ends_on": datetime.date(start.year + 1, 3, 31),
        },
        {
            "name": "Summer term",
            "starts_on": datetime.date(start.year + 1, 4, 1),
            "ends_on": datetime.date(start.year + 1, 8, 31),
        },
    ]
    head = " ".join(
        part for part in (school.head_title, school.head_first_name, school.head_last_name) if part
    )
    return {"capacity": school.capacity, "headteacher": head or None, "terms": terms}


# --- A school's records, as an app reads them ------------------------------------------------


def released_pupils(*, site: Institution) -> QuerySet[Pupil]:
    """The pupils of ``site`` whose records may reach an app: the one place a per-person
    filter goes (issue 16 adds it here, in SQL)."""
    return Pupil.objects.filter(site=site)


def _changed_since(*, site: Institution, entity: str, since: datetime.datetime) -> QuerySet:
    return RecordChange.objects.filter(
        site=site, entity=entity, changed_at__gt=since, deleted=False
    ).values("record_id")


def student_fields(scopes: list[str]) -> list[str]:
    fields = ["id"]
    for code in (STUDENTS, STUDENT_CHARACTERISTICS):
        if code in scopes:
            fields += SCOPES[code].field_names
    return fields


def student_rows(
    *, site: Institution, scopes: list[str], updated_since: datetime.datetime | None = None
) -> QuerySet:
    """The released pupils of ``site`` as dicts of exactly the fields of ``scopes`` (and
    their id), by id; ``updated_since``: only those changed after it."""
    pupils = released_pupils(site=site)
    if updated_since is not None:
        pupils = pupils.filter(
            pk__in=_changed_since(site=site, entity=STUDENT, since=updated_since)
        )
    return pupils.order_by("pk").values(*student_fields(scopes))


def student_row(*, site: Institution, scopes: list[str], student_id: str) -> dict:
    try:
        student_id = int(student_id)
    except (TypeError, ValueError):
        raise Http404("No such student.") from None
    row = released_pupils(site=site).filter(pk=student_id).values(*student_fields(scopes)).first()
    if row is None:
        raise Http404("No such student.")
    return row


def mark_rows(
    *,
    site: Institution,
    date_from: datetime.date,
    date_to: datetime.date,
    student_id: int | None = None,
) -> QuerySet:
    """Register marks of released pupils between two dates, by date, session, pupil."""
    marks = AttendanceMark.objects.filter(
        site=site,
        date__gte=date_from,
        date__lte=date_to,
        pupil_id__in=released_pupils(site=site).values("pk"),
    )
    if student_id is not None:
        marks = marks.filter(pupil_id=student_id)
    return marks.order_by("date", "session", "pupil_id").values_list(
        "pupil_id", "date", "session", "code"
    )


def exclusion_rows(*, site: Institution, updated_since: datetime.datetime | None = None):
    exclusions = Exclusion.objects.filter(
        site=site, pupil_id__in=released_pupils(site=site).values("pk")
    )
    if updated_since is not None:
        exclusions = exclusions.filter(
            pk__in=_changed_since(site=site, entity=EXCLUSION, since=updated_since)
        )
    return exclusions.order_by("pk").values(
        "id", "pupil_id", "kind", "starts_on", "sessions", "reason"
    )


def staff_rows(*, site: Institution, updated_since: datetime.datetime | None = None):
    """The school's active staff with their roles in force (two queries with the roles)."""
    profiles = StaffProfile.objects.filter(site=site, is_active=True, user__is_active=True)
    if updated_since is not None:
        profiles = profiles.filter(created_at__gt=updated_since)
    return profiles.select_related("user").order_by("pk")


def staff_roles(*, site: Institution, profile_ids: list[int]) -> dict[int, list[str]]:
    roles: dict[int, list[str]] = {}
    assignments = (
        RoleAssignment.objects.in_force()
        .filter(site=site, profile_id__in=profile_ids, role__retired_at__isnull=True)
        .order_by("role__name")
        .values_list("profile_id", "role__name")
    )
    for profile_id, name in assignments:
        roles.setdefault(profile_id, []).append(name)
    return roles


def deletion_rows(*, site: Institution, since: datetime.datetime) -> QuerySet:
    """Records of ``site`` removed since ``since``: what an app syncing incrementally
    must delete on its side."""
    return (
        RecordChange.objects.filter(site=site, deleted=True, changed_at__gt=since)
        .order_by("changed_at", "pk")
        .values("entity", "record_id", "changed_at")
    )


# --- The group's side: governance ------------------------------------------------------------


def group_app_governance(*, group: Institution) -> list[dict]:
    """Per current member school of ``group``, the apps authorised there and their scopes
    (no personal data). Two queries, however many schools."""
    schools = list(current_schools(group=group).order_by("name", "pk"))
    authorisations = (
        AppAuthorisation.objects.filter(
            school__in=[s.pk for s in schools], status=AuthorisationStatus.ACTIVE
        )
        .select_related("app")
        .order_by("app__name", "pk")
    )
    by_school: dict[int, list[AppAuthorisation]] = {}
    for authorisation in authorisations:
        by_school.setdefault(authorisation.school_id, []).append(authorisation)
    return [{"school": s, "authorisations": by_school.get(s.pk, [])} for s in schools]


# --- The school's side: Data > Apps ----------------------------------------------------------


def school_pending_requests(*, school: Institution) -> QuerySet[DataAccessRequest]:
    return (
        DataAccessRequest.objects.filter(school=school, status=RequestStatus.PENDING)
        .select_related("app")
        .order_by("-created_at", "pk")
    )


def school_request_list(*, school: Institution) -> QuerySet[DataAccessRequest]:
    return (
        DataAccessRequest.objects.filter(school=school)
        .select_related("app")
        .order_by("-created_at", "-pk")
    )


def school_request_for_id(*, school: Institution, request_id) -> DataAccessRequest:
    """The school's request ``request_id``: the same 404 for missing and another's."""
    try:
        request_id = int(request_id)
    except (TypeError, ValueError):
        raise Http404("No such request.") from None
    request = (
        DataAccessRequest.objects.filter(school=school, pk=request_id)
        .select_related("app", "decided_by")
        .first()
    )
    if request is None:
        raise Http404("No such request.")
    return request


def school_authorisations(*, school: Institution) -> QuerySet[AppAuthorisation]:
    return (
        AppAuthorisation.objects.filter(school=school)
        .select_related("app")
        .annotate(
            has_pending=Exists(
                DataAccessRequest.objects.filter(
                    app=OuterRef("app"), school=school, status=RequestStatus.PENDING
                )
            )
        )
        .order_by("status", "app__name", "pk")
    )


def school_authorisation_for_id(*, school: Institution, authorisation_id) -> AppAuthorisation:
    try:
        authorisation_id = int(authorisation_id)
    except (TypeError, ValueError):
        raise Http404("No such app.") from None
    authorisation = (
        AppAuthorisation.objects.filter(school=school, pk=authorisation_id)
        .select_related("app")
        .first()
    )
    if authorisation is None:
        raise Http404("No such app.")
    return authorisation


def school_decisions(*, school: Institution, limit: int = 50) -> list[AppDecision]:
    return list(
        AppDecision.objects.filter(school=school)
        .select_related("app", "actor")
        .order_by("-at", "-pk")[:limit]
    )


def app_directory(*, school: Institution) -> QuerySet[App]:
    """Active apps the school has not connected to and has no pending request from."""
    return (
        App.objects.filter(status=AppStatus.ACTIVE)
        .exclude(
            Q(
                Exists(
                    AppAuthorisation.objects.filter(
                        app=OuterRef("pk"), school=school, status=AuthorisationStatus.ACTIVE
                    )
                )
            )
            | Q(
                Exists(
                    DataAccessRequest.objects.filter(
                        app=OuterRef("pk"), school=school, status=RequestStatus.PENDING
                    )
                )
            )
        )
        .order_by("name", "pk")
    )


def app_for_id(*, app_id) -> App:
    try:
        app_id = int(app_id)
    except (TypeError, ValueError):
        raise Http404("No such app.") from None
    app = App.objects.filter(pk=app_id, status=AppStatus.ACTIVE).first()
    if app is None:
        raise Http404("No such app.")
    return app


def school_app_calls(*, school: Institution, app_id: int | None = None) -> QuerySet[AppCall]:
    """The access log of ``school``, newest first (read inside the school's scope)."""
    calls = AppCall.objects.filter(site=school)
    if app_id is not None:
        calls = calls.filter(app_id=app_id)
    return calls.select_related("app").order_by("-at", "-pk")
