"""The end of agreements when a school leaves a group: the one way an agreement ends.

``agreements_end_for_departures`` is connected to ``institutions.signals.memberships_ended``
(``sharing.apps``), so it runs in the transaction that ends the memberships, whoever ends
them (the register import, platform support's ``membership_end``), and an error here
undoes the membership change as well. Everything is set-based, however many schools leave
at once: one statement for the pending requests, one for the agreements, one for the
names and one for each action's audit events.

An ended agreement keeps its level and dates as history and grants nothing
(``sharing.access`` reads only agreements in force); the database trigger allows exactly
this change and only once the school is no longer a current member. A school that rejoins
starts with no agreement: a new request, and a new approval, make a new row.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from accounts import audit
from accounts.audit import Actor
from accounts.models import AuditAction
from institutions.models import Institution

from ..models import SCHOOL_LEFT_THE_GROUP, AccessLevel, Agreement, AgreementRequest, RequestStatus


@dataclass(frozen=True)
class DepartureEndings:
    """What ended because schools left their groups."""

    agreements_ended: int
    requests_withdrawn: int


_PAIRS = "unnest(%(groups)s::bigint[], %(schools)s::bigint[]) AS p(group_id, school_id)"


def agreements_end_for_departures(
    *, ended: Sequence[tuple[int, int]], actor: Actor
) -> DepartureEndings:
    """For each ``(group id, school id)`` whose membership has just ended: end the group's
    agreement in force with the school ("school left the group") and withdraw its pending
    request with that reason; record each at both sites. Pairs where the school is still a
    current member (of another membership row) are refused by the database."""
    if not ended:
        return DepartureEndings(0, 0)
    params = {
        "groups": [group_id for group_id, _ in ended],
        "schools": [school_id for _, school_id in ended],
        "now": timezone.now(),
        "reason": SCHOOL_LEFT_THE_GROUP,
        "pending": RequestStatus.PENDING.value,
        "withdrawn": RequestStatus.WITHDRAWN.value,
        "user": actor.user.pk if actor.user is not None else None,
    }
    agreements = Agreement._meta.db_table
    requests = AgreementRequest._meta.db_table
    # The pending requests first, then the agreements: the order an approval locks them in
    # (the request, then the agreement). An approval that got there first has committed by
    # the time the agreements are read, and its agreement ends too; one that comes after
    # finds its request withdrawn.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {requests} r "  # noqa: S608 - table names come from the models
            "SET status = %(withdrawn)s, decided_at = %(now)s, decided_by_id = %(user)s, "
            "withdraw_reason = %(reason)s "
            f"FROM {_PAIRS} "
            "WHERE r.group_id = p.group_id AND r.school_id = p.school_id "
            "AND r.status = %(pending)s "
            "RETURNING r.id, r.group_id, r.school_id, r.level",
            params,
        )
        withdrawn = cursor.fetchall()
        cursor.execute(
            f"UPDATE {agreements} a "  # noqa: S608
            "SET ended_at = %(now)s, end_reason = %(reason)s, updated_at = %(now)s "
            f"FROM {_PAIRS} "
            "WHERE a.group_id = p.group_id AND a.school_id = p.school_id "
            "AND a.ended_at IS NULL "
            "RETURNING a.id, a.group_id, a.school_id, a.level",
            params,
        )
        ended_agreements = cursor.fetchall()
    _record(actor=actor, agreements=ended_agreements, withdrawn=withdrawn, at=params["now"])
    return DepartureEndings(len(ended_agreements), len(withdrawn))


def _record(
    *, actor: Actor, agreements: list[tuple], withdrawn: list[tuple], at: datetime.datetime
) -> None:
    """Each ended agreement and withdrawn request, at the group's site and the school's."""
    if not agreements and not withdrawn:
        return
    ids = {
        pk for _, group_id, school_id, _ in agreements + withdrawn for pk in (group_id, school_id)
    }
    names = dict(Institution.objects.filter(pk__in=ids).values_list("pk", "name"))

    def events(rows, key):
        for pk, group_id, school_id, level in rows:
            label = AccessLevel(level).label
            detail = {
                key: pk,
                "level": level,
                "reason": SCHOOL_LEFT_THE_GROUP,
                "at": at.isoformat(),
            }
            yield group_id, f"{names[school_id]}: {label}", detail
            yield school_id, f"{names[group_id]}: {label}", detail

    if agreements:
        audit.record_many(
            actor=actor, action=AuditAction.AGREEMENT_ENDED, events=events(agreements, "agreement")
        )
    if withdrawn:
        audit.record_many(
            actor=actor, action=AuditAction.REQUEST_WITHDRAWN, events=events(withdrawn, "request")
        )


def agreements_end_on_memberships_ended(sender, *, ended, actor, **kwargs) -> None:
    """The receiver of ``institutions.signals.memberships_ended``."""
    agreements_end_for_departures(ended=ended, actor=actor)
