from django.contrib.auth import logout
from django.shortcuts import redirect

from accounts import audit
from accounts.audit import Actor, client_ip
from accounts.models import AuditAction
from institutions.models import Institution

from .services import HOP_SESSION_KEY, HopBanner, HopRefused, hop_end, hop_group_for_request

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class HopMiddleware:
    """On a school host, a hop session lives only as long as its group session.

    Sets ``request.hop_group`` (the group the user came from) and ``request.hop_banner``;
    records every write made during the hop in the audit trail of both sites.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.hop_group = None
        try:
            group = hop_group_for_request(request)
        except HopRefused:
            return self._end_orphaned_hop(request)
        if group is None:
            return self.get_response(request)
        request.hop_group = group
        request.hop_banner = HopBanner(group_name=group.name, return_url=group.url)
        actor = Actor(
            user=request.user, site=request.site, ip_address=client_ip(request), acting_from=group
        )
        response = self.get_response(request)
        if request.method in UNSAFE_METHODS:
            detail = {
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
            }
            for site in (request.site, group):
                audit.record(
                    actor=actor,
                    action=AuditAction.HOP_WRITE,
                    target=request.path,
                    detail=detail,
                    site=site,
                )
        return response

    @staticmethod
    def _end_orphaned_hop(request):
        """The group session has gone: so does this one, and the person goes back."""
        hop = request.session.get(HOP_SESSION_KEY, {})
        group = Institution.objects.filter(pk=hop.get("group")).first()
        if group is not None:
            hop_end(
                actor=Actor(
                    user=request.user,
                    site=request.site,
                    ip_address=client_ip(request),
                    acting_from=group,
                ),
                school=request.site,
                group=group,
                reason="The group session ended.",
            )
        logout(request)
        return redirect(group.url if group is not None else "/")
