"""School site: registration groups and their registers.

/registers/ lists the day's registers of every group (taken, part taken, not taken);
/registers/<group>/ is one register (``?date=`` and ``?session=``; today's and the
current session's by default): each pupil's mark, chosen by keyboard from a list of every
DfE code with its meaning, saved in one go (htmx swaps the register in place; without
JavaScript the form posts and the page comes back). A mark already taken changes only with
a reason, and every amendment is shown under the register. /registration-groups/ lists and
creates groups; a group's page shows its pupils and teachers and edits them.
/registers/settings/ sets when the school's registers close.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from accounts.audit import actor_from_request
from accounts.permissions import request_has_permission
from matmis.listing import wants_fragment
from matmis.site_access import SiteKind
from matmis.views import SitePageView

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
    code_groups,
    group_pupils,
    register_for,
    registration_group_for_id,
    registration_group_list,
    staff_choices,
)
from .roll_forms import (
    RegisterSessionForm,
    RegisterSettingsForm,
    RegistrationGroupForm,
    posted_marks,
)
from .services.groups import registration_group_change, registration_group_create
from .services.registers import (
    register_marks_save,
    register_settings,
    register_settings_change,
)
from .views import MANAGE_PUPILS


class RegistersView(SitePageView):
    """/registers/: the day's registers, one row per group with how many of its pupils
    are marked AM and PM."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_REGISTERS}

    def get(self, request: HttpRequest) -> HttpResponse:
        now = timezone.localtime()
        form = RegisterSessionForm(request.GET, now=now)
        day = form.cleaned_data["date"] if form.is_valid() else now.date()
        settings_row = register_settings(site=request.site)
        return render(
            request,
            "mis/registers.html",
            {
                "form": form,
                "day": day,
                "today": now.date(),
                "groups": registration_group_list(site=request.site, day=day),
                "settings": settings_row,
                "may_manage_settings": request_has_permission(request, *MANAGE_REGISTER_SETTINGS),
            },
        )


def register_url(group, day, session) -> str:
    query = urlencode({"date": day.isoformat(), "session": session})
    return reverse("mis:register", kwargs={"group_id": group.pk}) + "?" + query


def _register_page(request, group, form, *, errors=None, status=200, saved=None, posted=None):
    """The register page (or its fragment for htmx); after a refused save, ``posted`` (the
    codes and reasons sent) keeps what the person chose."""
    posted = posted or ({}, {})
    day, session = form.cleaned_data["date"], form.cleaned_data["session"]
    register = register_for(site=request.site, group=group, day=day, session=session)
    context = {
        "register": register,
        "lines": [
            (
                row,
                (errors or {}).get(f"pupil_{row.pupil.pk}", []),
                posted[0].get(row.pupil.pk, ""),
                posted[1].get(row.pupil.pk, ""),
            )
            for row in register.rows
        ],
        "code_groups": code_groups(),
        "may_take": request_may_take_register(request, group),
        "errors": errors or {},
        "error_list": _error_list(errors or {}, register),
        "saved": saved,
        "today": timezone.localdate(),
        "action": register_url(group, day, session),
    }
    if wants_fragment(request):
        # htmx swaps only a success: a refused save comes back as a fragment with its
        # error summary, status 200, in place of the register.
        return render(request, "mis/_register.html", context, status=200)
    return render(request, "mis/register.html", context, status=status)


def _error_list(errors: dict, register) -> list[tuple[str, str]]:
    """(anchor, message) for the error summary, naming the pupil of each row."""
    names = {f"pupil_{row.pupil.pk}": row.pupil.name for row in register.rows}
    return [
        (
            f"mark-{key.removeprefix('pupil_')}" if key in names else "register",
            (f"{names[key]}: {message}" if key in names else message),
        )
        for key, messages_ in errors.items()
        for message in messages_
    ]


class RegisterView(RecordsOutsideReads, SitePageView):
    """/registers/<group_id>/: one register; POST saves its marks (the group's teachers and
    staff with Attendance at Administer)."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_REGISTERS, "POST": TAKE_REGISTERS}
    outside_read = OutsideReadKind.REGISTER

    def get(self, request: HttpRequest, group_id: int) -> HttpResponse:
        group = registration_group_for_id(site=request.site, group_id=group_id)
        form = RegisterSessionForm(request.GET, now=timezone.localtime())
        if not form.is_valid():
            form = RegisterSessionForm({}, now=timezone.localtime())
            form.is_valid()
        return _register_page(request, group, form)

    def post(self, request: HttpRequest, group_id: int) -> HttpResponse:
        group = registration_group_for_id(site=request.site, group_id=group_id)
        form = RegisterSessionForm(request.GET, now=timezone.localtime())
        if not form.is_valid():
            fallback = RegisterSessionForm({}, now=timezone.localtime())
            fallback.is_valid()
            errors = {name: list(msgs) for name, msgs in form.errors.items()}
            return _register_page(request, group, fallback, errors=errors, status=400)
        if not request_may_take_register(request, group):
            return _register_page(
                request, group, form, errors={"register": [REFUSED_TAKING]}, status=403
            )
        codes, reasons = posted_marks(request.POST)
        try:
            saved = register_marks_save(
                group=group,
                day=form.cleaned_data["date"],
                session=form.cleaned_data["session"],
                codes=codes,
                reasons=reasons,
                actor=actor_from_request(request),
            )
        except ValidationError as error:
            errors = (
                error.message_dict if hasattr(error, "error_dict") else {"register": error.messages}
            )
            return _register_page(
                request, group, form, errors=errors, status=400, posted=(codes, reasons)
            )
        if wants_fragment(request):
            return _register_page(request, group, form, saved=saved)
        messages.success(request, saved.message)
        return redirect(
            register_url(group, form.cleaned_data["date"], form.cleaned_data["session"])
        )


class RegisterSettingsView(SitePageView):
    """/registers/settings/: when the school's morning and afternoon registers close."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_REGISTERS, "POST": MANAGE_REGISTER_SETTINGS}

    def get(self, request: HttpRequest) -> HttpResponse:
        current = register_settings(site=request.site)
        form = RegisterSettingsForm(
            initial={
                "am_closes_at": current.am_closes_at.strftime("%H:%M"),
                "pm_closes_at": current.pm_closes_at.strftime("%H:%M"),
            }
        )
        return self._page(request, form)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = RegisterSettingsForm(request.POST)
        if form.is_valid():
            try:
                register_settings_change(
                    site=request.site,
                    am_closes_at=form.cleaned_data["am_closes_at"],
                    pm_closes_at=form.cleaned_data["pm_closes_at"],
                    actor=actor_from_request(request),
                )
            except ValidationError as error:
                for field, msgs in error.message_dict.items():
                    for message in msgs:
                        form.add_error(field, message)
            else:
                messages.success(request, "Register closing times saved.")
                return redirect("mis:registers")
        return self._page(request, form, status=400)

    def _page(self, request, form, status=200):
        return render(
            request,
            "mis/register_settings.html",
            {
                "form": form,
                "may_manage": request_has_permission(request, *MANAGE_REGISTER_SETTINGS),
            },
            status=status,
        )


class RegistrationGroupsView(SitePageView):
    """/registration-groups/: the school's groups with their teachers and pupil counts;
    POST creates one (Students at Administer)."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_GROUPS, "POST": MANAGE_PUPILS}

    def get(self, request: HttpRequest) -> HttpResponse:
        form = RegistrationGroupForm(staff_choices=staff_choices(site=request.site))
        return self._page(request, form)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = RegistrationGroupForm(request.POST, staff_choices=staff_choices(site=request.site))
        if form.is_valid():
            try:
                group = registration_group_create(
                    site=request.site,
                    name=form.cleaned_data["name"],
                    teacher_ids=form.cleaned_data["teachers"],
                    actor=actor_from_request(request),
                )
            except ValidationError as error:
                for field, msgs in error.message_dict.items():
                    for message in msgs:
                        form.add_error(field, message)
            else:
                messages.success(request, f"Registration group “{group.name}” created.")
                return redirect("mis:registration-group", group_id=group.pk)
        return self._page(request, form, status=400)

    def _page(self, request, form, status=200):
        return render(
            request,
            "mis/registration_groups.html",
            {
                "form": form,
                "groups": registration_group_list(site=request.site, day=timezone.localdate()),
                "may_manage": request_has_permission(request, *MANAGE_PUPILS),
            },
            status=status,
        )


class RegistrationGroupView(RecordsOutsideReads, SitePageView):
    """/registration-groups/<group_id>/: a group's pupils on roll and its teachers; POST
    renames it and sets its teachers (Students at Administer)."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_GROUPS, "POST": MANAGE_PUPILS}
    outside_read = OutsideReadKind.REGISTRATION_GROUP

    def get(self, request: HttpRequest, group_id: int) -> HttpResponse:
        group = registration_group_for_id(site=request.site, group_id=group_id)
        form = RegistrationGroupForm(
            initial={"name": group.name, "teachers": [t.pk for t in group.teacher_list]},
            staff_choices=staff_choices(site=request.site),
        )
        return self._page(request, group, form)

    def post(self, request: HttpRequest, group_id: int) -> HttpResponse:
        group = registration_group_for_id(site=request.site, group_id=group_id)
        form = RegistrationGroupForm(request.POST, staff_choices=staff_choices(site=request.site))
        if form.is_valid():
            try:
                registration_group_change(
                    group=group,
                    name=form.cleaned_data["name"],
                    teacher_ids=form.cleaned_data["teachers"],
                    actor=actor_from_request(request),
                )
            except ValidationError as error:
                for field, msgs in error.message_dict.items():
                    for message in msgs:
                        form.add_error(field, message)
            else:
                messages.success(request, "Registration group saved.")
                return redirect("mis:registration-group", group_id=group.pk)
        return self._page(request, group, form, status=400)

    def _page(self, request, group, form, status=200):
        return render(
            request,
            "mis/registration_group.html",
            {
                "group": group,
                "form": form,
                "pupils": group_pupils(site=request.site, group=group, day=timezone.localdate()),
                "may_manage": request_has_permission(request, *MANAGE_PUPILS),
            },
            status=status,
        )
