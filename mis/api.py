"""REST endpoints of a school's own records: its pupils (the Students page's data), one
pupil, and a day's registers (the Attendance page's data).

Every endpoint exists only on a school site (a group site answers 404, whoever asks) and
only reads that school's records: another school's pupil id gets the same 404 as one that
does not exist. Pupils need the permission Students at View and the day's registers
Attendance at View; a pupil's attendance needs Attendance and their suspensions and
exclusions Behaviour, at View (null without). Group staff who logged in to the school's MIS
have their role's in-school set, and their reads of pupils are recorded for the school
(``mis.outside_reads``).
"""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from accounts.permissions import request_has_permission
from matmis.api import ErrorSerializer, PageNumberPagination, SiteApiView
from matmis.exports import ExportApiView, export_response, export_schema
from matmis.site_access import SiteKind

from .calendar import academic_year_label
from .codes import (
    YEAR_GROUPS,
    ExclusionKind,
    ExclusionReason,
    MarkCategory,
    SenProvision,
)
from .exports import (
    attendance_table,
    outside_read_description,
    outside_reads_table,
    students_table,
)
from .forms import AttendanceDateForm, PupilSearchForm
from .models import OutsideReadKind, Pupil
from .outside_reads import RecordsOutsideReads
from .register_api import PupilCreateMixin, PupilEditMixin
from .selectors import (
    SEARCH_MAX,
    attendance_day,
    attendance_term,
    outside_read_list,
    pupil_exclusions,
    pupil_for_id,
    pupil_list,
    pupil_recent_marks,
    term_attendance,
    term_bounds,
)
from .views import MANAGE_PUPILS, SEE_ATTENDANCE, SEE_BEHAVIOUR, SEE_OUTSIDE_READS, SEE_STUDENTS

ERRORS = {403: ErrorSerializer, 404: ErrorSerializer}
TAGS = ["students and attendance (school)"]


def _invalid(form) -> exceptions.ValidationError:
    return exceptions.ValidationError(
        {field: list(messages) for field, messages in form.errors.items()}
    )


# --- Serializers ----------------------------------------------------------------------------


def _percent_field(help_text: str, *, source: str | None = None) -> serializers.DecimalField:
    """A percentage to one decimal place (a JSON number), or null."""
    return serializers.DecimalField(
        max_digits=4,
        decimal_places=1,
        coerce_to_string=False,
        allow_null=True,
        help_text=help_text,
        **({"source": source} if source else {}),
    )


class AttendanceSerializer(serializers.Serializer):
    """Sessions counted by category. Possible sessions = present + authorised +
    unauthorised; "not a possible session" marks count for nothing."""

    possible_sessions = serializers.IntegerField(source="possible")
    present_sessions = serializers.IntegerField(source="present")
    authorised_absence = serializers.IntegerField(source="authorised")
    unauthorised_absence = serializers.IntegerField(source="unauthorised")
    not_possible_sessions = serializers.IntegerField(source="not_possible")
    attendance_percent = _percent_field(
        "present / possible sessions; null with none.", source="percent"
    )
    absence_percent = _percent_field("(authorised + unauthorised) / possible; null with none.")
    persistent_absentee = serializers.BooleanField(
        help_text="For one pupil: missed 10% or more of the possible sessions."
    )


class PupilSerializer(serializers.Serializer):
    """A pupil as the list shows them, with their attendance this term to date."""

    id = serializers.IntegerField()
    upn = serializers.CharField()
    name = serializers.CharField(help_text="Preferred (or legal) first name and surname.")
    legal_first_name = serializers.CharField()
    preferred_first_name = serializers.CharField()
    legal_last_name = serializers.CharField()
    date_of_birth = serializers.DateField()
    year_group = serializers.ChoiceField(choices=list(YEAR_GROUPS.items()))
    year_group_label = serializers.CharField()
    enrolled_on = serializers.DateField()
    left_on = serializers.DateField(allow_null=True)
    on_roll = serializers.SerializerMethodField(help_text="On roll today.")
    fsm_eligible = serializers.BooleanField()
    disadvantaged = serializers.BooleanField()
    sen_provision = serializers.ChoiceField(choices=SenProvision.choices)
    sen_provision_label = serializers.CharField(source="get_sen_provision_display")
    term_attendance = serializers.SerializerMethodField(
        help_text="Null without the permission Attendance at View."
    )

    def get_on_roll(self, pupil: Pupil) -> bool:
        return pupil.on_roll(self.context["today"])

    @extend_schema_field(AttendanceSerializer(allow_null=True))
    def get_term_attendance(self, pupil: Pupil) -> dict | None:
        if not self.context["show_attendance"]:
            return None
        return AttendanceSerializer(term_attendance(pupil)).data


class PupilPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = PupilSerializer(many=True)


class TermSerializer(serializers.Serializer):
    name = serializers.CharField()
    start = serializers.DateField(help_text="The term's first day.")
    end = serializers.DateField(help_text="The last day counted: the term's end, or the day.")


class MarkSerializer(serializers.Serializer):
    code = serializers.CharField()
    meaning = serializers.CharField()
    category = serializers.ChoiceField(choices=MarkCategory.choices)
    category_label = serializers.CharField(source="category.label")


class MarkDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    am = MarkSerializer(allow_null=True)
    pm = MarkSerializer(allow_null=True)


class ExclusionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ExclusionKind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    starts_on = serializers.DateField()
    sessions = serializers.IntegerField(
        allow_null=True, help_text="A suspension's length in sessions; null when permanent."
    )
    reason = serializers.ChoiceField(choices=ExclusionReason.choices)
    reason_label = serializers.CharField(source="get_reason_display")


class PupilDetailSerializer(PupilSerializer):
    """One pupil: details, this term's attendance, the last four weeks of marks (newest
    first), and suspensions and exclusions this academic year."""

    term = serializers.SerializerMethodField()
    recent_marks = serializers.SerializerMethodField(
        help_text="Null without the permission Attendance at View."
    )
    academic_year = serializers.SerializerMethodField(help_text="For example 2026/27.")
    exclusions = serializers.SerializerMethodField(
        help_text="Null without the permission Behaviour at View."
    )

    @extend_schema_field(TermSerializer)
    def get_term(self, pupil: Pupil) -> dict:
        return TermSerializer(self.context["term"]).data

    @extend_schema_field(MarkDaySerializer(many=True, allow_null=True))
    def get_recent_marks(self, pupil: Pupil) -> list | None:
        marks = self.context["recent_marks"]
        return None if marks is None else MarkDaySerializer(marks, many=True).data

    def get_academic_year(self, pupil: Pupil) -> str:
        return self.context["academic_year"]

    @extend_schema_field(ExclusionSerializer(many=True, allow_null=True))
    def get_exclusions(self, pupil: Pupil) -> list | None:
        exclusions = self.context["exclusions"]
        return None if exclusions is None else ExclusionSerializer(exclusions, many=True).data


class SessionCountsSerializer(serializers.Serializer):
    """One session's register over the pupils on roll: every pupil is in exactly one of
    present, authorised, unauthorised, not possible and not marked."""

    on_roll = serializers.IntegerField()
    present = serializers.IntegerField()
    authorised = serializers.IntegerField()
    unauthorised = serializers.IntegerField()
    not_possible = serializers.IntegerField()
    not_marked = serializers.IntegerField()
    attendance_percent = _percent_field(
        "present / marked possible sessions; null with none.", source="percent"
    )


class YearGroupDaySerializer(serializers.Serializer):
    year_group = serializers.IntegerField()
    label = serializers.CharField()
    am = SessionCountsSerializer()
    pm = SessionCountsSerializer()


class TermFiguresSerializer(serializers.Serializer):
    attendance = AttendanceSerializer(
        help_text="Summed over the pupils (persistent_absentee is not meaningful here)."
    )
    pupils_with_sessions = serializers.IntegerField()
    persistent_absentees = serializers.IntegerField(
        help_text="Pupils who missed 10% or more of their possible sessions."
    )


class YearGroupTermSerializer(TermFiguresSerializer):
    year_group = serializers.IntegerField()
    label = serializers.CharField()


class TermSummarySerializer(serializers.Serializer):
    term = TermSerializer()
    overall = TermFiguresSerializer()
    year_groups = YearGroupTermSerializer(many=True)

    def to_representation(self, summary) -> dict:
        return {
            "term": TermSerializer(
                {"name": summary.term.name, "start": summary.start, "end": summary.end}
            ).data,
            "overall": TermFiguresSerializer(summary.overall).data,
            "year_groups": YearGroupTermSerializer(summary.year_groups, many=True).data,
        }


class AttendanceDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    am = SessionCountsSerializer()
    pm = SessionCountsSerializer()
    year_groups = YearGroupDaySerializer(many=True)
    term_to_date = TermSummarySerializer()


# --- Views ----------------------------------------------------------------------------------

PUPIL_FILTERS = [
    OpenApiParameter(
        "q",
        str,
        description=f"Part of a name, or of a UPN (at most {SEARCH_MAX} characters).",
    ),
    OpenApiParameter("year", int, enum=list(YEAR_GROUPS), description="Year group (Reception: 0)."),
    OpenApiParameter(
        "leavers", bool, description="Include pupils not on roll today (default false)."
    ),
]
ATTENDANCE_DATE = OpenApiParameter(
    "date", OpenApiTypes.DATE, description="YYYY-MM-DD, today or earlier (default: today)."
)


class PupilListApiView(RecordsOutsideReads, PupilCreateMixin, SiteApiView):
    """The school's pupils by surname (the Students page): on roll today unless
    ``leavers`` is true, with their attendance this term to date (with Attendance at View).
    Needs Students at View. POST adds a pupil (Students at Administer)."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_STUDENTS, "POST": MANAGE_PUPILS}
    outside_read = OutsideReadKind.STUDENTS

    @extend_schema(
        operation_id="pupils_list",
        tags=TAGS,
        parameters=[
            *PUPIL_FILTERS,
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 200; default 50."),
        ],
        # 404 also answers a page past the last (as every paginated list).
        responses={200: PupilPageSerializer, 400: ErrorSerializer, **ERRORS},
    )
    def get(self, request):
        today = timezone.localdate()
        form = PupilSearchForm(request.query_params)
        if not form.is_valid():
            raise _invalid(form)
        filters = form.filters()
        pupils = pupil_list(
            site=request.site,
            today=today,
            search=filters.search,
            year_group=filters.year_group,
            include_leavers=filters.include_leavers,
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(pupils, request, view=self)
        context = {
            "today": today,
            "show_attendance": request_has_permission(request, *SEE_ATTENDANCE),
        }
        return paginator.get_paginated_response(
            PupilSerializer(page, many=True, context=context).data
        )


class PupilDetailApiView(RecordsOutsideReads, PupilEditMixin, SiteApiView):
    """One of the school's pupils; another school's id is a 404. Needs Students at View;
    the attendance fields are null without Attendance at View, the exclusions without
    Behaviour at View. PUT replaces the record (Students at Administer)."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_STUDENTS, "PUT": MANAGE_PUPILS}
    outside_read = OutsideReadKind.PUPIL

    @extend_schema(
        operation_id="pupils_retrieve",
        tags=TAGS,
        responses={200: PupilDetailSerializer, **ERRORS},
    )
    def get(self, request, pupil_id: int):
        site, today = request.site, timezone.localdate()
        pupil = pupil_for_id(site=site, pupil_id=pupil_id, today=today)
        term, start, end = term_bounds(today)
        show_attendance = request_has_permission(request, *SEE_ATTENDANCE)
        show_behaviour = request_has_permission(request, *SEE_BEHAVIOUR)
        context = {
            "today": today,
            "show_attendance": show_attendance,
            "term": {"name": term.name, "start": start, "end": end},
            "recent_marks": (
                pupil_recent_marks(site=site, pupil=pupil, today=today) if show_attendance else None
            ),
            "academic_year": academic_year_label(today),
            "exclusions": (
                pupil_exclusions(site=site, pupil=pupil, today=today) if show_behaviour else None
            ),
        }
        return Response(PupilDetailSerializer(pupil, context=context).data)


class AttendanceDayApiView(SiteApiView):
    """A day's registers (today unless ``date``), AM and PM, over the pupils on roll, in
    total and by year group; and attendance over the term to that day (the Attendance
    page). Needs Attendance at View."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_ATTENDANCE}

    @extend_schema(
        operation_id="attendance_today_retrieve",
        tags=TAGS,
        parameters=[ATTENDANCE_DATE],
        responses={200: AttendanceDaySerializer, 400: ErrorSerializer, **ERRORS},
    )
    def get(self, request):
        site, today = request.site, timezone.localdate()
        form = AttendanceDateForm(request.query_params, today=today)
        if not form.is_valid():
            raise _invalid(form)
        day = form.day()
        summary = attendance_day(site=site, day=day)
        return Response(
            {
                "date": day.isoformat(),
                "am": SessionCountsSerializer(summary.am).data,
                "pm": SessionCountsSerializer(summary.pm).data,
                "year_groups": YearGroupDaySerializer(summary.year_groups, many=True).data,
                "term_to_date": TermSummarySerializer(attendance_term(site=site, day=day)).data,
            }
        )


# --- Exports ---------------------------------------------------------------------------------


class PupilExportApiView(RecordsOutsideReads, ExportApiView):
    """The pupils of ``pupils_list`` (same parameters, every page) as a CSV or XLSX file:
    the Students page's export (attendance columns with Attendance at View). Needs Students
    at View."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_STUDENTS}
    outside_read = OutsideReadKind.STUDENTS_EXPORT

    @export_schema(operation_id="pupils_export", tags=TAGS, parameters=PUPIL_FILTERS)
    def get(self, request):
        form = PupilSearchForm(request.query_params)
        if not form.is_valid():
            raise _invalid(form)
        table = students_table(
            site=request.site,
            today=timezone.localdate(),
            filters=form.filters(),
            with_attendance=request_has_permission(request, *SEE_ATTENDANCE),
        )
        return export_response(table, site=request.site, export_format=self.export_format)


class AttendanceExportApiView(ExportApiView):
    """A day's registers by year group with the term to that day, as a CSV or XLSX file:
    the Attendance page's export. Needs Attendance at View."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_ATTENDANCE}

    @export_schema(operation_id="attendance_export", tags=TAGS, parameters=[ATTENDANCE_DATE])
    def get(self, request):
        form = AttendanceDateForm(request.query_params, today=timezone.localdate())
        if not form.is_valid():
            raise _invalid(form)
        table = attendance_table(site=request.site, day=form.day())
        return export_response(table, site=request.site, export_format=self.export_format)


# --- Reads from outside the school ------------------------------------------------------------

OUTSIDE_READ_TAGS = ["reads from outside the school (school)"]


class OutsideReadPersonSerializer(serializers.Serializer):
    name = serializers.CharField(source="display_name")
    email = serializers.EmailField()


class OutsideReadGroupSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class OutsideReadPupilSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    upn = serializers.CharField()
    name = serializers.CharField()


class OutsideReadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    person = OutsideReadPersonSerializer(source="reader")
    from_group = OutsideReadGroupSerializer(help_text="The group site they came from.")
    what = serializers.ChoiceField(choices=OutsideReadKind.choices)
    what_label = serializers.CharField(source="get_what_display")
    description = serializers.SerializerMethodField()
    pupil = OutsideReadPupilSerializer(
        allow_null=True, help_text="The pupil whose record was read, while on record."
    )
    pupil_id = serializers.IntegerField(allow_null=True)
    api = serializers.BooleanField(help_text="Read through the REST API (not a page).")
    path = serializers.CharField(help_text="The page or endpoint, with its query string.")

    def get_description(self, read) -> str:
        return outside_read_description(read)


class OutsideReadPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = OutsideReadSerializer(many=True)


class OutsideReadListApiView(SiteApiView):
    """Every read of the school's pupil-level data by someone from outside the school (a
    group's staff who logged in to its MIS), newest first, one per request. Needs User
    Details: Manage All Users at Administer (the school's administrators)."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_OUTSIDE_READS}

    @extend_schema(
        operation_id="outside_reads_list",
        tags=OUTSIDE_READ_TAGS,
        parameters=[
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 200; default 50."),
        ],
        responses={200: OutsideReadPageSerializer, **ERRORS},
    )
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(outside_read_list(site=request.site), request, self)
        return paginator.get_paginated_response(OutsideReadSerializer(page, many=True).data)


class OutsideReadExportApiView(ExportApiView):
    """The reads of ``outside_reads_list`` (every page) as a CSV or XLSX file: the page's
    export. Needs User Details: Manage All Users at Administer."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_OUTSIDE_READS}

    @export_schema(operation_id="outside_reads_export", tags=OUTSIDE_READ_TAGS)
    def get(self, request):
        table = outside_reads_table(site=request.site)
        return export_response(table, site=request.site, export_format=self.export_format)
