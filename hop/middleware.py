from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect, render

from accounts import audit
from accounts.audit import Actor, client_ip
from accounts.models import AuditAction

from .selectors import HopStanding
from .services import HopBanner, hop_end, hop_standing_for_request

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class HopMiddleware:
    """On a school host, a hop session lives only as long as its group session and its
    right: every request inside one asks ``hop_standing`` again (one query), and the first
    that finds a condition gone ends the hop, in the audit trail of both sites, signs the
    person out here and tells them why.

    Sets ``request.hop_group`` (the group the user came from) and ``request.hop_banner``;
    records every write made during the hop in the audit trail of both sites.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.hop_group = None
        standing = hop_standing_for_request(request)
        if standing is None:
            return self.get_response(request)
        if standing.refusal is not None:
            return self._end_hop(request, standing)
        group = standing.group
        request.hop_group = group
        request.hop_banner = HopBanner(group_name=group.name)
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
    def _end_hop(request, standing: HopStanding):
        """Record the end at both sites, sign out here, and answer this request with why:
        the group's site when the group session has gone (sign in there again), otherwise
        a page (or the API's error) naming the condition that no longer holds."""
        group, school, reason = standing.group, request.site, standing.refusal
        if group is not None:
            hop_end(
                actor=Actor(
                    user=request.user,
                    site=school,
                    ip_address=client_ip(request),
                    acting_from=group,
                ),
                school=school,
                group=group,
                reason=reason,
            )
        logout(request)
        if request.path.startswith("/api/"):
            message = f"Your Log in to MIS session at {school.name} has ended. {reason}"
            return JsonResponse(
                {"error": {"code": "hop_ended", "message": message, "fields": {}}}, status=403
            )
        if standing.group_session_ended:
            return redirect(group.url if group is not None else "/")
        return render(request, "hop/ended.html", {"reason": reason, "group": group}, status=403)
