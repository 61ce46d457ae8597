"""The app API, ``/api/apps/v1/`` on the platform host: what a third-party app reads from
the schools that authorised it, with an OAuth2 access token (client credentials).

Every endpoint derives from ``AppReadView`` (or ``AppAskView``), whose handler is the only
one: it authenticates the app (401 without a valid token; a suspended app's token is not
valid), finds the open school by URN (404), opens a transaction bound to that school
(``site_scope``: Row-Level Security as for pages), asks which scopes the school granted
and refuses with 403 ``scope_not_authorised`` when none of the endpoint's scopes is
granted (never an empty 200), reads only the fields of the granted scopes, and records the
call once in the school's access log (``AppCall``), refusals included. Subclasses only
say which scopes they answer and how they read (``read``); they cannot replace the handler.
"""

import datetime

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from matmis.api import ErrorSerializer, PageNumberPagination, SiteApiView
from matmis.api_throttles import ClientAddressThrottle
from matmis.site_access import SiteKind
from matmis.tenancy import site_scope

from .models import App, AppCall, RequestOrigin
from .oauth import client_app
from .scopes import (
    ATTENDANCE,
    BEHAVIOUR,
    PUBLIC_SCHOOL_DATA,
    SCHOOL_DETAILS,
    SCOPES,
    STAFF,
    STUDENT_CHARACTERISTICS,
    STUDENTS,
)
from .selectors import (
    connected_authorisations,
    deletion_rows,
    exclusion_rows,
    granted_scopes,
    mark_rows,
    open_school_for_urn,
    public_school_data,
    school_details,
    staff_roles,
    staff_rows,
    student_row,
    student_rows,
)
from .services import access_request_open


class ScopeNotAuthorised(exceptions.PermissionDenied):
    default_code = "scope_not_authorised"


class AppThrottle(SimpleRateThrottle):
    """Per app, whatever address it calls from (``API_RATE_PER_APP``)."""

    scope = "app"

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_cache_key(self, request, view):
        token = request.auth
        if token is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.application_id}


class AppPagination(PageNumberPagination):
    page_size = 100
    max_page_size = 1000


def calling_app(request) -> App:
    token = request.auth
    app = client_app(token.application) if token is not None else None
    if app is None:
        raise exceptions.NotAuthenticated(
            "Send an access token from /api/apps/v1/oauth/token/ as 'Authorization: Bearer'."
        )
    return app


def _since(request, name: str = "updated_since", *, required: bool = False):
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        if required:
            raise exceptions.ValidationError({name: ["Give a time, e.g. 2026-12-01T00:00:00Z."]})
        return None
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None:
        raise exceptions.ValidationError(
            {name: [f"Not a date and time: {raw[:40]!r}. Use ISO 8601, e.g. 2026-12-01T00:00:00Z."]}
        )
    if timezone.is_naive(value):
        value = timezone.make_aware(value, datetime.UTC)
    return value


def _date(request, name: str, default: datetime.date) -> datetime.date:
    raw = request.query_params.get(name)
    if not raw:
        return default
    try:
        value = parse_date(raw)
    except ValueError:
        value = None
    if value is None:
        raise exceptions.ValidationError({name: [f"Not a date: {raw[:40]!r}. Use YYYY-MM-DD."]})
    return value


class _AppView(SiteApiView):
    """The shared declarations: the platform host, an app's access token, throttled per
    app. ``public``: the site check lets the request through to the handler, which checks
    the token (signed-in people have no business here)."""

    site_kind = SiteKind.PLATFORM
    public = True
    authentication_classes = [OAuth2Authentication]
    throttle_classes = [AppThrottle, ClientAddressThrottle]
    pagination_class = AppPagination
    # The methods of the two bases that run the app check: no endpoint replaces them.
    final_methods: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for base in cls.__mro__[1:]:
            for name in getattr(base, "final_methods", ()):
                if name in cls.__dict__ and base is not cls:
                    raise TypeError(
                        f"{cls.__qualname__} overrides {name}(), which runs the app check: "
                        "declare scopes and read() instead."
                    )


def _log(*, app: App, school, endpoint: str, scopes, records: int, status_code: int) -> None:
    AppCall.objects.create(
        site=school,
        app=app,
        endpoint=endpoint,
        scopes=list(scopes),
        records=records,
        status_code=status_code,
        at=timezone.now(),
    )


def _log_refusal(*, app: App, school, endpoint: str, status_code: int) -> None:
    with transaction.atomic(), site_scope(school.pk):
        _log(
            app=app, school=school, endpoint=endpoint, scopes=[], records=0, status_code=status_code
        )


class AppReadView(_AppView):
    """A read of one school's data. Declare ``endpoint`` (its name in the access log),
    ``scopes`` (whose fields it answers; one must be granted) and ``read``."""

    method_permissions = {"GET": None}
    endpoint = ""
    scopes: tuple[str, ...] = ()
    final_methods = ("get",)

    def read(self, request, *, school, scopes: list[str], **kwargs) -> tuple[object, int]:
        """The answer's body and how many records it carries."""
        raise NotImplementedError

    def get(self, request, urn: str, **kwargs):
        app = calling_app(request)
        school = open_school_for_urn(urn=urn)
        with transaction.atomic(), site_scope(school.pk):
            granted = granted_scopes(app=app, school=school)
            released = [code for code in self.scopes if code in granted]
            if not released:
                refused = True
            else:
                refused = False
                try:
                    with transaction.atomic():
                        body, records = self.read(request, school=school, scopes=released, **kwargs)
                except Http404:
                    not_found = True
                else:
                    not_found = False
                    _log(
                        app=app,
                        school=school,
                        endpoint=self.endpoint,
                        scopes=released,
                        records=records,
                        status_code=200,
                    )
        if refused:
            _log_refusal(app=app, school=school, endpoint=self.endpoint, status_code=403)
            labels = " or ".join(f"“{SCOPES[code].label}”" for code in self.scopes)
            raise ScopeNotAuthorised(
                f"The school with URN {school.urn} has not authorised this app for {labels}."
            )
        if not_found:
            _log_refusal(app=app, school=school, endpoint=self.endpoint, status_code=404)
            raise exceptions.NotFound()
        return Response(body)

    def page(self, request, rows) -> tuple[dict, int]:
        paginator = self.pagination_class()
        items = paginator.paginate_queryset(rows, request, view=self)
        items = list(items)
        return paginator.get_paginated_response(items).data, len(items)


# --- Schema pieces -----------------------------------------------------------------------------

_ERRORS = {401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 429: ErrorSerializer}
UPDATED_SINCE = OpenApiParameter(
    "updated_since",
    datetime.datetime,
    description="Only records changed after this time (ISO 8601), to sync incrementally.",
)
PAGE_PARAMS = [
    OpenApiParameter("page", int),
    OpenApiParameter("page_size", int, description="Up to 1,000 (default 100)."),
]


def _fields_note(*codes: str) -> str:
    lines = [
        f"- {SCOPES[c].label} (`{c}`): " + ", ".join(f"`{n}`" for n in SCOPES[c].field_names)
        for c in codes
    ]
    return (
        "Only the fields of the scopes the school granted are present; with none of them "
        "granted the answer is 403 `scope_not_authorised`.\n\n" + "\n".join(lines)
    )


def _page_of(name: str, fields: dict) -> serializers.Serializer:
    return inline_serializer(
        name=name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": inline_serializer(name=f"{name}Item", fields=fields, many=True),
        },
    )


_PUBLIC_FIELDS = {
    name: serializers.CharField(allow_null=True) for name in SCOPES[PUBLIC_SCHOOL_DATA].field_names
}

_STUDENT_FIELDS = {
    "id": serializers.IntegerField(),
    **{n: serializers.CharField() for n in SCOPES[STUDENTS].field_names},
    **{n: serializers.CharField() for n in SCOPES[STUDENT_CHARACTERISTICS].field_names},
}
ATTENDANCE_PARAMS = [
    OpenApiParameter(
        "from",
        datetime.date,
        description="First day (default: 30 days ago, or the day of updated_since).",
    ),
    OpenApiParameter("to", datetime.date, description="Last day (default: today); a year at most."),
    OpenApiParameter(
        "updated_since", datetime.datetime, description="Marks of sessions on or after its day."
    ),
    *PAGE_PARAMS,
]
DELETION_PARAMS = [
    OpenApiParameter(
        "since", datetime.datetime, required=True, description="Records removed after this time."
    ),
    *PAGE_PARAMS,
]

# --- The endpoints -----------------------------------------------------------------------------


class SchoolListView(_AppView):
    """The schools that have authorised the calling app, each with its public data and the
    scopes it granted."""

    method_permissions = {"GET": None}

    @extend_schema(
        operation_id="apps_schools_list",
        parameters=PAGE_PARAMS,
        responses={
            200: _page_of(
                "ConnectedSchoolPage",
                {
                    **_PUBLIC_FIELDS,
                    "scopes": serializers.ListField(child=serializers.CharField()),
                    "authorised_at": serializers.DateTimeField(),
                },
            ),
            **_ERRORS,
        },
    )
    def get(self, request):
        app = calling_app(request)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(connected_authorisations(app=app), request, view=self)
        items = [
            {
                **public_school_data(authorisation.school),
                "scopes": [PUBLIC_SCHOOL_DATA, *authorisation.scopes],
                "authorised_at": authorisation.authorised_at,
            }
            for authorisation in page
        ]
        return paginator.get_paginated_response(items)


@extend_schema_view(
    get=extend_schema(
        operation_id="apps_school_public_data",
        description=_fields_note(PUBLIC_SCHOOL_DATA),
        parameters=[],
        responses={
            200: inline_serializer(
                name="PublicSchoolData",
                fields={
                    **_PUBLIC_FIELDS,
                    "granted_scopes": serializers.ListField(child=serializers.CharField()),
                },
            ),
            **_ERRORS,
        },
    )
)
class SchoolView(AppReadView):
    endpoint = "school"
    scopes = (PUBLIC_SCHOOL_DATA,)

    def read(self, request, *, school, scopes, **kwargs):
        app = calling_app(request)
        return {
            **public_school_data(school),
            "granted_scopes": granted_scopes(app=app, school=school),
        }, 1


@extend_schema_view(
    get=extend_schema(
        operation_id="apps_school_details",
        description=_fields_note(SCHOOL_DETAILS),
        parameters=[],
        responses={
            200: inline_serializer(
                name="SchoolDetails",
                fields={
                    "capacity": serializers.IntegerField(allow_null=True),
                    "headteacher": serializers.CharField(allow_null=True),
                    "terms": serializers.ListField(child=serializers.DictField()),
                },
            ),
            **_ERRORS,
        },
    )
)
class SchoolDetailsView(AppReadView):
    endpoint = "details"
    scopes = (SCHOOL_DETAILS,)

    def read(self, request, *, school, scopes, **kwargs):
        return school_details(school, today=timezone.localdate()), 1


@extend_schema_view(
    get=extend_schema(
        operation_id="apps_students_list",
        description=_fields_note(STUDENTS, STUDENT_CHARACTERISTICS),
        parameters=[UPDATED_SINCE, *PAGE_PARAMS],
        responses={200: _page_of("StudentPage", _STUDENT_FIELDS), **_ERRORS},
    )
)
class StudentListView(AppReadView):
    endpoint = "students"
    scopes = (STUDENTS, STUDENT_CHARACTERISTICS)

    def read(self, request, *, school, scopes, **kwargs):
        rows = student_rows(site=school, scopes=scopes, updated_since=_since(request))
        return self.page(request, rows)


@extend_schema_view(
    get=extend_schema(
        operation_id="apps_student",
        description=_fields_note(STUDENTS, STUDENT_CHARACTERISTICS),
        parameters=[],
        responses={200: inline_serializer(name="Student", fields=_STUDENT_FIELDS), **_ERRORS},
    )
)
class StudentView(AppReadView):
    endpoint = "student"
    scopes = (STUDENTS, STUDENT_CHARACTERISTICS)

    def read(self, request, *, school, scopes, student_id, **kwargs):
        return student_row(site=school, scopes=scopes, student_id=student_id), 1


@extend_schema_view(
    get=extend_schema(
        operation_id="apps_attendance_list",
        description=_fields_note(ATTENDANCE),
        parameters=ATTENDANCE_PARAMS,
        responses={
            200: _page_of(
                "MarkPage", {n: serializers.CharField() for n in SCOPES[ATTENDANCE].field_names}
            ),
            **_ERRORS,
        },
    )
)
class AttendanceListView(AppReadView):
    endpoint = "attendance"
    scopes = (ATTENDANCE,)

    def read(self, request, *, school, scopes, **kwargs):
        today = timezone.localdate()
        since = _since(request)
        default_from = since.date() if since is not None else today - datetime.timedelta(days=30)
        date_from = _date(request, "from", default_from)
        date_to = _date(request, "to", today)
        if date_to < date_from:
            raise exceptions.ValidationError({"to": ["Must not be before 'from'."]})
        if (date_to - date_from).days > 366:
            raise exceptions.ValidationError({"to": ["At most a year of marks per request."]})
        rows = mark_rows(site=school, date_from=date_from, date_to=date_to)
        body, count = self.page(request, rows)
        body["results"] = [
            {"student_id": pupil_id, "date": day, "session": session, "code": code}
            for pupil_id, day, session, code in body["results"]
        ]
        return body, count


@extend_schema_view(
    get=extend_schema(
        operation_id="apps_exclusions_list",
        description=_fields_note(BEHAVIOUR),
        parameters=[UPDATED_SINCE, *PAGE_PARAMS],
        responses={
            200: _page_of(
                "ExclusionPage",
                {
                    "id": serializers.IntegerField(),
                    **{n: serializers.CharField() for n in SCOPES[BEHAVIOUR].field_names},
                },
            ),
            **_ERRORS,
        },
    )
)
class ExclusionListView(AppReadView):
    endpoint = "exclusions"
    scopes = (BEHAVIOUR,)

    def read(self, request, *, school, scopes, **kwargs):
        body, count = self.page(request, exclusion_rows(site=school, updated_since=_since(request)))
        body["results"] = [
            {**{k: v for k, v in row.items() if k != "pupil_id"}, "student_id": row["pupil_id"]}
            for row in body["results"]
        ]
        return body, count


@extend_schema_view(
    get=extend_schema(
        operation_id="apps_staff_list",
        description=_fields_note(STAFF),
        parameters=[UPDATED_SINCE, *PAGE_PARAMS],
        responses={
            200: _page_of(
                "StaffPage",
                {
                    "id": serializers.IntegerField(),
                    **{n: serializers.CharField() for n in SCOPES[STAFF].field_names},
                },
            ),
            **_ERRORS,
        },
    )
)
class StaffListView(AppReadView):
    endpoint = "staff"
    scopes = (STAFF,)

    def read(self, request, *, school, scopes, **kwargs):
        paginator = self.pagination_class()
        profiles = list(
            paginator.paginate_queryset(
                staff_rows(site=school, updated_since=_since(request)), request, view=self
            )
        )
        roles = staff_roles(site=school, profile_ids=[p.pk for p in profiles])
        items = [
            {
                "id": profile.pk,
                "name": profile.user.display_name,
                "email": profile.user.email,
                "job_title": profile.job_title,
                "roles": roles.get(profile.pk, []),
            }
            for profile in profiles
        ]
        return paginator.get_paginated_response(items).data, len(items)


@extend_schema_view(
    get=extend_schema(
        operation_id="apps_deletions_list",
        description=_fields_note(STUDENTS, STUDENT_CHARACTERISTICS, BEHAVIOUR),
        parameters=DELETION_PARAMS,
        responses={
            200: _page_of(
                "DeletionPage",
                {
                    "entity": serializers.CharField(),
                    "record_id": serializers.IntegerField(),
                    "changed_at": serializers.DateTimeField(),
                },
            ),
            **_ERRORS,
        },
    )
)
class DeletionListView(AppReadView):
    endpoint = "deletions"
    scopes = (STUDENTS, STUDENT_CHARACTERISTICS, BEHAVIOUR)

    def read(self, request, *, school, scopes, **kwargs):
        since = _since(request, "since", required=True)
        return self.page(request, deletion_rows(site=school, since=since))


class AccessRequestView(_AppView):
    """The app asks the school (by URN) for its scopes: one pending request per school."""

    method_permissions = {"POST": None}
    final_methods = ("post",)

    @extend_schema(
        operation_id="apps_access_request",
        request=None,
        responses={
            200: inline_serializer(
                name="AccessRequestAnswer",
                fields={
                    "status": serializers.CharField(),
                    "message": serializers.CharField(),
                    "required_scopes": serializers.ListField(child=serializers.CharField()),
                    "optional_scopes": serializers.ListField(child=serializers.CharField()),
                },
            ),
            **_ERRORS,
        },
    )
    def post(self, request, urn: str):
        app = calling_app(request)
        school = open_school_for_urn(urn=urn)
        outcome = access_request_open(app=app, school=school, origin=RequestOrigin.APP)
        code = status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
        pending = outcome.request
        return Response(
            {
                "status": pending.status if pending is not None else "decided",
                "message": outcome.message,
                "required_scopes": list(app.required_scopes),
                "optional_scopes": list(app.optional_scopes),
            },
            status=code,
        )
