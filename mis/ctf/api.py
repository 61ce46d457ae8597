"""REST twins of the CTF pages, under /api/v1/ctf/: upload a file (its preview comes
back), read a file's preview, import it all or nothing, and export a CTF of chosen pupils.
Reading needs Students at View, everything else Students at Administer."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from accounts.audit import actor_from_request
from matmis.api import ErrorSerializer, SiteApiView, validation_error
from matmis.site_access import SiteKind
from mis.models import CtfImport, OutsideReadKind
from mis.outside_reads import RecordsOutsideReads

from .reader import MAX_BYTES
from .selectors import CtfPreview, ctf_import_for_id, ctf_import_list, ctf_import_preview
from .services import MAX_EXPORT, ctf_export, ctf_file_too_large, ctf_import_run, ctf_upload
from .views import ADMINISTER, SEE, ctf_file_response

ERRORS = {403: ErrorSerializer, 404: ErrorSerializer}
TAGS = ["pupils arriving and leaving (school)"]
RECENT = 50


class RejectionSerializer(serializers.Serializer):
    where = serializers.CharField()
    element = serializers.CharField()
    reason = serializers.CharField()
    blocking = serializers.BooleanField(help_text="True: the file cannot be imported.")


class PreviewPupilSerializer(serializers.Serializer):
    upn = serializers.CharField(source="record.upn")
    legal_first_name = serializers.CharField(source="record.legal_first_name")
    legal_last_name = serializers.CharField(source="record.legal_last_name")
    date_of_birth = serializers.DateField(source="record.date_of_birth")
    year_group = serializers.IntegerField(source="record.year_group")
    match = serializers.ChoiceField(
        source="outcome",
        choices=["new", "same", "clash"],
        help_text="new: added; same: this school's pupil with the UPN, updated; clash: the "
        "UPN is someone else's here (blocks the import).",
    )
    existing_pupil = serializers.IntegerField(source="existing.pk", allow_null=True, default=None)
    clash_reason = serializers.CharField()


class CtfImportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    original_name = serializers.CharField()
    source_school = serializers.CharField()
    pupils_in_file = serializers.IntegerField()
    state = serializers.ChoiceField(choices=CtfImport.State.choices)
    uploaded_at = serializers.DateTimeField()
    imported_at = serializers.DateTimeField(allow_null=True)


class CtfPreviewSerializer(serializers.Serializer):
    file = CtfImportSerializer()
    version = serializers.CharField(source="preview.document.version")
    can_import = serializers.BooleanField(source="preview.can_import")
    refusal = serializers.CharField(source="preview.refusal")
    pupils = PreviewPupilSerializer(source="preview.matches", many=True)
    rejections = RejectionSerializer(source="preview.document.rejections", many=True)


def _preview_body(ctf_import: CtfImport, preview: CtfPreview) -> dict:
    return CtfPreviewSerializer({"file": ctf_import, "preview": preview}).data


class CtfImportListApiView(RecordsOutsideReads, SiteApiView):
    """The school's uploaded files (GET, latest 50), or upload one (POST, multipart
    ``file``): a file refused as a whole is a 400 naming why; otherwise 201 with its
    preview, and nothing imported yet."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE, "POST": ADMINISTER}
    outside_read = OutsideReadKind.CTF
    max_request_body_bytes = MAX_BYTES + 64 * 1024

    @extend_schema(
        operation_id="ctf_imports_list",
        tags=TAGS,
        responses={200: CtfImportSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        imports = list(ctf_import_list(site=request.site)[:RECENT])
        return Response(CtfImportSerializer(imports, many=True).data)

    @extend_schema(
        operation_id="ctf_imports_create",
        tags=TAGS,
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
        responses={201: CtfPreviewSerializer, 400: ErrorSerializer, **ERRORS},
    )
    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            raise exceptions.ValidationError(
                {"file": ["Send the CTF as the multipart field file."]}
            )
        too_large = ctf_file_too_large(upload.size)
        if too_large:
            raise exceptions.ValidationError({"file": [too_large]})
        try:
            ctf_import = ctf_upload(
                site=request.site,
                actor=actor_from_request(request),
                name=upload.name,
                data=upload.read(),
            )
        except DjangoValidationError as error:
            raise validation_error(error) from None
        preview = ctf_import_preview(site=request.site, ctf_import=ctf_import)
        return Response(_preview_body(ctf_import, preview), status=status.HTTP_201_CREATED)


class CtfImportApiView(RecordsOutsideReads, SiteApiView):
    """A file's preview: each pupil new, the same pupil (updated) or a UPN clash, and every
    element refused with its reason."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE}
    outside_read = OutsideReadKind.CTF

    @extend_schema(
        operation_id="ctf_imports_retrieve",
        tags=TAGS,
        responses={200: CtfPreviewSerializer, **ERRORS},
    )
    def get(self, request, import_id: int):
        ctf_import = ctf_import_for_id(site=request.site, import_id=import_id)
        preview = ctf_import_preview(site=request.site, ctf_import=ctf_import)
        return Response(_preview_body(ctf_import, preview))


class CtfImportRunApiView(SiteApiView):
    """Import a previewed file, all or nothing: 400 with the reason (and nothing changed)
    when any pupil is refused or clashes, or when it was already imported."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"POST": ADMINISTER}

    class CtfImportRunInputSerializer(serializers.Serializer):
        enrolled_on = serializers.DateField(help_text="The new pupils' admission date.")

    @extend_schema(
        operation_id="ctf_imports_import",
        tags=TAGS,
        request=CtfImportRunInputSerializer,
        responses={200: CtfPreviewSerializer, 400: ErrorSerializer, **ERRORS},
    )
    def post(self, request, import_id: int):
        ctf_import = ctf_import_for_id(site=request.site, import_id=import_id)
        data = self.CtfImportRunInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            preview = ctf_import_run(
                site=request.site,
                ctf_import=ctf_import,
                enrolled_on=data.validated_data["enrolled_on"],
                actor=actor_from_request(request),
            )
        except DjangoValidationError as error:
            raise validation_error(error) from None
        ctf_import = ctf_import_for_id(site=request.site, import_id=import_id)
        return Response(_preview_body(ctf_import, preview))


class CtfExportApiView(SiteApiView):
    """A CTF (version 25.0 XML) of the school's chosen pupils, audited. An id that is not
    one of the school's pupils is a 404."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"POST": ADMINISTER}

    class CtfExportInputSerializer(serializers.Serializer):
        pupils = serializers.ListField(
            child=serializers.IntegerField(), min_length=1, max_length=MAX_EXPORT
        )

    @extend_schema(
        operation_id="ctf_export",
        tags=TAGS,
        request=CtfExportInputSerializer,
        responses={
            (200, "application/xml"): OpenApiResponse(OpenApiTypes.BINARY, description="The CTF."),
            400: ErrorSerializer,
            **ERRORS,
        },
    )
    def post(self, request):
        data = self.CtfExportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            name, body = ctf_export(
                site=request.site,
                pupil_ids=data.validated_data["pupils"],
                actor=actor_from_request(request),
            )
        except DjangoValidationError as error:
            raise validation_error(error, rename={"pupil": "pupils"}) from None
        return ctf_file_response(name, body)
