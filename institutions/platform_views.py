"""Platform pages (bare base domain) for institutions: importing the national register.

Only platform staff see them: anonymous visitors are sent to the platform sign-in, any
other signed-in user gets the ordinary 404.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from matmis.listing import is_htmx, list_page
from matmis.site_access import SiteKind
from matmis.views import SitePageView

from . import platform_forms
from .models import RegisterImport
from .platform_forms import RegisterUploadForm
from .register_import import register_import_upload

# Room for the multipart envelope around a file of the largest size allowed.
_ENVELOPE_BYTES = 64 * 1024
IMPORTS_PER_PAGE = 25


class PlatformPageView(SitePageView):
    """A page of the bare base domain for platform staff (``is_staff``) only."""

    site_kind = SiteKind.PLATFORM
    method_permissions = {"GET": None}


class RegisterImportListView(PlatformPageView):
    """Past imports with their outcome, and the form to upload a new export.

    The CSRF check runs in ``post``, after the size check: the CSRF middleware reads the
    body to find the form's token, so it would store a huge upload before refusing it.
    """

    method_permissions = {"GET": None, "POST": None}
    view_decorators = (csrf_exempt,)
    template_name = "institutions/platform/import_list.html"
    max_request_body_bytes = None  # post() refuses a too-large upload before reading it

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, RegisterUploadForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > platform_forms.MAX_UPLOAD_BYTES + _ENVELOPE_BYTES:
            # Refused before the body is read, so a huge upload is never even stored.
            return self._render(request, RegisterUploadForm.refused_as_too_large(), status=400)
        return self._upload(request)

    @method_decorator(csrf_protect)
    def _upload(self, request: HttpRequest) -> HttpResponse:
        form = RegisterUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(request, form, status=400)
        record = register_import_upload(upload=form.cleaned_data["file"], uploaded_by=request.user)
        messages.success(request, f"{record.original_name} was uploaded and is being imported.")
        return redirect("register-import", pk=record.pk)

    def _render(self, request: HttpRequest, form: RegisterUploadForm, status: int = 200):
        imports = RegisterImport.objects.select_related("uploaded_by").defer("rejections")
        page = list_page(request, imports, per_page=IMPORTS_PER_PAGE)
        return render(
            request,
            self.template_name,
            {"form": form, "page": page, "max_upload": platform_forms.MAX_UPLOAD_LABEL},
            status=status,
        )


class RegisterImportDetailView(PlatformPageView):
    """One import: progress while it runs (refreshed by htmx every 2 s, or by the Refresh
    link without JavaScript), then its counts and the rows it rejected."""

    template_name = "institutions/platform/import_detail.html"
    status_template_name = "institutions/platform/_import_status.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        record = get_object_or_404(RegisterImport.objects.select_related("uploaded_by"), pk=pk)
        response = render(
            request,
            self.status_template_name if is_htmx(request) else self.template_name,
            {"record": record, "rejections_kept": RegisterImport.REJECTIONS_KEPT},
        )
        patch_vary_headers(response, ["HX-Request"])
        return response
