"""Pages of a group site about its schools: Browse Institutions, the institution page and
clusters. A school site has none of them (404)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.audit import actor_from_request
from accounts.permissions import INSTITUTION_DETAILS, Access, request_has_permission
from matmis.site_access import SiteKind
from matmis.views import SitePageView

from .forms import ClusterNameForm, ClusterSchoolsForm
from .models import Cluster
from .selectors import (
    cluster_for_id,
    cluster_list,
    cluster_schools,
    current_schools,
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
