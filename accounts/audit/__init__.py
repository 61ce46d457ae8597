"""The audit trail: who did what, where, from which site and address.

This package's own module is the one writer of audit events, imported everywhere as
``from accounts import audit``. Mutating services take ``actor=`` (an ``Actor``) and call
``audit.record`` (one event) or ``audit.record_many`` (many, in one INSERT) inside their own
transaction, so an event exists exactly when its change does.

Reading the trail: ``selectors`` (``audit_events``), the page (``views``, ``forms``,
``urls``) and the API (``api``, ``api_urls``).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent, User
from institutions.models import Institution
from matmis.client_address import client_address

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
    """The client's address: ``matmis.client_address`` decides (trusted proxies)."""
    return client_address(request)


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


class Entry(NamedTuple):
    """One event of ``record_many``: where (a site id; None for the actor's site), on what,
    and the detail."""

    site_id: int | None
    target: str
    detail: dict


def _event(*, actor: Actor, action: AuditAction, target: str, detail: dict | None) -> AuditEvent:
    """An unsaved event of ``actor``, without its site."""
    return AuditEvent(
        acting_from=actor.acting_from,
        actor=actor.user,
        actor_email=actor.email,
        action=action,
        target=target[:255],
        detail=detail or {},
        ip_address=actor.ip_address,
    )


def insert_select_sql(
    *, actor: Actor, action: AuditAction, source: str, site_id: str, target: str, detail: str
) -> tuple[str, dict]:
    """For a service that writes its rows set-based: an ``INSERT ... SELECT`` recording one
    event of ``action`` by ``actor`` per row of ``source`` (SQL: a table or CTE name),
    ``site_id``, ``target`` and ``detail`` being SQL expressions over it (the detail a
    jsonb object). Returns the statement (to chain in a ``WITH``) and its parameters, named
    ``audit_*``. The same row ``record_many`` would write, without building an event object
    per row; the target is cut to 255 characters as ``record`` cuts it."""
    sql = (
        "INSERT INTO accounts_auditevent (site_id, acting_from_id, actor_id, actor_email, "  # noqa: S608 - expressions from the calling service's code
        "action, target, detail, ip_address, at) "
        f"SELECT {site_id}, %(audit_acting_from)s::bigint, %(audit_actor)s::bigint, "
        f"%(audit_actor_email)s::text, %(audit_action)s::text, left({target}, 255), {detail}, "
        f"%(audit_ip)s::inet, %(audit_at)s::timestamptz FROM {source}"
    )
    params = {
        "audit_acting_from": actor.acting_from.pk if actor.acting_from is not None else None,
        "audit_actor": actor.user.pk if actor.user is not None else None,
        "audit_actor_email": actor.email,
        "audit_action": str(action),
        "audit_ip": actor.ip_address,
        "audit_at": timezone.now(),
    }
    return sql, params


def record(
    *,
    actor: Actor,
    action: AuditAction,
    target: str = "",
    detail: dict | None = None,
    site: Institution | None = None,
) -> AuditEvent:
    """Record one event at ``site`` (default: the actor's site)."""
    event = _event(actor=actor, action=action, target=target, detail=detail)
    event.site = site if site is not None else actor.site
    event.save(force_insert=True)
    return event


def record_many(
    *, actor: Actor, action: AuditAction, events: Iterable[Entry | tuple[int | None, str, dict]]
) -> list[AuditEvent]:
    """Record many events of one action by one actor in a single INSERT (none: no query).
    Each is an ``Entry`` (or a plain tuple of the same three): site id (None: the actor's
    site), target, detail."""
    own_site_id = actor.site.pk if actor.site is not None else None
    rows = []
    for site_id, target, detail in events:
        event = _event(actor=actor, action=action, target=target, detail=detail)
        event.site_id = site_id if site_id is not None else own_site_id
        rows.append(event)
    return AuditEvent.objects.bulk_create(rows) if rows else []
