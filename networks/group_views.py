"""Sharing groups: local groups of an organisation's staff, community groups its
administrators approve, and the whitelist by which another organisation lets its staff
contribute to one."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.audit import actor_from_request
from accounts.models import StaffProfile
from accounts.permissions import SHARING_NETWORKS, Access, request_has_permission
from matmis.site_access import ANY_SITE
from matmis.views import SitePageView

from . import selectors, services
from .models import GroupStatus


def _errors(error: ValidationError) -> dict[str, list[str]]:
    return error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}


def _may_administer(request) -> bool:
    return request_has_permission(request, SHARING_NETWORKS, Access.ADMINISTER)


class GroupListView(SitePageView):
    site_kind = ANY_SITE
    method_permissions = {"GET": None, "POST": None}

    def _render(self, request, errors=None, status=200):
        return render(
            request,
            "networks/group_list.html",
            {
                "groups": list(selectors.site_groups(site=request.site)[:500]),
                "elsewhere": selectors.community_groups_elsewhere(site=request.site),
                "may_administer": _may_administer(request),
                "errors": errors,
            },
            status=status,
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            group = services.group_create(
                actor=actor_from_request(request),
                site=request.site,
                name=request.POST.get("name", ""),
                description=request.POST.get("description", ""),
            )
        except ValidationError as error:
            return self._render(request, errors=_errors(error), status=400)
        messages.success(request, f"“{group.name}” was created as a local group.")
        return redirect("networks:group", group_id=group.pk)


def _group_context(request, group, **extra) -> dict:
    is_owner = group.owner_id == request.user.pk and group.site_id == request.site.pk
    members = selectors.group_members(group=group)
    member_keys = {(m.user_id, m.site_id) for m in members}
    whitelist = selectors.group_whitelist(group=group)
    whitelisted_here = any(entry.site_id == request.site.pk for entry in whitelist)
    # Another organisation's community group is listed by name for whitelisting; who is in
    # it is shown only where its staff may take part.
    if group.site_id != request.site.pk and not whitelisted_here:
        members = []
    colleagues = []
    if is_owner:
        colleagues = [
            p.user
            for p in StaffProfile.objects.filter(site=request.site, is_active=True)
            .exclude(user=request.user)
            .select_related("user")
            .order_by("user__full_name")
            if (p.user_id, request.site.pk) not in member_keys
        ]
    return {
        "group": group,
        "is_owner": is_owner,
        "members": members,
        "whitelist": whitelist,
        "colleagues": colleagues,
        "may_join": group.site_id != request.site.pk
        and group.status == GroupStatus.COMMUNITY
        and whitelisted_here
        and (request.user.pk, request.site.pk) not in member_keys,
        "whitelisted_here": whitelisted_here,
        "may_administer": _may_administer(request),
        **extra,
    }


class GroupDetailView(SitePageView):
    site_kind = ANY_SITE
    method_permissions = {"GET": None}

    def get(self, request: HttpRequest, group_id: str) -> HttpResponse:
        group = selectors.group_visible(site=request.site, group_id=group_id)
        return render(request, "networks/group_detail.html", _group_context(request, group))


class _GroupActionView(SitePageView):
    site_kind = ANY_SITE
    method_permissions = {"POST": None}

    def act(self, request, group):
        raise NotImplementedError

    def post(self, request: HttpRequest, group_id: str) -> HttpResponse:
        group = selectors.group_visible(site=request.site, group_id=group_id)
        try:
            message = self.act(request, group)
        except ValidationError as error:
            return render(
                request,
                "networks/group_detail.html",
                _group_context(request, group, errors=_errors(error)),
                status=400,
            )
        messages.success(request, message)
        return redirect("networks:group", group_id=group.pk)


class GroupMemberAddView(_GroupActionView):
    """The owner adds a colleague (``user``); or someone joins themselves (``join``)."""

    site_kind = ANY_SITE
    method_permissions = {"POST": None}

    def act(self, request, group):
        actor = actor_from_request(request)
        if request.POST.get("join"):
            services.group_member_add(
                actor=actor, group=group, user=request.user, site=request.site
            )
            return f"You joined “{group.name}”."
        user = StaffProfile.objects.filter(
            site=request.site, user_id=_int_or_zero(request.POST.get("user"))
        ).first()
        if user is None:
            raise ValidationError({"member": ["Choose a colleague from the list."]})
        services.group_member_add(actor=actor, group=group, user=user.user, site=request.site)
        return f"{user.user.display_name} was added."


def _int_or_zero(value) -> int:
    text = str(value or "")
    return int(text) if text.isdecimal() and len(text) < 18 else 0


class GroupCommunityRequestView(_GroupActionView):
    site_kind = ANY_SITE
    method_permissions = {"POST": None}

    def act(self, request, group):
        if group.site_id != request.site.pk:
            raise ValidationError("Only the group's own organisation can change it.")
        services.group_community_request(actor=actor_from_request(request), group=group)
        return "Asked for it to become a community group: an administrator here approves it."


class GroupCommunityApproveView(_GroupActionView):
    site_kind = ANY_SITE
    method_permissions = {"POST": (SHARING_NETWORKS, Access.ADMINISTER)}

    def act(self, request, group):
        if group.site_id != request.site.pk:
            raise ValidationError("Only the group's own organisation approves it.")
        services.group_community_approve(actor=actor_from_request(request), group=group)
        return "It is now a community group: other organisations can let their staff join it."


class GroupWhitelistView(_GroupActionView):
    """This organisation lets its staff contribute to another's community group (``add``),
    or stops (``remove``: their shares with it end at once)."""

    site_kind = ANY_SITE
    method_permissions = {"POST": (SHARING_NETWORKS, Access.ADMINISTER)}

    def act(self, request, group):
        actor = actor_from_request(request)
        if request.POST.get("action") == "remove":
            ended = services.group_whitelist_remove(actor=actor, group=group, site=request.site)
            return (
                f"“{group.name}” was removed from {request.site.name}'s whitelist; "
                f"{ended} share{'s' if ended != 1 else ''} by staff here ended."
            )
        services.group_whitelist_add(actor=actor, group=group, site=request.site)
        return f"Staff of {request.site.name} may now join and share with “{group.name}”."
