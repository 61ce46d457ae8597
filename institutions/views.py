"""Pages of a group site about its schools: Browse Institutions, the institution page and
clusters. A school site has none of them (404)."""

import re
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers

from accounts.audit import actor_from_request
from accounts.permissions import INSTITUTION_DETAILS, Access, request_has_permission
from accounts.two_factor import session_is_verified
from analytics.selectors import national_figures, school_figures
from hop.services import hop_allowed
from matmis.listing import page_param, pagination, query_string, wants_fragment
from matmis.site_access import SiteKind
from matmis.views import SitePageView
from sharing.selectors import NO_SHARING, sharing_status, sharing_status_for_schools

from .browsing import browse_query, facet_groups, sortable_columns
from .forms import BrowseForm, ClusterNameForm, ClusterSchoolsForm
from .models import Cluster
from .selectors import (
    cluster_choices,
    cluster_for_id,
    cluster_list,
    cluster_schools,
    current_schools,
    group_school_facets,
    group_school_for_urn,
    group_school_list,
    group_school_type_names,
)
from .services import cluster_create, cluster_delete, cluster_rename, cluster_set_schools

PAGE_SIZE = 50
MANAGE_CLUSTERS = (INSTITUTION_DETAILS, Access.ADMINISTER)


class GroupPageView(SitePageView):
    """A page of a group site that any staff member of the group may see."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": None}


class GroupAdminView(SitePageView):
    """A page of a group site that needs Institution: Administer Institution Details."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": MANAGE_CLUSTERS, "POST": MANAGE_CLUSTERS}


def _may_manage_clusters(request: HttpRequest) -> bool:
    return request_has_permission(request, *MANAGE_CLUSTERS)


# --- Browse Institutions ------------------------------------------------------------------


class BrowseView(GroupPageView):
    """Search, filter and sort the group's schools. The whole view lives in the query
    string, so it can be bookmarked and shared; with htmx only the results are swapped."""

    def get(self, request: HttpRequest) -> HttpResponse:
        group = request.site
        clusters = list(cluster_choices(group=group))
        form = BrowseForm(
            request.GET, type_names=group_school_type_names(group=group), clusters=clusters
        )
        form.is_valid()  # unknown values are reported and left out; the rest still apply
        filters = form.filters()
        sort = form.sort_key()
        schools = group_school_list(group=group, sort=sort, **filters)
        page = Paginator(schools, PAGE_SIZE).get_page(request.GET.get("page"))
        # The data sharing column: one query for the page (sharing answers it).
        statuses = sharing_status_for_schools(
            group=group, school_ids=[school.pk for school in page.object_list]
        )
        for school in page.object_list:
            school.sharing = statuses.get(school.pk, NO_SHARING)
        query = browse_query(form)
        context = {
            "form": form,
            "facet_groups": facet_groups(form, group_school_facets(group=group, **filters)),
            "page": page,
            **pagination(query, page),
            "columns": sortable_columns(query, sort),
            "sort": form.cleaned_data.get("sort", ""),  # as asked for, kept by the form
            "search": filters["search"],
            "is_filtered": form.is_filtered(),
            "has_clusters": bool(clusters),
        }
        template = (
            "institutions/_browse_fragment.html"
            if wants_fragment(request)
            else "institutions/browse.html"
        )
        response = render(request, template, context)
        patch_vary_headers(response, ["HX-Request"])
        if wants_fragment(request):
            # The address bar shows the view as understood: no empty or unknown values.
            address = query_string(query, page=page_param(page.number))
            response["HX-Push-Url"] = request.path + (address if address != "?" else "")
        return response


# --- The institution page -------------------------------------------------------------------

_HTTP_URL = re.compile(r"^https?://[^\s/$.?#]\S*$", re.IGNORECASE)
_BARE_DOMAIN = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(?:/\S*)?$", re.IGNORECASE
)


def website_href(website: str) -> str | None:
    """A safe link for the register's website field: http(s) addresses as they are, a bare
    domain ("www.school.org.uk") over https; anything else is shown as text only."""
    value = website.strip()
    if _HTTP_URL.match(value):
        return value
    if _BARE_DOMAIN.match(value):
        return f"https://{value}"
    return None


def _label(key: str) -> str:
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _grade_text(value) -> str:
    if value is True:
        return "Met"
    if value is False:
        return "Not met"
    return _label(value) if isinstance(value, str) else str(value)


def report_card_rows(report_card) -> list[tuple[str, str]]:
    """Area grades of a report-card inspection as (area, grade), safeguarding last. The
    register's shape is kept loose: ``{"area": "grade", ..., "safeguarding": "met"}``,
    optionally with the areas under ``"areas"``."""
    if not isinstance(report_card, dict):
        return []
    areas = report_card.get("areas") if isinstance(report_card.get("areas"), dict) else {}
    rows = [(_label(k), _grade_text(v)) for k, v in areas.items()]
    safeguarding = []
    for key, value in report_card.items():
        if key == "areas" or isinstance(value, dict | list):
            continue
        row = (_label(key), _grade_text(value))
        (safeguarding if "safeguarding" in str(key).lower() else rows).append(row)
    return rows + safeguarding


class InstitutionDetailView(GroupPageView):
    def get(self, request: HttpRequest, urn: str) -> HttpResponse:
        school = group_school_for_urn(group=request.site, urn=urn)
        return render(
            request,
            "institutions/detail.html",
            {
                "school": school,
                # Published and live figures as the level allows (two queries).
                "figures": school_figures(group=request.site, school=school),
                "national": national_figures(group=request.site),
                "sharing": sharing_status(group=request.site, school=school),
                "website_href": website_href(school.website),
                "report_card": report_card_rows(school.ofsted_report_card),
                "hop_allowed": hop_allowed(
                    user=request.user,
                    group=request.site,
                    school=school,
                    session_verified=session_is_verified(request),
                ),
                "address_lines": [
                    line
                    for line in (
                        school.street,
                        school.locality,
                        school.address3,
                        school.town,
                        school.county,
                        school.postcode,
                    )
                    if line
                ],
            },
        )


# --- Clusters ----------------------------------------------------------------------------


class ClusterListView(GroupPageView):
    def get(self, request: HttpRequest) -> HttpResponse:
        return render(
            request,
            "institutions/cluster_list.html",
            {
                "clusters": cluster_list(group=request.site),
                "can_manage": _may_manage_clusters(request),
            },
        )


class ClusterCreateView(GroupAdminView):
    template_name = "institutions/cluster_form.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": ClusterNameForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ClusterNameForm(request.POST)
        if form.is_valid():
            try:
                cluster = cluster_create(
                    group=request.site,
                    name=form.cleaned_data["name"],
                    actor=actor_from_request(request),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request, f"Cluster “{cluster.name}” created. Now choose its schools."
                )
                return redirect("institutions:cluster", cluster_id=cluster.pk)
        return render(request, self.template_name, {"form": form})


def _cluster_page(
    request: HttpRequest,
    cluster: Cluster,
    *,
    name_form: ClusterNameForm | None = None,
    schools_form: ClusterSchoolsForm | None = None,
) -> HttpResponse:
    can_manage = _may_manage_clusters(request)
    members = list(cluster_schools(cluster=cluster))
    context = {
        "cluster": cluster,
        "can_manage": can_manage,
        "members": members,
        "browse_url": reverse("institutions:browse") + "?" + urlencode({"cluster": cluster.pk}),
    }
    if can_manage:
        if schools_form is not None and schools_form.is_bound:
            chosen = set(schools_form.data.getlist("schools"))
        else:
            chosen = {school.urn for school in members}
        context.update(
            name_form=name_form or ClusterNameForm(initial={"name": cluster.name}),
            schools_form=schools_form,
            candidates=current_schools(group=request.site).only(
                "pk", "urn", "name", "phase", "type_name", "town"
            ),
            chosen=chosen,
        )
    return render(request, "institutions/cluster_detail.html", context)


class ClusterDetailView(GroupPageView):
    def get(self, request: HttpRequest, cluster_id: int) -> HttpResponse:
        cluster = cluster_for_id(group=request.site, cluster_id=cluster_id)
        return _cluster_page(request, cluster)


class ClusterRenameView(GroupAdminView):
    def post(self, request: HttpRequest, cluster_id: int) -> HttpResponse:
        cluster = cluster_for_id(group=request.site, cluster_id=cluster_id)
        old_name = cluster.name
        form = ClusterNameForm(request.POST)
        if form.is_valid():
            try:
                cluster_rename(
                    cluster=cluster,
                    name=form.cleaned_data["name"],
                    actor=actor_from_request(request),
                )
            except ValidationError as error:
                form.add_error(None, error)
                cluster.name = old_name
            else:
                if cluster.name != old_name:
                    messages.success(request, f"Cluster “{old_name}” renamed to “{cluster.name}”.")
                return redirect("institutions:cluster", cluster_id=cluster.pk)
        return _cluster_page(request, cluster, name_form=form)


def _schools_message(added: int, removed: int, cluster: Cluster) -> str:
    if not added and not removed:
        return f"No change to the schools in “{cluster.name}”."
    schools = "school" if added == 1 else "schools"
    return f"{added} {schools} added, {removed} removed."


class ClusterSchoolsView(GroupAdminView):
    def post(self, request: HttpRequest, cluster_id: int) -> HttpResponse:
        cluster = cluster_for_id(group=request.site, cluster_id=cluster_id)
        form = ClusterSchoolsForm(request.POST, schools=current_schools(group=request.site))
        if form.is_valid():
            try:
                change = cluster_set_schools(
                    cluster=cluster,
                    schools=form.cleaned_data["schools"],
                    actor=actor_from_request(request),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _schools_message(change.added, change.removed, cluster))
                return redirect("institutions:cluster", cluster_id=cluster.pk)
        return _cluster_page(request, cluster, schools_form=form)


class ClusterDeleteView(GroupAdminView):
    template_name = "institutions/cluster_delete.html"

    def get(self, request: HttpRequest, cluster_id: int) -> HttpResponse:
        cluster = cluster_for_id(group=request.site, cluster_id=cluster_id)
        return render(request, self.template_name, {"cluster": cluster})

    def post(self, request: HttpRequest, cluster_id: int) -> HttpResponse:
        cluster = cluster_for_id(group=request.site, cluster_id=cluster_id)
        name = cluster.name
        cluster_delete(cluster=cluster, actor=actor_from_request(request))
        messages.success(request, f"Cluster “{name}” deleted. Its schools are unchanged.")
        return redirect("institutions:clusters")
