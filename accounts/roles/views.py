"""Business roles pages (Staff > Business roles) and “Check access to a page”.

Holders of “User Details: Manage All Users” at View may look; changing a role needs it at
Administer. A role id of another site is the same 404 as one that does not exist.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.audit import actor_from_request
from accounts.models import BusinessRole
from accounts.permissions import USER_DETAILS, Access, request_has_permission
from accounts.staff.services import roles_ensure_defaults
from matmis.site_access import ANY_SITE
from matmis.views import SitePageView

from .access_check import page_access
from .forms import AccessCheckForm, RoleGrantsForm, RoleNameForm, grant_field_name
from .selectors import (
    active_people,
    grant_words,
    grouped,
    role_for_id,
    role_grant_lines,
    role_holders,
    role_list,
)
from .services import role_create, role_grants_set, role_reinstate, role_rename, role_retire

MANAGE_ROLES = (USER_DETAILS, Access.ADMINISTER)
SEE_ROLES = (USER_DETAILS, Access.VIEW)


def _may_manage(request: HttpRequest) -> bool:
    return request_has_permission(request, *MANAGE_ROLES)


class RoleListView(SitePageView):
    """/staff/roles/: every role of the site with its number of current holders; retired
    roles apart."""

    site_kind = ANY_SITE
    method_permissions = {"GET": SEE_ROLES}

    def get(self, request: HttpRequest) -> HttpResponse:
        roles_ensure_defaults(site=request.site)  # a new site's standard roles, once
        roles = list(role_list(site=request.site))
        return render(
            request,
            "accounts/roles/list.html",
            {
                "roles": [role for role in roles if not role.is_retired],
                "retired": [role for role in roles if role.is_retired],
                "can_manage": _may_manage(request),
            },
        )


class RoleCreateView(SitePageView):
    """/staff/roles/new/: a new role, named; its permissions are set on its page next."""

    site_kind = ANY_SITE
    method_permissions = {"GET": MANAGE_ROLES, "POST": MANAGE_ROLES}

    def _render(self, request, form) -> HttpResponse:
        return render(request, "accounts/roles/create.html", {"form": form})

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, RoleNameForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = RoleNameForm(request.POST)
        if form.is_valid():
            try:
                role = role_create(
                    site=request.site,
                    name=form.cleaned_data["name"],
                    actor=actor_from_request(request),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    f"Role “{role.name}” created. It grants nothing until you choose "
                    "its permissions below.",
                )
                return redirect("roles:detail", role_id=role.pk)
        return self._render(request, form)


def _grants_forms(request, role: BusinessRole, data=None) -> list[RoleGrantsForm]:
    site = request.site
    forms = [
        RoleGrantsForm(
            data, lines=role_grant_lines(site=site, role=role, in_school=False), in_school=False
        )
    ]
    if site.is_group:
        forms.append(
            RoleGrantsForm(
                data, lines=role_grant_lines(site=site, role=role, in_school=True), in_school=True
            )
        )
    return forms


def _role_page(
    request: HttpRequest,
    role: BusinessRole,
    *,
    name_form: RoleNameForm | None = None,
    grants_forms: list[RoleGrantsForm] | None = None,
    problems: list[str] | None = None,
) -> HttpResponse:
    grants_forms = grants_forms or _grants_forms(request, role)
    sections = [
        {
            "form": form,
            "in_school": form.in_school,
            "groups": [
                (
                    group.subject,
                    [
                        (line, form[grant_field_name(line.code, in_school=form.in_school)])
                        for line in group.lines
                    ],
                )
                for group in grouped(form.lines)
            ],
        }
        for form in grants_forms
    ]
    return render(
        request,
        "accounts/roles/detail.html",
        {
            "role": role,
            "name_form": name_form or RoleNameForm(initial={"name": role.name}),
            "sections": sections,
            "problems": problems or [],
            "holders": role_holders(site=request.site, role=role),
            "grants": list(grant_words(role)),
            "in_school_grants": list(grant_words(role, in_school=True)),
            "can_manage": _may_manage(request),
        },
    )


class RoleDetailView(SitePageView):
    """/staff/roles/<id>/: the role, who holds it, and Off / View / Administer for each
    permission (and, on a group site, its in-school set); saving needs Administer."""

    site_kind = ANY_SITE
    method_permissions = {"GET": SEE_ROLES, "POST": MANAGE_ROLES}

    def get(self, request: HttpRequest, role_id: int) -> HttpResponse:
        return _role_page(request, role_for_id(site=request.site, role_id=role_id))

    def post(self, request: HttpRequest, role_id: int) -> HttpResponse:
        role = role_for_id(site=request.site, role_id=role_id)
        forms = _grants_forms(request, role, request.POST)
        if not all(form.is_valid() for form in forms):
            return _role_page(request, role, grants_forms=forms)
        levels = {("in_school" if form.in_school else "grants"): form.levels() for form in forms}
        try:
            change = role_grants_set(role=role, actor=actor_from_request(request), **levels)
        except ValidationError as error:
            return _role_page(request, role, grants_forms=forms, problems=error.messages)
        if change:
            count = sum(len(codes) for codes in change["after"].values())
            messages.success(
                request,
                f"Permissions of “{role.name}” saved: {count} "
                f"{'change' if count == 1 else 'changes'}. Its holders get them on their next "
                "page.",
            )
        else:
            messages.info(request, f"No change to the permissions of “{role.name}”.")
        return redirect("roles:detail", role_id=role.pk)


class RoleRenameView(SitePageView):
    site_kind = ANY_SITE
    method_permissions = {"POST": MANAGE_ROLES}

    def post(self, request: HttpRequest, role_id: int) -> HttpResponse:
        role = role_for_id(site=request.site, role_id=role_id)
        form = RoleNameForm(request.POST)
        if form.is_valid():
            before = role.name
            try:
                changed = role_rename(
                    role=role, name=form.cleaned_data["name"], actor=actor_from_request(request)
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                role = role_for_id(site=request.site, role_id=role.pk)
                if changed:
                    messages.success(request, f"“{before}” renamed “{role.name}”.")
                else:
                    messages.info(request, f"No change: the role is still called “{role.name}”.")
                return redirect("roles:detail", role_id=role.pk)
        return _role_page(request, role, name_form=form)


class RoleRetireView(SitePageView):
    """Retire a role: it grants nothing from now on and cannot be newly given."""

    site_kind = ANY_SITE
    method_permissions = {"POST": MANAGE_ROLES}

    def post(self, request: HttpRequest, role_id: int) -> HttpResponse:
        role = role_for_id(site=request.site, role_id=role_id)
        try:
            changed = role_retire(role=role, actor=actor_from_request(request))
        except ValidationError as error:
            return _role_page(request, role, problems=error.messages)
        if changed:
            messages.success(
                request,
                f"“{role.name}” is retired: it grants nothing from now on and cannot be given "
                "to anyone. You can reinstate it.",
            )
        else:
            messages.info(request, f"“{role.name}” was already retired.")
        return redirect("roles:detail", role_id=role.pk)


class RoleReinstateView(SitePageView):
    site_kind = ANY_SITE
    method_permissions = {"POST": MANAGE_ROLES}

    def post(self, request: HttpRequest, role_id: int) -> HttpResponse:
        role = role_for_id(site=request.site, role_id=role_id)
        if role_reinstate(role=role, actor=actor_from_request(request)):
            messages.success(
                request, f"“{role.name}” is reinstated: its holders have its permissions again."
            )
        else:
            messages.info(request, f"“{role.name}” was not retired.")
        return redirect("roles:detail", role_id=role.pk)


class AccessCheckView(SitePageView):
    """/staff/roles/check-access/: paste an address of this site and choose a person: may they
    open it, and which permission decides?"""

    site_kind = ANY_SITE
    method_permissions = {"GET": SEE_ROLES}

    def get(self, request: HttpRequest) -> HttpResponse:
        people = list(active_people(site=request.site))
        asked = "url" in request.GET or "person" in request.GET
        form = AccessCheckForm(request.GET if asked else None, people=people)
        result = None
        if asked and form.is_valid():
            result = page_access(
                site=request.site,
                host=request.get_host(),
                url=form.cleaned_data["url"],
                user=form.profile().user,
                urlconf=getattr(request, "urlconf", None),
            )
        return render(
            request,
            "accounts/roles/check_access.html",
            {"form": form, "result": result, "person": form.profile() if result else None},
        )
