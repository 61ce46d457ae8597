"""School site: Students > Common Transfer Files. Upload a file and see its preview (who
is new, who is already here, what is refused and why), import it all or nothing, and
download a CTF for one leaver or a chosen set. Reading needs Students at View (a hop's
reads are recorded for the school); uploading, importing and exporting need Students at
Administer."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.audit import actor_from_request
from accounts.permissions import STUDENTS, Access, request_has_permission
from matmis.site_access import SiteKind
from matmis.views import SitePageView
from mis.models import OutsideReadKind
from mis.outside_reads import RecordsOutsideReads

from .forms import MAX_UPLOAD_LABEL, CtfImportForm, CtfUploadForm
from .reader import MAX_BYTES
from .selectors import (
    ctf_export_leavers,
    ctf_import_for_id,
    ctf_import_list,
    ctf_import_preview,
)
from .services import ctf_export, ctf_import_run, ctf_upload

SEE = (STUDENTS, Access.VIEW)
ADMINISTER = (STUDENTS, Access.ADMINISTER)
RECENT_IMPORTS = 20


def pupil_ids_from(values: list[str]) -> list[int]:
    """Pupil ids from a query or form: a value that is not an id is a 404, as a missing
    pupil (the service checks them as a subset of the school's pupils)."""
    try:
        return [int(value) for value in values]
    except ValueError:
        raise Http404("No such pupil.") from None


class CtfImportListView(RecordsOutsideReads, SitePageView):
    """/students/ctf/: the upload form and the school's recent files; POST uploads a file
    (refused as a whole with its reason, or kept for its preview)."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE, "POST": ADMINISTER}
    outside_read = OutsideReadKind.CTF
    max_request_body_bytes = MAX_BYTES + 64 * 1024

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, CtfUploadForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CtfUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                ctf_import = ctf_upload(
                    site=request.site,
                    actor=actor_from_request(request),
                    name=upload.name,
                    data=upload.read(),
                )
            except ValidationError as error:
                for message in error.message_dict.get("file", error.messages):
                    form.add_error("file", message)
            else:
                return redirect("mis:ctf-import", import_id=ctf_import.pk)
        return self._render(request, form, status=400)

    def _render(self, request, form, status=200):
        return render(
            request,
            "mis/ctf/imports.html",
            {
                "form": form,
                "imports": list(ctf_import_list(site=request.site)[:RECENT_IMPORTS]),
                "leavers": list(ctf_export_leavers(site=request.site)),
                "max_upload": MAX_UPLOAD_LABEL,
                "may_administer": request_has_permission(request, *ADMINISTER),
            },
            status=status,
        )


class CtfImportView(RecordsOutsideReads, SitePageView):
    """/students/ctf/<id>/: a file's preview; POST imports it, all or nothing."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE, "POST": ADMINISTER}
    outside_read = OutsideReadKind.CTF

    def get(self, request: HttpRequest, import_id: int) -> HttpResponse:
        ctf_import = ctf_import_for_id(site=request.site, import_id=import_id)
        return self._render(request, ctf_import, CtfImportForm())

    def post(self, request: HttpRequest, import_id: int) -> HttpResponse:
        ctf_import = ctf_import_for_id(site=request.site, import_id=import_id)
        form = CtfImportForm(request.POST)
        if form.is_valid():
            try:
                preview = ctf_import_run(
                    site=request.site,
                    ctf_import=ctf_import,
                    enrolled_on=form.cleaned_data["enrolled_on"],
                    actor=actor_from_request(request),
                )
            except ValidationError as error:
                form.add_error(None, " ".join(error.messages))
            else:
                messages.success(
                    request,
                    f"Imported {ctf_import.original_name}: {len(preview.new)} new pupil"
                    f"{'s' if len(preview.new) != 1 else ''}, {len(preview.same)} updated.",
                )
                return redirect("mis:ctf-import", import_id=ctf_import.pk)
        return self._render(request, ctf_import, form, status=400)

    def _render(self, request, ctf_import, form, status=200):
        return render(
            request,
            "mis/ctf/import.html",
            {
                "ctf_import": ctf_import,
                "preview": ctf_import_preview(site=request.site, ctf_import=ctf_import),
                "form": form,
                "may_administer": request_has_permission(request, *ADMINISTER),
            },
            status=status,
        )


class CtfExportView(SitePageView):
    """/students/ctf/export/ (POST, ``pupil`` once per pupil): the CTF of the chosen pupils
    to download, audited; a POST, since it writes the audit trail. Students at Administer:
    the file is the pupils' whole record."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"POST": ADMINISTER}

    def post(self, request: HttpRequest) -> HttpResponse:
        ids = pupil_ids_from(request.POST.getlist("pupil"))
        try:
            name, data = ctf_export(
                site=request.site, pupil_ids=ids, actor=actor_from_request(request)
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("mis:ctf-imports")
        return ctf_file_response(name, data)


def ctf_file_response(name: str, data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
