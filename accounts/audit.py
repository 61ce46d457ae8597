"""The audit trail: who did what, where, from which site and address.

Mutating services take ``actor=`` (an ``Actor``) and call ``audit_record`` inside their own
transaction, so an event exists exactly when its change does.
"""

from dataclasses import dataclass

from django.http import HttpRequest

from institutions.models import Institution

from .models import AuditAction, AuditEvent, User

# Set by the hop machinery on a request made inside a hop: the group site it came from.
HOP_GROUP_ATTR = "hop_group"


@dataclass(frozen=True)
class Actor:
    """The person acting, where, and from where. ``user`` is None for the system."""

    user: User | None
    site: Institution | None
    ip_address: str | None = None
    acting_from: Institution | None = None

    @property
    def email(self) -> str:
        return self.user.email if self.user is not None else "system"


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as seen by this server (the proxy must set REMOTE_ADDR right)."""
    return request.META.get("REMOTE_ADDR") or None


def actor_from_request(request: HttpRequest) -> Actor:
    user = request.user if request.user.is_authenticated else None
    return Actor(
        user=user,
        site=getattr(request, "site", None),
        ip_address=client_ip(request),
        acting_from=getattr(request, HOP_GROUP_ATTR, None),
    )


def system_actor(*, site: Institution | None = None) -> Actor:
    """For management commands and tasks acting on their own."""
    return Actor(user=None, site=site)


def audit_record(
    *,
    actor: Actor,
    action: AuditAction,
    target: str = "",
    detail: dict | None = None,
    site: Institution | None = None,
) -> AuditEvent:
    """Record one event at ``site`` (default: the actor's site)."""
    return AuditEvent.objects.create(
        site=site if site is not None else actor.site,
        acting_from=actor.acting_from,
        actor=actor.user,
        actor_email=actor.email,
        action=action,
        target=target[:255],
        detail=detail or {},
        ip_address=actor.ip_address,
    )
