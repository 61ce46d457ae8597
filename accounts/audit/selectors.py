"""Reads of the audit trail. Every read takes the site."""

import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent
from institutions.models import Institution


def audit_events(
    *,
    site: Institution,
    action: str | None = None,
    person: str | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[AuditEvent]:
    """The audit trail of ``site``, newest first, optionally narrowed.

    ``person``: part of the email of whoever acted (for failed sign-ins, the email typed).
    ``date_from`` and ``date_to``: local dates, both included.
    """
    events = AuditEvent.objects.filter(site=site)
    if action:
        events = events.filter(action=action)
    if person:
        events = events.filter(
            Q(actor_email__icontains=person)
            | Q(action=AuditAction.SIGN_IN_FAILED, target__icontains=person)
        )
    if date_from:
        events = events.filter(at__gte=_start_of_day(date_from))
    if date_to:
        events = events.filter(at__lt=_start_of_day(date_to + datetime.timedelta(days=1)))
    return events.select_related("actor", "acting_from").order_by("-at", "-id")


def _start_of_day(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
