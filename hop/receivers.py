"""Signing out inside a hop ends the hop: recorded at both sites (DESIGN, "Log in to MIS").

Accounts signs people out without knowing about hops; ``HopMiddleware`` has set
``request.hop_group`` on a request made inside one, and this receiver of Django's
``user_logged_out`` signal records the end there.
"""

from accounts.audit import actor_from_request

from .services import hop_end


def hop_end_on_sign_out(sender, request, user, **kwargs) -> None:
    group = getattr(request, "hop_group", None) if request is not None else None
    if group is None or user is None:
        return
    hop_end(
        actor=actor_from_request(request), school=request.site, group=group, reason="Signed out."
    )
