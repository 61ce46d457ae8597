"""REST endpoints that change a school's own records, and its registers (issue 15): add,
edit and readmit pupils; registration groups; read a register, submit its marks, amend a
mark with a reason; the school's register closing times.

The same services and the same rules as the pages: pupils need Students at Administer;
groups are read with Students at View and changed with Students at Administer; registers
are read with Attendance at View and taken by the group's teachers or staff with
Attendance at Administer (``mis.register_access``). Another school's pupil or group is the
same 404 as a missing one. Reads of a register or a group's pupils from outside the school
(a hop) are recorded for the school, as the pupil reads are."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from accounts.audit import actor_from_request
from matmis.api import ErrorSerializer, SiteApiView, validation_error
from matmis.site_access import SiteKind

from .codes import ATTENDANCE_CODES, YEAR_GROUPS, SenProvision, Session, Sex
from .models import OutsideReadKind
from .outside_reads import RecordsOutsideReads
from .register_access import (
    MANAGE_REGISTER_SETTINGS,
    REFUSED_TAKING,
    SEE_GROUPS,
    SEE_REGISTERS,
    TAKE_REGISTERS,
    request_may_take_register,
)
from .register_selectors import (
    group_pupils,
    register_for,
    registration_group_for_id,
    registration_group_list,
)
from .roll_forms import RegisterSessionForm
from .selectors import pupil_for_id
from .services.groups import registration_group_change, registration_group_create
from .services.pupils import PupilDetails, pupil_add, pupil_edit, pupil_readmit
from .services.registers import (
    LATE,
    register_marks_save,
    register_settings,
    register_settings_change,
)
from .views import MANAGE_PUPILS

TAGS = ["pupils, groups and registers (school)"]
ERRORS = {403: ErrorSerializer, 404: ErrorSerializer}
WRITE_ERRORS = {400: ErrorSerializer, **ERRORS}


def _refused(error: DjangoValidationError) -> exceptions.ValidationError:
    return validation_error(error, rename={"registration_group_id": "registration_group"})


# --- Pupils ---------------------------------------------------------------------------------


class GroupRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class PupilRecordSerializer(serializers.Serializer):
    """A pupil's record as it was saved."""

    id = serializers.IntegerField()
    upn = serializers.CharField()
    upn_is_temporary = serializers.BooleanField()
    legal_first_name = serializers.CharField()
    preferred_first_name = serializers.CharField()
    legal_last_name = serializers.CharField()
    date_of_birth = serializers.DateField()
    sex = serializers.CharField(help_text="F, M, or empty when not known.")
    year_group = serializers.IntegerField()
    registration_group = GroupRefSerializer(allow_null=True)
    enrolled_on = serializers.DateField()
    left_on = serializers.DateField(allow_null=True)
    fsm_eligible = serializers.BooleanField()
    disadvantaged = serializers.BooleanField()
    sen_provision = serializers.CharField()


class PupilInputSerializer(serializers.Serializer):
    legal_first_name = serializers.CharField(max_length=100)
    preferred_first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    legal_last_name = serializers.CharField(max_length=100)
    date_of_birth = serializers.DateField()
    sex = serializers.ChoiceField(choices=[("", "Not known"), *Sex.choices], required=False)
    upn = serializers.CharField(
        max_length=13, required=False, allow_blank=True, help_text="With its check letter."
    )
    temporary_upn = serializers.BooleanField(
        required=False, default=False, help_text="No UPN known yet: one is made (upn empty)."
    )
    year_group = serializers.ChoiceField(choices=list(YEAR_GROUPS.items()))
    registration_group = serializers.IntegerField(required=False, allow_null=True)
    enrolled_on = serializers.DateField(help_text="The admission date.")
    fsm_eligible = serializers.BooleanField(required=False, default=False)
    disadvantaged = serializers.BooleanField(required=False, default=False)
    sen_provision = serializers.ChoiceField(
        choices=SenProvision.choices, required=False, default=SenProvision.NONE
    )

    def details(self) -> PupilDetails:
        data = dict(self.validated_data)
        data["registration_group_id"] = data.pop("registration_group", None)
        return PupilDetails(**data)


def _record(pupil) -> dict:
    group = pupil.registration_group if pupil.registration_group_id else None
    return PupilRecordSerializer(
        {
            **{
                name: getattr(pupil, name)
                for name in PupilRecordSerializer().fields
                if name != "registration_group"
            },
            "registration_group": {"id": group.pk, "name": group.name} if group else None,
        }
    ).data


class PupilCreateMixin:
    """POST on the pupil list: add a pupil to the roll (Students at Administer)."""

    @extend_schema(
        operation_id="pupils_create",
        tags=TAGS,
        request=PupilInputSerializer,
        responses={201: PupilRecordSerializer, **WRITE_ERRORS},
    )
    def post(self, request):
        data = PupilInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            pupil = pupil_add(
                site=request.site,
                details=data.details(),
                actor=actor_from_request(request),
                today=timezone.localdate(),
            )
        except DjangoValidationError as error:
            raise _refused(error) from None
        return Response(_record(pupil), status=status.HTTP_201_CREATED)


class PupilEditMixin:
    """PUT on a pupil: replace the pupil's record (every field, as on the edit page;
    Students at Administer)."""

    @extend_schema(
        operation_id="pupils_update",
        tags=TAGS,
        request=PupilInputSerializer,
        responses={200: PupilRecordSerializer, **WRITE_ERRORS},
    )
    def put(self, request, pupil_id: int):
        pupil = pupil_for_id(site=request.site, pupil_id=pupil_id, today=timezone.localdate())
        data = PupilInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            pupil = pupil_edit(
                pupil=pupil,
                details=data.details(),
                actor=actor_from_request(request),
                today=timezone.localdate(),
            )
        except DjangoValidationError as error:
            raise _refused(error) from None
        return Response(_record(pupil))


class PupilReadmitApiView(SiteApiView):
    """Put a pupil who left back on the roll from ``readmitted_on`` (Students at
    Administer)."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"POST": MANAGE_PUPILS}

    class ReadmitInputSerializer(serializers.Serializer):
        readmitted_on = serializers.DateField()

    @extend_schema(
        operation_id="pupils_readmit",
        tags=TAGS,
        request=ReadmitInputSerializer,
        responses={200: PupilRecordSerializer, **WRITE_ERRORS},
    )
    def post(self, request, pupil_id: int):
        pupil = pupil_for_id(site=request.site, pupil_id=pupil_id, today=timezone.localdate())
        data = self.ReadmitInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            pupil = pupil_readmit(
                pupil=pupil,
                readmitted_on=data.validated_data["readmitted_on"],
                actor=actor_from_request(request),
                today=timezone.localdate(),
            )
        except DjangoValidationError as error:
            raise _refused(error) from None
        return Response(_record(pupil))


# --- Registration groups --------------------------------------------------------------------


class TeacherSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The staff profile's id.")
    name = serializers.CharField(source="user.full_name")


class GroupPupilSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    upn = serializers.CharField()
    year_group = serializers.IntegerField()


class RegistrationGroupSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    teachers = TeacherSerializer(many=True, source="teacher_list")


class RegistrationGroupListItemSerializer(RegistrationGroupSerializer):
    pupils_on_roll = serializers.IntegerField()


class RegistrationGroupDetailSerializer(RegistrationGroupSerializer):
    pupils = GroupPupilSerializer(many=True, help_text="On roll today, by surname.")


class RegistrationGroupInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=40)
    teachers = serializers.ListField(
        child=serializers.IntegerField(),
        max_length=100,
        required=False,
        default=list,
        help_text="Staff profile ids of the school's staff: exactly the group's teachers.",
    )


def _group_detail(request, group_id) -> dict:
    group = registration_group_for_id(site=request.site, group_id=group_id)
    group.pupils_today = list(
        group_pupils(site=request.site, group=group, day=timezone.localdate())
    )
    return RegistrationGroupDetailSerializer(
        {
            "id": group.pk,
            "name": group.name,
            "teacher_list": group.teacher_list,
            "pupils": group.pupils_today,
        }
    ).data


class RegistrationGroupListApiView(SiteApiView):
    """The school's registration groups with their teachers and pupils on roll today
    (Students at View); POST creates one (Students at Administer)."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_GROUPS, "POST": MANAGE_PUPILS}

    @extend_schema(
        operation_id="registration_groups_list",
        tags=TAGS,
        responses={200: RegistrationGroupListItemSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        groups = registration_group_list(site=request.site, day=timezone.localdate())
        return Response(RegistrationGroupListItemSerializer(groups, many=True).data)

    @extend_schema(
        operation_id="registration_groups_create",
        tags=TAGS,
        request=RegistrationGroupInputSerializer,
        responses={201: RegistrationGroupDetailSerializer, **WRITE_ERRORS},
    )
    def post(self, request):
        data = RegistrationGroupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            group = registration_group_create(
                site=request.site,
                name=data.validated_data["name"],
                teacher_ids=data.validated_data["teachers"],
                actor=actor_from_request(request),
            )
        except DjangoValidationError as error:
            raise validation_error(error) from None
        return Response(_group_detail(request, group.pk), status=status.HTTP_201_CREATED)


class RegistrationGroupDetailApiView(RecordsOutsideReads, SiteApiView):
    """One registration group with its teachers and pupils (Students at View); PUT renames
    it and sets its teachers (Students at Administer)."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_GROUPS, "PUT": MANAGE_PUPILS}
    outside_read = OutsideReadKind.REGISTRATION_GROUP

    @extend_schema(
        operation_id="registration_groups_retrieve",
        tags=TAGS,
        responses={200: RegistrationGroupDetailSerializer, **ERRORS},
    )
    def get(self, request, group_id: int):
        return Response(_group_detail(request, group_id))

    @extend_schema(
        operation_id="registration_groups_update",
        tags=TAGS,
        request=RegistrationGroupInputSerializer,
        responses={200: RegistrationGroupDetailSerializer, **WRITE_ERRORS},
    )
    def put(self, request, group_id: int):
        group = registration_group_for_id(site=request.site, group_id=group_id)
        data = RegistrationGroupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            registration_group_change(
                group=group,
                name=data.validated_data["name"],
                teacher_ids=data.validated_data["teachers"],
                actor=actor_from_request(request),
            )
        except DjangoValidationError as error:
            raise validation_error(error) from None
        return Response(_group_detail(request, group.pk))


# --- Registers ------------------------------------------------------------------------------

REGISTER_PARAMS = [
    OpenApiParameter(
        "date", OpenApiTypes.DATE, description="YYYY-MM-DD, today or earlier (default: today)."
    ),
    OpenApiParameter(
        "session",
        str,
        enum=list(Session.values),
        description="AM or PM (default: AM before noon, PM after).",
    ),
]


class RegisterEntrySerializer(serializers.Serializer):
    pupil = GroupPupilSerializer(source="row.pupil")
    code = serializers.CharField(source="row.code", allow_null=True, help_text="Null: not marked.")
    meaning = serializers.CharField(source="row.meaning")


class AmendmentSerializer(serializers.Serializer):
    pupil = serializers.IntegerField(source="pupil_id")
    original_code = serializers.CharField()
    new_code = serializers.CharField()
    amended_by = serializers.CharField(source="amended_by.email")
    amended_at = serializers.DateTimeField()
    reason = serializers.CharField()


class RegisterSerializer(serializers.Serializer):
    group = GroupRefSerializer()
    date = serializers.DateField()
    session = serializers.ChoiceField(choices=Session.choices)
    closes_at = serializers.TimeField()
    closed = serializers.BooleanField()
    marked = serializers.IntegerField()
    not_marked = serializers.IntegerField()
    entries = RegisterEntrySerializer(many=True)
    amendments = AmendmentSerializer(many=True)
    may_take = serializers.BooleanField(help_text="Whether the caller may take or amend it.")


class MarkInputSerializer(serializers.Serializer):
    pupil = serializers.IntegerField()
    code = serializers.CharField(
        max_length=4,
        help_text=f"A DfE code ({', '.join(ATTENDANCE_CODES)}) or “{LATE}”: L before the "
        "register closes, U after.",
    )
    reason = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text="Needed when the pupil is already marked with another code (an amendment).",
    )


class RegisterMarksInputSerializer(serializers.Serializer):
    marks = MarkInputSerializer(many=True, allow_empty=False, max_length=200)


def _session(request) -> tuple:
    form = RegisterSessionForm(request.query_params, now=timezone.localtime())
    if not form.is_valid():
        raise exceptions.ValidationError(
            {field: list(messages) for field, messages in form.errors.items()}
        )
    return form.cleaned_data["date"], form.cleaned_data["session"]


def _register_data(request, group, day, session) -> dict:
    register = register_for(site=request.site, group=group, day=day, session=session)
    return RegisterSerializer(
        {
            "group": group,
            "date": day,
            "session": session,
            "closes_at": register.closes_at,
            "closed": register.closed,
            "marked": register.marked_count,
            "not_marked": len(register.unmarked),
            "entries": [{"row": row} for row in register.rows],
            "amendments": register.amendments,
            "may_take": request_may_take_register(request, group),
        }
    ).data


class RegisterApiView(RecordsOutsideReads, SiteApiView):
    """A register of a group (Attendance at View): each pupil on roll with their mark, who
    is not marked yet, and the amendments. POST saves marks (the group's teachers, or
    Attendance at Administer): all or nothing; a pupil already marked with another code
    needs a ``reason``, and the original mark is kept."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_REGISTERS, "POST": TAKE_REGISTERS}
    outside_read = OutsideReadKind.REGISTER

    @extend_schema(
        operation_id="registers_retrieve",
        tags=TAGS,
        parameters=REGISTER_PARAMS,
        responses={200: RegisterSerializer, 400: ErrorSerializer, **ERRORS},
    )
    def get(self, request, group_id: int):
        group = registration_group_for_id(site=request.site, group_id=group_id)
        day, session = _session(request)
        return Response(_register_data(request, group, day, session))

    @extend_schema(
        operation_id="registers_marks_save",
        tags=TAGS,
        parameters=REGISTER_PARAMS,
        request=RegisterMarksInputSerializer,
        responses={200: RegisterSerializer, **WRITE_ERRORS},
    )
    def post(self, request, group_id: int):
        group = registration_group_for_id(site=request.site, group_id=group_id)
        day, session = _session(request)
        if not request_may_take_register(request, group):
            raise exceptions.PermissionDenied(REFUSED_TAKING)
        data = RegisterMarksInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        marks = data.validated_data["marks"]
        pupils = [mark["pupil"] for mark in marks]
        if len(set(pupils)) != len(pupils):
            raise exceptions.ValidationError({"marks": ["Give each pupil one mark."]})
        try:
            register_marks_save(
                group=group,
                day=day,
                session=session,
                codes={mark["pupil"]: mark["code"] for mark in marks},
                reasons={mark["pupil"]: mark.get("reason", "") for mark in marks},
                actor=actor_from_request(request),
            )
        except DjangoValidationError as error:
            raise validation_error(error) from None
        return Response(_register_data(request, group, day, session))


class RegisterSettingsSerializer(serializers.Serializer):
    am_closes_at = serializers.TimeField(format="%H:%M", input_formats=["%H:%M"])
    pm_closes_at = serializers.TimeField(format="%H:%M", input_formats=["%H:%M"])


class RegisterSettingsApiView(SiteApiView):
    """When the school's registers close (Attendance at View); PUT changes it (Attendance
    at Administer)."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_REGISTERS, "PUT": MANAGE_REGISTER_SETTINGS}

    @extend_schema(
        operation_id="register_settings_retrieve",
        tags=TAGS,
        responses={200: RegisterSettingsSerializer, **ERRORS},
    )
    def get(self, request):
        return Response(RegisterSettingsSerializer(register_settings(site=request.site)).data)

    @extend_schema(
        operation_id="register_settings_update",
        tags=TAGS,
        request=RegisterSettingsSerializer,
        responses={200: RegisterSettingsSerializer, **WRITE_ERRORS},
    )
    def put(self, request):
        data = RegisterSettingsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            saved = register_settings_change(
                site=request.site, actor=actor_from_request(request), **data.validated_data
            )
        except DjangoValidationError as error:
            raise validation_error(error) from None
        return Response(RegisterSettingsSerializer(saved).data)
