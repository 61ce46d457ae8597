"""Signing out inside a hop ends the hop: recorded at both sites (DESIGN, "Log in to MIS").

Accounts signs people out without knowing about hops; ``HopMiddleware`` has set
``request.hop_group`` on a request made inside one, and this receiver of Django's
``user_logged_out`` signal records the end there.

Likewise a member of staff deactivated at a site (``accounts.staff.onboarding``): their
sessions there end, and with them every hop into that site and every hop from it that
hung from an ended group session, ended now and recorded at both sites.
"""

from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.audit import Actor, actor_from_request
from institutions.models import Institution

from .services import HOP_SESSION_KEY, hop_end


def hop_end_on_sign_out(sender, request, user, **kwargs) -> None:
    group = getattr(request, "hop_group", None) if request is not None else None
    if group is None or user is None:
        return
    hop_end(
        actor=actor_from_request(request), school=request.site, group=group, reason="Signed out."
    )


def _site_id(mark) -> int | None:
    """The site id of a session's ``_matmis_site`` mark (``site:<id>``)."""
    kind, _, pk = str(mark or "").partition(":")
    return int(pk) if kind == "site" and pk.isdigit() else None


def hops_end_with_staff_sessions(sender, *, user, site, actor: Actor, sessions, **kwargs):
    """Receiver of ``accounts.staff.onboarding.staff_sessions_ended``."""
    reason = f"{user.display_name} was deactivated at {site.name}."
    ended = []  # (school id, group id) of each hop ended
    for session in sessions:
        hop = session["data"].get(HOP_SESSION_KEY)
        if hop:
            ended.append((site.pk, hop.get("group")))
    if site.is_group:
        keys = {session["key"] for session in sessions}
        hanging = []
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(
            chunk_size=500
        ):
            data = session.get_decoded()
            hop = data.get(HOP_SESSION_KEY)
            if hop and hop.get("group") == site.pk and hop.get("group_session") in keys:
                hanging.append(session.session_key)
                ended.append((_site_id(data.get("_matmis_site")), site.pk))
        Session.objects.filter(session_key__in=hanging).delete()
    sites = Institution.objects.in_bulk({pk for pair in ended for pk in pair if pk})
    for school_id, group_id in ended:
        school, group = sites.get(school_id), sites.get(group_id)
        if school is not None and group is not None:
            hop_end(actor=actor, school=school, group=group, reason=reason)
