"""Staff pages: the list, a person's profile, their roles, what they may do and, on a group
site, the schools they are associated with.

Anyone on the site sees the list and the profiles; changing roles and associations needs
“User Details: Manage All Users” at Administer; “What can this person do” needs it at View
(or is one's own). An id of another site's profile, role, school or cluster gets the same
404 or error as one that does not exist.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.audit import actor_from_request
from accounts.models import StaffProfile
from accounts.permissions import REGISTRY, USER_DETAILS, Access, request_has_permission
from institutions.selectors import cluster_list, group_school_for_urn
from matmis.exports import ExportPage, export_links, export_response
from matmis.listing import list_page
from matmis.site_access import ANY_SITE, SiteKind
from matmis.views import SitePageView

from .exports import staff_table
from .forms import (
    AssociationAllForm,
    AssociationClustersForm,
    AssociationSchoolsForm,
    RoleAssignmentsForm,
    RoleRow,
    StaffSearchForm,
)
from .onboarding_selectors import deactivated_staff, invitation_rows
from .selectors import (
    AssociationSummary,
    HeldRole,
    association_candidates,
    association_detail,
    directory_association_summary,
    held_roles,
    permission_summary,
    site_roles,
    staff_directory,
    staff_profile_for,
    staff_profile_for_id,
)
from .services import (
    RoleAssignmentsChange,
    association_add_schools,
    association_remove_school,
    association_set_all,
    association_set_clusters,
    role_assignments_set,
    roles_ensure_defaults,
)

STAFF_PAGE_SIZE = 50
MANAGE_STAFF = (USER_DETAILS, Access.ADMINISTER)
SEE_STAFF_PERMISSIONS = (USER_DETAILS, Access.VIEW)


def _may_manage_staff(request: HttpRequest) -> bool:
    return request_has_permission(request, *MANAGE_STAFF)


def _may_see_permissions(request: HttpRequest, profile: StaffProfile) -> bool:
    return profile.user_id == request.user.pk or request_has_permission(
        request, *SEE_STAFF_PERMISSIONS
    )


def _names(items) -> str:
    names = [f"“{item}”" for item in items]
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


# --- The list --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffRow:
    profile: StaffProfile
    roles: list[HeldRole]
    associations: AssociationSummary | None


class StaffListView(SitePageView):
    """/staff/: the site's staff, searched by name or email, 50 a page."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None}

    def get(self, request: HttpRequest) -> HttpResponse:
        site = request.site
        form = StaffSearchForm(request.GET)
        search = form.search()
        page = list_page(
            request, staff_directory(site=site, search=search), per_page=STAFF_PAGE_SIZE
        )
        paginator = page.paginator
        rows = [
            StaffRow(
                profile,
                held_roles(profile),
                directory_association_summary(profile) if site.is_group else None,
            )
            for profile in page.object_list
        ]
        query = request.GET.copy()
        query.pop("page", None)
        can_manage = _may_manage_staff(request)
        onboarding = can_manage and not search and page.number == 1
        return render(
            request,
            "accounts/staff/list.html",
            {
                "form": form,
                "search": search,
                "page": page,
                "rows": rows,
                "page_range": paginator.get_elided_page_range(
                    page.number, on_each_side=1, on_ends=1
                ),
                "query": query.urlencode(),
                "can_manage": can_manage,
                "exports": export_links("staff:list-export", query),
                # Onboarding (managers only): invitations not yet accepted, and deactivated
                # staff, on the first page of the unsearched list.
                "invitations": invitation_rows(site=site) if onboarding else [],
                "deactivated": (
                    [(p, held_roles(p)) for p in deactivated_staff(site=site)] if onboarding else []
                ),
            },
        )


class StaffExportView(ExportPage, SitePageView):
    """/staff/export.csv and .xlsx: everyone the Staff page lists for the same search."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None}

    def get(self, request: HttpRequest) -> HttpResponse:
        search = StaffSearchForm(request.GET).search()
        table = staff_table(site=request.site, search=search)
        return export_response(table, site=request.site, export_format=self.export_format)


# --- One person ------------------------------------------------------------------------------


class StaffProfileView(SitePageView):
    """/staff/<id>/: the person, their roles and (group sites) associations."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None}

    def get(self, request: HttpRequest, profile_id: int) -> HttpResponse:
        site = request.site
        profile = staff_profile_for_id(site=site, profile_id=profile_id)
        return render(
            request,
            "accounts/staff/profile.html",
            {
                "profile": profile,
                "person": profile.user,
                "roles": held_roles(profile),
                "associations": (
                    association_detail(group=site, profile=profile) if site.is_group else None
                ),
                "can_manage": _may_manage_staff(request),
                "can_see_permissions": _may_see_permissions(request, profile),
                "is_self": profile.user_id == request.user.pk,
            },
        )


@dataclass(frozen=True)
class RoleChoice:
    """A role on the Assign roles page with what it grants, in words."""

    row: RoleRow
    grants: list[str]
    in_school_grants: list[str]


def _grant_words(grants, *, in_school: bool) -> list[str]:
    return [
        f"{REGISTRY[grant.code].label} ({Access(grant.access).label})"
        for grant in grants
        if grant.in_school == in_school and grant.code in REGISTRY
    ]


def _roles_message(change: RoleAssignmentsChange, name: str) -> str:
    if not change.changed:
        return f"No change to {name}’s roles."
    parts = []
    if change.assigned:
        parts.append(f"{_names(change.assigned)} given")
    if change.removed:
        parts.append(f"{_names(change.removed)} removed")
    if change.redated:
        parts.append(f"new dates for {_names(change.redated)}")
    text = "; ".join(parts)
    return f"Roles of {name} saved: {text}."


class StaffRolesView(SitePageView):
    """/staff/<id>/roles/: tick the roles a person holds, each optionally between dates."""

    site_kind = ANY_SITE
    method_permissions = {"GET": MANAGE_STAFF, "POST": MANAGE_STAFF}
    template_name = "accounts/staff/roles.html"

    def _form(self, request: HttpRequest, profile: StaffProfile, data=None):
        roles_ensure_defaults(site=request.site)
        held = {a.role_id: (a.starts_on, a.ends_on) for a in profile.held_assignments}
        # A retired role cannot be newly given: offered only to whoever still holds it.
        roles = site_roles(site=request.site).filter(
            Q(retired_at__isnull=True) | Q(pk__in=list(held))
        )
        return RoleAssignmentsForm(data, roles=roles, held=held)

    def _render(self, request: HttpRequest, profile: StaffProfile, form) -> HttpResponse:
        choices = [
            RoleChoice(
                row,
                _grant_words(row.role.grants.all(), in_school=False),
                _grant_words(row.role.grants.all(), in_school=True),
            )
            for row in form.rows
        ]
        return render(
            request,
            self.template_name,
            {
                "profile": profile,
                "person": profile.user,
                "form": form,
                "choices": choices,
                "is_self": profile.user_id == request.user.pk,
            },
        )

    def get(self, request: HttpRequest, profile_id: int) -> HttpResponse:
        profile = staff_profile_for_id(site=request.site, profile_id=profile_id)
        return self._render(request, profile, self._form(request, profile))

    def post(self, request: HttpRequest, profile_id: int) -> HttpResponse:
        profile = staff_profile_for_id(site=request.site, profile_id=profile_id)
        form = self._form(request, profile, request.POST)
        if form.is_valid():
            try:
                change = role_assignments_set(
                    profile=profile,
                    assignments=form.assignments(),
                    actor=actor_from_request(request),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _roles_message(change, profile.user.display_name))
                return redirect("staff:profile", profile_id=profile.pk)
        return self._render(request, profile, form)


class StaffPermissionsView(SitePageView):
    """/staff/<id>/permissions/: what a person may do here, and which roles give it.

    Needs “User Details: Manage All Users” at View, except for one's own profile. Without
    it, every id gets the same 403, so nothing is learnt about who works here.
    """

    site_kind = ANY_SITE
    method_permissions = {"GET": None}

    def get(self, request: HttpRequest, profile_id: int) -> HttpResponse:
        site = request.site
        if not request_has_permission(request, *SEE_STAFF_PERMISSIONS):
            own = staff_profile_for(site=site, user=request.user)
            if own is None or str(own.pk) != str(profile_id):
                code, access = SEE_STAFF_PERMISSIONS
                return render(
                    request,
                    "403.html",
                    {
                        "message": (
                            "You can see what you yourself may do. Seeing it for someone else "
                            f"needs the permission “{REGISTRY[code].label}” at {access.label}."
                        )
                    },
                    status=403,
                )
        profile = staff_profile_for_id(site=site, profile_id=profile_id, with_roles=False)
        summary = permission_summary(site=site, profile=profile)
        return render(
            request,
            "accounts/staff/permissions.html",
            {
                "profile": profile,
                "person": profile.user,
                "summary": summary,
                "is_self": profile.user_id == request.user.pk,
                "can_manage": _may_manage_staff(request),
            },
        )


# --- Associations (group sites) --------------------------------------------------------------


def _group_profile(request: HttpRequest, profile_id: int) -> StaffProfile:
    return staff_profile_for_id(site=request.site, profile_id=profile_id)


def _associations_page(
    request: HttpRequest,
    profile: StaffProfile,
    *,
    all_form: AssociationAllForm | None = None,
    schools_form: AssociationSchoolsForm | None = None,
    clusters_form: AssociationClustersForm | None = None,
    problems: list[str] | None = None,
) -> HttpResponse:
    group = request.site
    detail = association_detail(group=group, profile=profile)
    search_form = StaffSearchForm(request.GET)
    search = search_form.search()
    if clusters_form is not None and clusters_form.is_bound:
        chosen_clusters = {str(pk) for pk in clusters_form.data.getlist("clusters")}
    else:
        chosen_clusters = {str(line.cluster.pk) for line in detail.clusters}
    if schools_form is not None and schools_form.is_bound:
        ticked = set(schools_form.data.getlist("schools"))
    else:
        ticked = set()
    return render(
        request,
        "accounts/staff/associations.html",
        {
            "profile": profile,
            "person": profile.user,
            "detail": detail,
            "all_form": all_form
            or AssociationAllForm(initial={"all_schools": "yes" if detail.all_schools else "no"}),
            "schools_form": schools_form,
            "clusters_form": clusters_form,
            "problems": problems or [],
            "search": search,
            "candidates": association_candidates(group=group, profile=profile, search=search),
            "ticked": ticked,
            "clusters": cluster_list(group=group),
            "chosen_clusters": chosen_clusters,
            "via_ids": {line.school.pk for line in detail.schools if line.via},
        },
    )


class _AssociationsBase(SitePageView):
    """A group staff member's associations: needs “User Details: Manage All Users” at
    Administer, to look as well as to change them."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": MANAGE_STAFF, "POST": MANAGE_STAFF}


class StaffAssociationsView(_AssociationsBase):
    """/staff/<id>/associations/: all schools or not, the chosen schools (each removable
    unless a chosen cluster brings it), adding schools, and the chosen clusters."""

    def get(self, request: HttpRequest, profile_id: int) -> HttpResponse:
        return _associations_page(request, _group_profile(request, profile_id))


class AssociationAllView(_AssociationsBase):
    def post(self, request: HttpRequest, profile_id: int) -> HttpResponse:
        profile = _group_profile(request, profile_id)
        form = AssociationAllForm(request.POST)
        if not form.is_valid():
            return _associations_page(request, profile, all_form=form)
        all_schools = form.cleaned_data["all_schools"]
        changed = association_set_all(
            profile=profile, all_schools=all_schools, actor=actor_from_request(request)
        )
        name = profile.user.display_name
        if not changed:
            messages.info(request, f"No change: {name}’s associations are as they were.")
        elif all_schools:
            messages.success(
                request,
                f"{name} is now associated with all of {request.site.name}’s schools, "
                "including any that join later.",
            )
        else:
            messages.success(
                request,
                f"{name} is no longer associated with all schools: only the schools and "
                "clusters chosen below.",
            )
        return redirect("staff:associations", profile_id=profile.pk)


class AssociationAddSchoolsView(_AssociationsBase):
    def post(self, request: HttpRequest, profile_id: int) -> HttpResponse:
        profile = _group_profile(request, profile_id)
        form = AssociationSchoolsForm(request.POST, group=request.site)
        if form.is_valid():
            try:
                added = association_add_schools(
                    profile=profile,
                    schools=form.cleaned_data["schools"],
                    actor=actor_from_request(request),
                )
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                if added:
                    count = len(added)
                    messages.success(
                        request,
                        f"{count} school{'' if count == 1 else 's'} added: "
                        f"{', '.join(school.name for school in added)}.",
                    )
                else:
                    messages.info(request, "Those schools were already chosen: no change.")
                return redirect("staff:associations", profile_id=profile.pk)
        return _associations_page(request, profile, schools_form=form)


class AssociationRemoveSchoolView(_AssociationsBase):
    def post(self, request: HttpRequest, profile_id: int, urn: str) -> HttpResponse:
        profile = _group_profile(request, profile_id)
        school = group_school_for_urn(group=request.site, urn=urn)
        try:
            association_remove_school(
                profile=profile, school=school, actor=actor_from_request(request)
            )
        except ValidationError as error:
            return _associations_page(request, profile, problems=error.messages)
        messages.success(
            request, f"{school.name} removed from {profile.user.display_name}’s schools."
        )
        return redirect("staff:associations", profile_id=profile.pk)


class AssociationClustersView(_AssociationsBase):
    def post(self, request: HttpRequest, profile_id: int) -> HttpResponse:
        profile = _group_profile(request, profile_id)
        form = AssociationClustersForm(request.POST, group=request.site)
        if form.is_valid():
            try:
                change = association_set_clusters(
                    profile=profile,
                    clusters=form.cleaned_data["clusters"],
                    actor=actor_from_request(request),
                )
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                parts = []
                if change.clusters_added:
                    parts.append(f"added {_names(c.name for c in change.clusters_added)}")
                if change.clusters_removed:
                    parts.append(f"removed {_names(c.name for c in change.clusters_removed)}")
                if parts:
                    messages.success(request, f"Clusters saved: {'; '.join(parts)}.")
                else:
                    messages.info(request, "No change to the clusters.")
                return redirect("staff:associations", profile_id=profile.pk)
        return _associations_page(request, profile, clusters_form=form)
