"""Staff sharing pages: resources (mine and shared with me), networks, groups.

Every page is any staff member's of the site unless it says otherwise; what they may do
with a given resource, group or network is the selectors' and services' decision, and an
identifier they may not reach is answered like a missing one (404)."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.audit import actor_from_request
from accounts.permissions import (
    NETWORK_LEADERSHIP,
    SHARING_NETWORKS,
    Access,
    request_has_permission,
)
from institutions.models import Institution
from matmis.site_access import ANY_SITE, SiteKind
from matmis.views import SitePageView

from . import selectors, services
from .downloads import file_response
from .forms import (
    ApprovalForm,
    NetworkRequestForm,
    ReplaceFileForm,
    ResourceEditForm,
    ResourceForm,
    WithdrawalForm,
)
from .models import NetworkKind, ResourceKind
from .network_pages import network_agreements
from .uploads import ACCEPTED_PHRASE, max_bytes, size_phrase

# Large uploads are allowed through the body limit up to the resource limit (and a little
# for the form around the file); the service checks the file itself.
UPLOAD_BODY_BYTES = settings.MATMIS_RESOURCE_MAX_BYTES + 64 * 1024


def _errors(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return error.message_dict
    return {"__all__": error.messages}


def _upload_context() -> dict:
    return {"accepted": ACCEPTED_PHRASE, "max_size": size_phrase(max_bytes())}


# --- Resources -------------------------------------------------------------------------------


class ResourceListView(SitePageView):
    site_kind = ANY_SITE
    method_permissions = {"GET": None}

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(
            request,
            "networks/resource_list.html",
            {
                "own": list(
                    selectors.own_resources(site=request.site, user=request.user).prefetch_related(
                        "shares"
                    )[:200]
                ),
                "shared": selectors.shared_with_me(site=request.site, user=request.user),
            },
        )


class ResourceCreateView(SitePageView):
    site_kind = ANY_SITE
    method_permissions = {"GET": None, "POST": None}
    max_request_body_bytes = UPLOAD_BODY_BYTES

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(
            request, "networks/resource_new.html", {"form": ResourceForm(), **_upload_context()}
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ResourceForm(request.POST, request.FILES)
        errors: dict[str, list[str]] = {}
        if form.is_valid():
            data = form.cleaned_data
            try:
                resource = services.resource_create(
                    actor=actor_from_request(request),
                    site=request.site,
                    title=data["title"],
                    description=data["description"],
                    note=data["note"],
                    upload=data["file"] or None,
                )
            except ValidationError as error:
                errors = _errors(error)
            else:
                messages.success(
                    request,
                    f"“{resource.title}” was added. Only you can see it until you share it.",
                )
                return redirect("networks:resource", resource_id=resource.pk)
        else:
            errors = form.errors
        return render(
            request,
            "networks/resource_new.html",
            {"form": form, "errors": errors, **_upload_context()},
            status=400,
        )


class ResourceDetailView(SitePageView):
    """A resource as its reader sees it; its owner also manages it and its shares here."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None}

    def get(self, request: HttpRequest, resource_id: str) -> HttpResponse:
        resource = selectors.resource_for_reader(
            site=request.site, user=request.user, resource_id=resource_id
        )
        return render(request, "networks/resource_detail.html", _detail_context(request, resource))


def _detail_context(request: HttpRequest, resource, **extra) -> dict:
    is_owner = resource.owner_id == request.user.pk and resource.site_id == request.site.pk
    context = {"resource": resource, "is_owner": is_owner, **extra}
    if is_owner:
        targets = selectors.share_targets(site=request.site, user=request.user)
        shares = selectors.resource_shares(resource=resource)
        shared_keys = (
            {
                selectors.person_key(s.recipient_id, s.recipient_site_id)
                for s in shares
                if s.recipient_id
            }
            | {f"group:{s.group_id}" for s in shares if s.group_id}
            | {f"network:{s.network_id}" for s in shares if not s.recipient_id and not s.group_id}
        )
        context.update(
            {
                "shares": [(s, services.share_description(s)) for s in shares],
                "targets": [t for t in targets if t.key not in shared_keys],
                "edit_form": ResourceEditForm(
                    initial={
                        "title": resource.title,
                        "description": resource.description,
                        "note": resource.note,
                    }
                ),
                **_upload_context(),
            }
        )
    return context


class _OwnerView(SitePageView):
    """A change to one's own resource (anyone else's: 404)."""

    def resource(self, request: HttpRequest, resource_id: str):
        return selectors.resource_for_owner(
            site=request.site, user=request.user, resource_id=resource_id
        )

    def refused(self, request, resource, error: ValidationError) -> HttpResponse:
        return render(
            request,
            "networks/resource_detail.html",
            _detail_context(request, resource, errors=_errors(error)),
            status=400,
        )


class ResourceEditView(_OwnerView):
    site_kind = ANY_SITE
    method_permissions = {"POST": None}

    def post(self, request: HttpRequest, resource_id: str) -> HttpResponse:
        resource = self.resource(request, resource_id)
        form = ResourceEditForm(request.POST)
        if not form.is_valid():
            return self.refused(request, resource, ValidationError(form.errors))
        data = form.cleaned_data
        try:
            services.resource_update(
                actor=actor_from_request(request),
                resource=resource,
                title=data["title"],
                description=data["description"],
                note=data["note"] if resource.kind == ResourceKind.NOTE else None,
            )
        except ValidationError as error:
            return self.refused(request, resource, error)
        messages.success(request, "Your changes were saved.")
        return redirect("networks:resource", resource_id=resource.pk)


class ResourceReplaceView(_OwnerView):
    site_kind = ANY_SITE
    method_permissions = {"POST": None}
    max_request_body_bytes = UPLOAD_BODY_BYTES

    def post(self, request: HttpRequest, resource_id: str) -> HttpResponse:
        resource = self.resource(request, resource_id)
        form = ReplaceFileForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.refused(request, resource, ValidationError(form.errors))
        try:
            services.resource_replace_file(
                actor=actor_from_request(request),
                resource=resource,
                upload=form.cleaned_data["file"],
            )
        except ValidationError as error:
            return self.refused(request, resource, error)
        messages.success(
            request, "The file was replaced. Everyone it is shared with sees the new one."
        )
        return redirect("networks:resource", resource_id=resource.pk)


class ResourceDeleteView(_OwnerView):
    site_kind = ANY_SITE
    method_permissions = {"POST": None}

    def post(self, request: HttpRequest, resource_id: str) -> HttpResponse:
        resource = self.resource(request, resource_id)
        title = resource.title
        services.resource_delete(actor=actor_from_request(request), resource=resource)
        messages.success(request, f"“{title}” was deleted, and with it every share of it.")
        return redirect("networks:resources")


class ResourceShareView(_OwnerView):
    """Share with one target from the picker, or with everyone at the organisation."""

    site_kind = ANY_SITE
    method_permissions = {"POST": None}

    def post(self, request: HttpRequest, resource_id: str) -> HttpResponse:
        resource = self.resource(request, resource_id)
        actor = actor_from_request(request)
        everyone = request.POST.get("everyone")
        try:
            if everyone in ("yes", "no"):
                services.resource_share_everyone(
                    actor=actor, resource=resource, everyone=everyone == "yes"
                )
                messages.success(
                    request,
                    f"Everyone at {request.site.name} can now open it."
                    if everyone == "yes"
                    else f"It is no longer shared with everyone at {request.site.name}.",
                )
            else:
                share = services.resource_share(
                    actor=actor, resource=resource, target_key=request.POST.get("target", "")
                )
                messages.success(request, f"Shared with {services.share_description(share)}.")
        except ValidationError as error:
            return self.refused(request, resource, error)
        return redirect("networks:resource", resource_id=resource.pk)


class ResourceUnshareView(_OwnerView):
    site_kind = ANY_SITE
    method_permissions = {"POST": None}

    def post(self, request: HttpRequest, resource_id: str, share_id: str) -> HttpResponse:
        resource = self.resource(request, resource_id)
        share = selectors.share_for_resource(resource=resource, share_id=share_id)
        described = services.share_description(share)
        services.resource_unshare(actor=actor_from_request(request), share=share)
        messages.success(request, f"No longer shared with {described}.")
        return redirect("networks:resource", resource_id=resource.pk)


class ResourceFileView(SitePageView):
    """The file, after the sharing check (a range of it for a video player)."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None}

    def get(self, request: HttpRequest, resource_id: str) -> HttpResponse:
        resource = selectors.resource_for_reader(
            site=request.site, user=request.user, resource_id=resource_id
        )
        if resource.kind != ResourceKind.FILE:
            raise Http404("This resource has no file.")
        if "Range" not in request.headers or request.headers["Range"].startswith("bytes=0-"):
            services.resource_downloaded(actor=actor_from_request(request), resource=resource)
        return file_response(request, resource)


# --- Networks ---------------------------------------------------------------------------------


def _may(request, code) -> bool:
    return request_has_permission(request, code, Access.ADMINISTER)


class NetworkListView(SitePageView):
    site_kind = ANY_SITE
    method_permissions = {"GET": None}

    def get(self, request: HttpRequest) -> HttpResponse:
        networks = list(selectors.site_networks(site=request.site)[:200])
        return render(
            request,
            "networks/network_list.html",
            {
                "networks": networks,
                "may_request": _may(request, SHARING_NETWORKS),
                "may_propose_schools": request.site.is_group and _may(request, SHARING_NETWORKS),
            },
        )


def _organisations_named(text: str) -> tuple[list[Institution], list[str]]:
    names = [line.strip().lower() for line in text.replace(",", "\n").splitlines() if line.strip()]
    found = {i.slug: i for i in Institution.objects.filter(slug__in=names)}
    return list(found.values()), [n for n in names if n not in found]


class NetworkRequestView(SitePageView):
    site_kind = ANY_SITE
    method_permissions = {
        "GET": (SHARING_NETWORKS, Access.ADMINISTER),
        "POST": (SHARING_NETWORKS, Access.ADMINISTER),
    }

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "networks/network_new.html", {"form": NetworkRequestForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = NetworkRequestForm(request.POST)
        errors: dict[str, list[str]] = {}
        if form.is_valid():
            data = form.cleaned_data
            others, unknown = _organisations_named(data["organisations"])
            coaching = None
            if data["coaching_organisation"]:
                slug = data["coaching_organisation"].strip().lower()
                coaching = next(
                    (o for o in [request.site, *others] if o.slug == slug), None
                ) or Institution(pk=0, name=slug)
            if unknown:
                errors["organisations"] = [
                    "No organisation on the platform has the short name "
                    + ", ".join(f"“{u}”" for u in unknown)
                    + ": check the spelling (the first part of its web address)."
                ]
            else:
                try:
                    network = services.network_request(
                        actor=actor_from_request(request),
                        site=request.site,
                        kind=data["kind"],
                        name=data["name"],
                        purpose=data["purpose"],
                        organisations=[request.site, *others],
                        coaching_site=coaching if data["kind"] == NetworkKind.COACHING else None,
                    )
                except ValidationError as error:
                    errors = _errors(error)
                else:
                    messages.success(
                        request,
                        f"“{network.name}” was requested. It becomes active when the leadership "
                        "of every member organisation has approved it.",
                    )
                    return redirect("networks:network", network_id=network.pk)
        else:
            errors = form.errors
        return render(
            request, "networks/network_new.html", {"form": form, "errors": errors}, status=400
        )


class NetworkTrustProposalView(SitePageView):
    """A trust (or local authority) proposes a collaboration network of its schools."""

    site_kind = SiteKind.GROUP
    method_permissions = {"POST": (SHARING_NETWORKS, Access.ADMINISTER)}

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            network = services.network_propose_for_trust(
                actor=actor_from_request(request),
                trust=request.site,
                name=request.POST.get("name", ""),
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return redirect("networks:networks")
        messages.success(
            request,
            f"“{network.name}” was proposed to {network.organisations.count()} schools. Each "
            "school's leadership approves it on its own site.",
        )
        return redirect("networks:network", network_id=network.pk)


def _network_context(request, network, **extra) -> dict:
    places = selectors.network_organisations(network=network)
    own = next((p for p in places if p.site_id == request.site.pk), None)
    named = selectors.network_named_members(network=network)
    return {
        "network": network,
        "rows": [(place, named.get(place.site_id, [])) for place in places],
        "own_place": own,
        "agreements": network_agreements(places=[p.site for p in places]),
        "may_approve": own is not None and _may(request, NETWORK_LEADERSHIP),
        "approval_form": ApprovalForm(),
        "withdrawal_form": WithdrawalForm(),
        **extra,
    }


class NetworkDetailView(SitePageView):
    site_kind = ANY_SITE
    method_permissions = {"GET": None}

    def get(self, request: HttpRequest, network_id: str) -> HttpResponse:
        network = selectors.network_for_site(site=request.site, network_id=network_id)
        return render(request, "networks/network_detail.html", _network_context(request, network))


class NetworkApproveView(SitePageView):
    site_kind = ANY_SITE
    method_permissions = {"POST": (NETWORK_LEADERSHIP, Access.ADMINISTER)}

    def post(self, request: HttpRequest, network_id: str) -> HttpResponse:
        network = selectors.network_for_site(site=request.site, network_id=network_id)
        try:
            services.network_approve(
                actor=actor_from_request(request),
                network=network,
                site=request.site,
                statement=request.POST.get("statement", ""),
            )
        except ValidationError as error:
            return render(
                request,
                "networks/network_detail.html",
                _network_context(request, network, errors=_errors(error)),
                status=400,
            )
        network.refresh_from_db()
        messages.success(
            request,
            "Approved. The network is now active."
            if network.is_active
            else "Approved. The network becomes active when every organisation has approved it.",
        )
        return redirect("networks:network", network_id=network.pk)


class NetworkWithdrawView(SitePageView):
    site_kind = ANY_SITE
    method_permissions = {"POST": (NETWORK_LEADERSHIP, Access.ADMINISTER)}

    def post(self, request: HttpRequest, network_id: str) -> HttpResponse:
        network = selectors.network_for_site(site=request.site, network_id=network_id)
        try:
            services.network_withdraw(
                actor=actor_from_request(request),
                network=network,
                site=request.site,
                reason=request.POST.get("reason", ""),
            )
        except ValidationError as error:
            return render(
                request,
                "networks/network_detail.html",
                _network_context(request, network, errors=_errors(error)),
                status=400,
            )
        messages.success(
            request,
            f"{request.site.name} withdrew. The network is suspended: nothing shared through it "
            "can be opened across organisations until every organisation approves again.",
        )
        return redirect("networks:network", network_id=network.pk)
