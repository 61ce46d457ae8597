"""The audit trail as a file (``matmis.exports``): the Audit page's events and filters,
every page, newest first."""

from accounts.models import AuditAction, AuditEvent
from institutions.models import Institution
from matmis.exports import BATCH_SIZE, Column, Table

from .selectors import audit_events

SIGN_IN_FAILURES = {
    "wrong_code": "Right password, wrong code",
    "credentials": "Wrong email or password",
}
SECOND_FACTORS = {
    "authenticator_app": "With authenticator app",
    "backup_code": "With a backup code",
    "none": "Password only",
}


def _person_name(event: AuditEvent) -> str:
    return event.actor.display_name if event.actor is not None else ""


def _how(event: AuditEvent) -> str:
    """The page's note under the action: why a sign-in failed, how one succeeded."""
    detail = event.detail if isinstance(event.detail, dict) else {}
    if event.action == AuditAction.SIGN_IN_FAILED:
        return SIGN_IN_FAILURES.get(detail.get("reason"), "")
    if event.action == AuditAction.SIGN_IN:
        return SECOND_FACTORS.get(detail.get("second_factor"), "")
    return ""


AUDIT_COLUMNS = [
    Column("Time", lambda event: event.at),
    Column("Person", _person_name),
    Column("Email", lambda event: event.actor_email),
    Column("Action", lambda event: event.get_action_display()),
    Column("How", _how),
    Column("Target", lambda event: event.target),
    Column("Acting from", lambda event: event.acting_from.name if event.acting_from else ""),
    Column("Address", lambda event: event.ip_address),
]


def audit_table(*, site: Institution, filters: dict) -> Table:
    """The Audit page's events for ``filters`` (``audit_events``'s keywords): one query."""
    events = audit_events(site=site, **filters)
    return Table("audit-trail", AUDIT_COLUMNS, events.iterator(chunk_size=BATCH_SIZE))
