"""School site: adding a pupil to the roll, editing a pupil's record and readmitting a
pupil who left (Students at Administer). Each change is audited with before and after."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.audit import actor_from_request
from matmis.site_access import SiteKind
from matmis.views import SitePageView

from .register_selectors import registration_group_choices
from .roll_forms import PupilForm, ReadmitForm
from .selectors import pupil_for_id
from .services.pupils import details_of, pupil_add, pupil_edit, pupil_readmit
from .views import MANAGE_PUPILS


def _add_errors(form, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, msgs in error.message_dict.items():
        for message in msgs:
            form.add_error(field if field in form.fields else None, message)


class PupilManageView(SitePageView):
    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": MANAGE_PUPILS, "POST": MANAGE_PUPILS}


class PupilAddView(PupilManageView):
    """/students/new/: add a pupil to the roll."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form = PupilForm(
            initial={"enrolled_on": timezone.localdate().isoformat()},
            group_choices=registration_group_choices(site=request.site),
        )
        return _pupil_form_page(request, form, pupil=None)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PupilForm(request.POST, group_choices=registration_group_choices(site=request.site))
        if form.is_valid():
            try:
                pupil = pupil_add(
                    site=request.site,
                    details=form.details(),
                    actor=actor_from_request(request),
                    today=timezone.localdate(),
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, f"{pupil.name} added to the roll (UPN {pupil.upn}).")
                return redirect("mis:pupil", pupil_id=pupil.pk)
        return _pupil_form_page(request, form, pupil=None, status=400)


class PupilEditView(PupilManageView):
    """/students/<pupil_id>/edit/: change a pupil's record."""

    def get(self, request: HttpRequest, pupil_id: int) -> HttpResponse:
        pupil = pupil_for_id(site=request.site, pupil_id=pupil_id, today=timezone.localdate())
        details = details_of(pupil)
        initial = {
            **details.__dict__,
            "upn": "" if details.temporary_upn else details.upn,
            "date_of_birth": details.date_of_birth.isoformat(),
            "enrolled_on": details.enrolled_on.isoformat(),
        }
        form = PupilForm(
            initial=initial, group_choices=registration_group_choices(site=request.site)
        )
        return _pupil_form_page(request, form, pupil=pupil)

    def post(self, request: HttpRequest, pupil_id: int) -> HttpResponse:
        pupil = pupil_for_id(site=request.site, pupil_id=pupil_id, today=timezone.localdate())
        form = PupilForm(request.POST, group_choices=registration_group_choices(site=request.site))
        if form.is_valid():
            try:
                pupil_edit(
                    pupil=pupil,
                    details=form.details(),
                    actor=actor_from_request(request),
                    today=timezone.localdate(),
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, f"{pupil.name}’s record saved.")
                return redirect("mis:pupil", pupil_id=pupil.pk)
        return _pupil_form_page(request, form, pupil=pupil, status=400)


def _pupil_form_page(request, form, *, pupil, status=200):
    return render(request, "mis/pupil_form.html", {"form": form, "pupil": pupil}, status=status)


class PupilReadmitView(PupilManageView):
    """/students/<pupil_id>/readmit/: put a pupil who left back on the roll."""

    def get(self, request: HttpRequest, pupil_id: int) -> HttpResponse:
        pupil = pupil_for_id(site=request.site, pupil_id=pupil_id, today=timezone.localdate())
        form = ReadmitForm(initial={"readmitted_on": timezone.localdate().isoformat()})
        return self._page(request, pupil, form)

    def post(self, request: HttpRequest, pupil_id: int) -> HttpResponse:
        pupil = pupil_for_id(site=request.site, pupil_id=pupil_id, today=timezone.localdate())
        form = ReadmitForm(request.POST)
        if form.is_valid():
            try:
                pupil_readmit(
                    pupil=pupil,
                    readmitted_on=form.cleaned_data["readmitted_on"],
                    actor=actor_from_request(request),
                    today=timezone.localdate(),
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, f"{pupil.name} is back on the roll.")
                return redirect("mis:pupil", pupil_id=pupil.pk)
        return self._page(request, pupil, form, status=400)

    def _page(self, request, pupil, form, status=200):
        return render(
            request, "mis/pupil_readmit.html", {"form": form, "pupil": pupil}, status=status
        )
