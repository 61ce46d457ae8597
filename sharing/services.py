"""Writes to data sharing agreements and requests."""

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from accounts import audit
from accounts.audit import Actor
from accounts.models import AuditAction, StaffProfile
from accounts.permissions import DATA_SHARING_REQUEST, INSTITUTION_DETAILS, Access, has_permission
from institutions.models import Institution, InstitutionKind
from institutions.selectors import current_schools

from .emails import EmailKind, request_emails_enqueue
from .models import (
    AccessLevel,
    Agreement,
    AgreementRequest,
    RequestRecipient,
    RequestReminder,
    RequestStatus,
)
from .rules import ALREADY_PENDING, level_clean, recipient_roles_clean, send_skip_reason
from .selectors import eligible_recipients


class AgreementLevelError(ValueError):
    """A change that would lower or not raise an agreement."""


@transaction.atomic
def agreement_raise(
    *,
    group: Institution,
    school: Institution,
    level: AccessLevel,
    actor: Actor,
    automated: bool = False,
) -> tuple[Agreement, bool]:
    """Set ``group``'s agreement with ``school`` to ``level`` if that is higher.

    Returns the agreement and whether it changed. The same level again is a harmless
    repeat; a lower level is refused. The row is locked while deciding, so two approvals
    racing cannot lower it either; the database trigger backs this up.
    """
    if level not in AccessLevel.values:
        raise AgreementLevelError(f"{level!r} is not an access level (1, 2 or 3).")
    if not group.is_group or not school.is_school:
        raise AgreementLevelError(
            "An agreement is between a trust or local authority and a school."
        )
    agreement = Agreement.objects.select_for_update().filter(group=group, school=school).first()
    previous = agreement.level if agreement is not None else 0
    if agreement is None:
        agreement = Agreement.objects.create(
            group=group,
            school=school,
            level=level,
            automated=automated,
            approved_at=timezone.now(),
        )
    elif level == agreement.level:
        return agreement, False
    elif level < agreement.level:
        raise AgreementLevelError(
            f"The agreement is already at “{agreement.get_level_display()}”; "
            "an access level can be raised but never lowered."
        )
    else:
        agreement.level = level
        agreement.approved_at = timezone.now()
        agreement.save(update_fields=["level", "approved_at", "updated_at"])
    detail = {"from": previous, "to": int(level), "automated": automated}
    for site, other in ((school, group), (group, school)):
        audit.record(
            actor=actor,
            action=AuditAction.AGREEMENT_RAISED,
            target=f"{other.name}: {AccessLevel(level).label}",
            detail=detail,
            site=site,
        )
    return agreement, True


# =============================================================================================
# Requests: send, remind, withdraw (group side); approve, decline (school side); automate
# =============================================================================================


class RequestStateError(ValidationError):
    """A request that is not in a state the change applies to (approving a withdrawn one)."""


@dataclass(frozen=True)
class SchoolOutcome:
    """What a bulk action did at one school: done, or skipped with a plain reason."""

    school_id: int
    urn: str
    name: str
    reason: str = ""
    recipients: tuple[str, ...] = ()
    request_id: int | None = None
    next_allowed_at: datetime.datetime | None = None

    @property
    def done(self) -> bool:
        return not self.reason


class BulkAction(models.TextChoices):
    SEND = "send", "Send data sharing requests"
    REMIND = "remind", "Send reminders"
    WITHDRAW = "withdraw", "Withdraw requests"


_DONE_SENTENCES = {
    BulkAction.SEND: ("Request sent to 1 school.", "Requests sent to {n} schools."),
    BulkAction.REMIND: ("Reminder sent to 1 school.", "Reminders sent to {n} schools."),
    BulkAction.WITHDRAW: ("Request withdrawn for 1 school.", "Requests withdrawn for {n} schools."),
}
_NONE_DONE = {
    BulkAction.SEND: "No requests were sent.",
    BulkAction.REMIND: "No reminders were sent.",
    BulkAction.WITHDRAW: "No requests were withdrawn.",
}


@dataclass(frozen=True)
class BulkOutcome:
    """The per-school result of a bulk action, and its summary in plain words."""

    action: str
    rows: tuple[SchoolOutcome, ...]
    level: int | None = None

    @property
    def done(self) -> tuple[SchoolOutcome, ...]:
        return tuple(row for row in self.rows if row.done)

    @property
    def skipped(self) -> tuple[SchoolOutcome, ...]:
        return tuple(row for row in self.rows if not row.done)

    def skip_reasons(self) -> list[tuple[str, int]]:
        """Each reason with how many schools it applies to, the commonest first."""
        counts: dict[str, int] = {}
        for row in self.skipped:
            counts[row.reason] = counts.get(row.reason, 0) + 1
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    @property
    def summary(self) -> str:
        """ "Requests sent to 38 schools. 2 schools were skipped: no Head Teacher with an
        email address." """
        done = len(self.done)
        one, many = _DONE_SENTENCES[BulkAction(self.action)]
        sentence = (one if done == 1 else many.format(n=done)) if done else ""
        sentence = sentence or _NONE_DONE[BulkAction(self.action)]
        skipped = len(self.skipped)
        if skipped:
            reasons = self.skip_reasons()
            if len(reasons) == 1:
                because = reasons[0][0]
            else:
                because = "; ".join(f"{reason} ({count})" for reason, count in reasons)
            was = "school was" if skipped == 1 else "schools were"
            sentence += f" {skipped} {was} skipped: {because}."
        return sentence

    def as_dict(self) -> dict:
        """A JSON-ready copy (for the session between the action and its summary page)."""
        return {
            "action": self.action,
            "level": self.level,
            "rows": [
                {
                    "school_id": row.school_id,
                    "urn": row.urn,
                    "name": row.name,
                    "reason": row.reason,
                    "recipients": list(row.recipients),
                    "request_id": row.request_id,
                    "next_allowed_at": (
                        row.next_allowed_at.isoformat() if row.next_allowed_at else None
                    ),
                }
                for row in self.rows
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "BulkOutcome":
        rows = []
        for row in data["rows"]:
            next_at = row.get("next_allowed_at")
            rows.append(
                SchoolOutcome(
                    school_id=row["school_id"],
                    urn=row["urn"],
                    name=row["name"],
                    reason=row["reason"],
                    recipients=tuple(row["recipients"]),
                    request_id=row["request_id"],
                    next_allowed_at=datetime.datetime.fromisoformat(next_at) if next_at else None,
                )
            )
        return cls(action=data["action"], rows=tuple(rows), level=data.get("level"))


def _outcome(school: Institution, **fields) -> SchoolOutcome:
    return SchoolOutcome(school_id=school.pk, urn=school.urn or "", name=school.name, **fields)


def _require_group_admin(*, actor: Actor, group: Institution) -> None:
    """A person acting for ``group`` needs Institution: Administer Institution Details there
    (views check it first; this is the service's own guard). The system may act."""
    if actor.user is None:
        return
    if not has_permission(
        user=actor.user, site=group, code=INSTITUTION_DETAILS, access=Access.ADMINISTER
    ):
        raise PermissionDenied(
            "Sending data sharing requests needs “Institution: Administer Institution Details”."
        )


def _require_school_approver(*, actor: Actor, school: Institution) -> None:
    """Approving or declining needs Data Sharing Request: Administer at the school itself
    (inside a hop, through the group role's school-level set)."""
    if actor.user is None:
        return
    if actor.site is not None and actor.site.pk != school.pk:
        raise PermissionDenied("Only the school itself can approve or decline its requests.")
    if not has_permission(
        user=actor.user,
        site=school,
        code=DATA_SHARING_REQUEST,
        access=Access.ADMINISTER,
        via_group=actor.acting_from,
    ):
        raise PermissionDenied("Approving data sharing needs “Data Sharing Request: Administer”.")


def _level_clean(level) -> AccessLevel:
    """``rules.level_clean``, refusing as a service does."""
    try:
        return level_clean(level)
    except ValueError as error:
        raise ValidationError({"level": str(error)}, code="invalid") from None


@transaction.atomic
def agreement_requests_send(
    *,
    group: Institution,
    schools: Iterable[Institution],
    sender: StaffProfile,
    recipient_roles: Sequence[str],
    level: int,
    actor: Actor,
) -> BulkOutcome:
    """Ask each of ``schools`` to agree to share at ``level``, from ``sender`` (a member of
    the group's staff with an email address), to each school's staff holding one of
    ``recipient_roles`` ("all" for the four) who have an email address.

    Per school the request is sent, or skipped with the reason: not one of the group's
    schools, a request already pending, already approved at this level or higher, nobody
    to send it to. A request to an approved school at a higher level is how a level is
    raised. Raises ValidationError (nothing sent) for a bad level, sender or roles.

    A constant number of queries for any number of schools (the emails are queued in the
    outbox: ``sharing.emails``). Two sends racing for the same school: the partial unique
    index ``one_pending_request_per_pair`` lets one through, the other reports the school
    as having a pending request.
    """
    if not group.is_group:
        raise ValidationError("Only a trust or local authority sends data sharing requests.")
    level = _level_clean(level)
    try:
        roles = recipient_roles_clean(recipient_roles)
    except ValueError as error:
        raise ValidationError({"recipient_roles": str(error)}, code="invalid") from None
    sender_user = sender.user
    if sender.site_id != group.pk or not sender.is_active or not sender_user.is_active:
        raise ValidationError(
            {"sender": "The request must come from a member of this group’s staff."},
            code="invalid",
        )
    if not sender_user.email:
        raise ValidationError(
            {"sender": "The sender needs an email address for the school to reply to."},
            code="invalid",
        )
    _require_group_admin(actor=actor, group=group)

    schools = list({school.pk: school for school in schools}.values())
    ids = sorted(school.pk for school in schools)
    members = set(current_schools(group=group).filter(pk__in=ids).values_list("pk", flat=True))
    # Pending first, then the agreements under lock: an approval committing in between
    # shows either as still pending (skipped) or as its new level (compared).
    pending = set(
        AgreementRequest.objects.filter(
            group=group, school_id__in=members, status=RequestStatus.PENDING
        ).values_list("school_id", flat=True)
    )
    levels = dict(
        Agreement.objects.select_for_update()
        .filter(group=group, school_id__in=members)
        .order_by("school_id")
        .values_list("school_id", "level")
    )
    recipients = eligible_recipients(school_ids=members, roles=roles)

    reasons: dict[int, str] = {}
    for school in schools:
        reasons[school.pk] = send_skip_reason(
            is_member=school.pk in members,
            pending=school.pk in pending,
            approved_level=levels.get(school.pk, 0),
            level=level,
            has_recipients=bool(recipients.get(school.pk)),
            roles=roles,
        )
    to_send = [pk for pk in ids if not reasons[pk]]
    created = _requests_insert(group=group, school_ids=to_send, level=level, sender=sender)
    for pk in to_send:
        if pk not in created:  # another send got there first
            reasons[pk] = ALREADY_PENDING

    by_id = {school.pk: school for school in schools}
    new_requests = [
        AgreementRequest(
            pk=request_id,
            group=group,
            school=by_id[school_id],
            level=level,
            sender=sender,
            status=RequestStatus.PENDING,
            created_at=now,
        )
        for school_id, (request_id, now) in created.items()
    ]
    written = RequestRecipient.objects.bulk_create(
        [
            RequestRecipient(
                request_id=request.pk,
                school_id=request.school_id,
                user_id=recipient.user_id,
                email=recipient.email,
                role_name=recipient.role_name,
            )
            for request in new_requests
            for recipient in recipients[request.school_id]
        ]
    )
    recipients_of: dict[int, list[RequestRecipient]] = {}
    for row in written:
        recipients_of.setdefault(row.request_id, []).append(row)
    for request in new_requests:  # as if prefetched: the emails need no further query
        request._prefetched_objects_cache = {"recipients": recipients_of.get(request.pk, [])}
    events = []
    for request in new_requests:
        detail = {
            "request": request.pk,
            "level": int(level),
            "sender": sender_user.email,
            "recipients": [r.email for r in recipients[request.school_id]],
        }
        events.append((group.pk, f"{request.school.name}: {level.label}", detail))
        events.append((request.school_id, f"{group.name}: {level.label}", detail))
    if events:
        audit.record_many(actor=actor, action=AuditAction.REQUEST_SENT, events=events)
    request_emails_enqueue(requests=new_requests, kind=EmailKind.REQUEST)

    request_ids = {request.school_id: request.pk for request in new_requests}
    rows = tuple(
        _outcome(
            school,
            reason=reasons[school.pk],
            recipients=(
                tuple(r.email for r in recipients[school.pk]) if not reasons[school.pk] else ()
            ),
            request_id=request_ids.get(school.pk),
        )
        for school in sorted(schools, key=lambda s: (s.name.casefold(), s.pk))
    )
    return BulkOutcome(action=BulkAction.SEND, rows=rows, level=int(level))


def _requests_insert(
    *, group: Institution, school_ids: list[int], level: int, sender: StaffProfile
) -> dict[int, tuple[int, datetime.datetime]]:
    """Insert a pending request for each school in one statement; a school that already
    has one (the partial unique index) is left alone. Returns ``{school id: (request id,
    created at)}`` for the rows this call inserted, and only those."""
    if not school_ids:
        return {}
    now = timezone.now()
    table = AgreementRequest._meta.db_table
    # ON CONFLICT DO NOTHING ... RETURNING names exactly the rows this statement made; a
    # concurrent send's rows (committed or not) never appear in it.
    sql = (
        f"INSERT INTO {table} "  # noqa: S608 - the table name comes from the model
        "(group_id, school_id, level, sender_id, status, created_at, decline_reason) "
        "SELECT %s, school_id, %s, %s, %s, %s, '' "
        "FROM unnest(%s::bigint[]) WITH ORDINALITY AS t(school_id, n) ORDER BY n "
        "ON CONFLICT DO NOTHING RETURNING id, school_id"
    )
    params = [group.pk, int(level), sender.pk, RequestStatus.PENDING, now, school_ids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {school_id: (request_id, now) for request_id, school_id in cursor.fetchall()}


def _group_requests_locked(
    *, group: Institution, requests: Iterable[AgreementRequest | int]
) -> tuple[list[AgreementRequest], list[AgreementRequest]]:
    """The group's requests among ``requests`` locked for update, and the others given
    (another group's), each list in school-name order."""
    given = {r.pk if isinstance(r, AgreementRequest) else int(r): r for r in requests}
    locked = list(
        AgreementRequest.objects.select_for_update(of=("self",))
        .filter(group=group, pk__in=given)
        .select_related("school")
        .order_by("pk")
    )
    found = {request.pk for request in locked}
    foreign = [r for pk, r in given.items() if pk not in found and isinstance(r, AgreementRequest)]
    locked.sort(key=lambda r: (r.school.name.casefold(), r.pk))
    return locked, foreign


NOT_THE_GROUPS_REQUEST = "not one of this group’s requests"


def _not_pending_reason(request: AgreementRequest) -> str:
    return f"the request was already {request.get_status_display().lower()}"


@transaction.atomic
def agreement_requests_remind(
    *,
    group: Institution,
    requests: Iterable[AgreementRequest | int],
    actor: Actor,
    min_interval: datetime.timedelta = datetime.timedelta(hours=1),
) -> BulkOutcome:
    """Send a reminder for each pending request: recorded as a ``RequestReminder`` and
    emailed to the request's recipients. At most one reminder per request per
    ``min_interval``: a request reminded more recently is skipped with the time the next
    may be sent. Requests no longer pending are skipped, and so are another group's."""
    _require_group_admin(actor=actor, group=group)
    locked, foreign = _group_requests_locked(group=group, requests=requests)
    pending_ids = [r.pk for r in locked if r.status == RequestStatus.PENDING]
    last = dict(
        RequestReminder.objects.filter(request_id__in=pending_ids)
        .values("request_id")
        .annotate(last=Max("sent_at"))
        .values_list("request_id", "last")
    )
    now = timezone.now()
    interval_words = _interval_words(min_interval)
    rows: list[SchoolOutcome] = []
    to_remind: list[AgreementRequest] = []
    for request in locked:
        if request.status != RequestStatus.PENDING:
            rows.append(_outcome(request.school, reason=_not_pending_reason(request)))
            continue
        previous = last.get(request.pk)
        if previous is not None and now - previous < min_interval:
            rows.append(
                _outcome(
                    request.school,
                    reason=f"a reminder was sent in the last {interval_words}",
                    request_id=request.pk,
                    next_allowed_at=previous + min_interval,
                )
            )
            continue
        to_remind.append(request)
        rows.append(_outcome(request.school, request_id=request.pk))
    rows += [_outcome(r.school, reason=NOT_THE_GROUPS_REQUEST) for r in foreign]
    if to_remind:
        sent_by = actor.user
        if sent_by is None:
            raise ValidationError("A reminder is sent by a person.")
        reminders = RequestReminder.objects.bulk_create(
            [RequestReminder(request=request, sent_by=sent_by) for request in to_remind]
        )
        events = []
        for request in to_remind:
            detail = {"request": request.pk, "level": request.level}
            label = AccessLevel(request.level).label
            events.append((group.pk, f"{request.school.name}: {label}", detail))
            events.append((request.school_id, f"{group.name}: {label}", detail))
        audit.record_many(actor=actor, action=AuditAction.REQUEST_REMINDED, events=events)
        request_emails_enqueue(
            requests=to_remind,
            kind=EmailKind.REMINDER,
            reminders={reminder.request_id: reminder for reminder in reminders},
        )
    return BulkOutcome(action=BulkAction.REMIND, rows=tuple(rows))


def _interval_words(interval: datetime.timedelta) -> str:
    minutes = int(interval.total_seconds() // 60)
    if minutes == 60:
        return "hour"
    if minutes % 60 == 0:
        return f"{minutes // 60} hours"
    return f"{minutes} minutes"


@transaction.atomic
def agreement_requests_withdraw(
    *, group: Institution, requests: Iterable[AgreementRequest | int], actor: Actor
) -> BulkOutcome:
    """Withdraw each pending request (the school can no longer approve it). A request
    already withdrawn is a harmless repeat; others no longer pending are skipped."""
    _require_group_admin(actor=actor, group=group)
    locked, foreign = _group_requests_locked(group=group, requests=requests)
    now = timezone.now()
    rows: list[SchoolOutcome] = []
    withdrawn: list[AgreementRequest] = []
    for request in locked:
        if request.status != RequestStatus.PENDING:
            rows.append(_outcome(request.school, reason=_not_pending_reason(request)))
            continue
        withdrawn.append(request)
        rows.append(_outcome(request.school, request_id=request.pk))
    rows += [_outcome(r.school, reason=NOT_THE_GROUPS_REQUEST) for r in foreign]
    if withdrawn:
        AgreementRequest.objects.filter(
            pk__in=[r.pk for r in withdrawn], status=RequestStatus.PENDING
        ).update(status=RequestStatus.WITHDRAWN, decided_at=now, decided_by=actor.user)
        events = []
        for request in withdrawn:
            request.status = RequestStatus.WITHDRAWN
            detail = {"request": request.pk, "level": request.level}
            label = AccessLevel(request.level).label
            events.append((group.pk, f"{request.school.name}: {label}", detail))
            events.append((request.school_id, f"{group.name}: {label}", detail))
        audit.record_many(actor=actor, action=AuditAction.REQUEST_WITHDRAWN, events=events)
    return BulkOutcome(action=BulkAction.WITHDRAW, rows=tuple(rows))


# --- School side ----------------------------------------------------------------------------


class Decision(models.TextChoices):
    APPROVED = "approved", "Approved"
    ALREADY_APPROVED = "already_approved", "Already approved"
    SUPERSEDED = "superseded", "Already covered by the agreement"
    DECLINED = "declined", "Declined"
    ALREADY_DECLINED = "already_declined", "Already declined"


@dataclass(frozen=True)
class RequestDecision:
    """What approving or declining did, with a sentence for the person who did it."""

    request: AgreementRequest
    decision: str
    message: str

    @property
    def changed(self) -> bool:
        return self.decision in (Decision.APPROVED, Decision.SUPERSEDED, Decision.DECLINED)


def _request_locked(request: AgreementRequest) -> AgreementRequest:
    return (
        AgreementRequest.objects.select_for_update(of=("self",))
        .select_related("group", "school")
        .get(pk=request.pk)
    )


def _decision_audit(*, actor: Actor, action: AuditAction, request, detail: dict) -> None:
    label = AccessLevel(request.level).label
    detail = {"request": request.pk, "level": request.level, **detail}
    audit.record_many(
        actor=actor,
        action=action,
        events=[
            (request.school_id, f"{request.group.name}: {label}", detail),
            (request.group_id, f"{request.school.name}: {label}", detail),
        ],
    )


@transaction.atomic
def agreement_request_approve(*, request: AgreementRequest, actor: Actor) -> RequestDecision:
    """The school agrees: the agreement is set or raised to the request's level.

    Under a row lock on the request and on the agreement. Approving again is a harmless
    repeat; a request whose level is not above the agreement's (it was raised meanwhile,
    or set up by support) is marked superseded and changes nothing else. A request that is
    declined, withdrawn or superseded cannot be approved (``RequestStateError``), nor one
    to a school that has left the group. Needs Data Sharing Request: Administer at the
    school (PermissionDenied).
    """
    locked = _request_locked(request)
    _require_school_approver(actor=actor, school=locked.school)
    label = AccessLevel(locked.level).label
    if locked.status == RequestStatus.APPROVED:
        return RequestDecision(
            locked, Decision.ALREADY_APPROVED, f"This request was already approved ({label})."
        )
    if locked.status != RequestStatus.PENDING:
        raise RequestStateError(
            f"This request was {locked.get_status_display().lower()}, so it can no longer "
            "be approved. Nothing was changed.",
            code="not_pending",
        )
    if not current_schools(group=locked.group).filter(pk=locked.school_id).exists():
        raise RequestStateError(
            f"{locked.school.name} is no longer one of {locked.group.name}’s schools, so "
            "this request can no longer be approved.",
            code="not_member",
        )
    agreement = (
        Agreement.objects.select_for_update()
        .filter(group=locked.group, school=locked.school)
        .first()
    )
    now = timezone.now()
    locked.decided_at, locked.decided_by = now, actor.user
    if agreement is not None and agreement.level >= locked.level:
        locked.status = RequestStatus.SUPERSEDED
        locked.save(update_fields=["status", "decided_at", "decided_by"])
        current = agreement.get_level_display()
        _decision_audit(
            actor=actor,
            action=AuditAction.REQUEST_APPROVED,
            request=locked,
            detail={"outcome": "superseded", "agreement_level": agreement.level},
        )
        return RequestDecision(
            locked,
            Decision.SUPERSEDED,
            f"The agreement with {locked.group.name} is already at “{current}”, which "
            f"covers this request for “{label}”. Nothing else changed.",
        )
    agreement_raise(group=locked.group, school=locked.school, level=locked.level, actor=actor)
    locked.status = RequestStatus.APPROVED
    locked.save(update_fields=["status", "decided_at", "decided_by"])
    _decision_audit(
        actor=actor,
        action=AuditAction.REQUEST_APPROVED,
        request=locked,
        detail={"outcome": "approved", "from": agreement.level if agreement else 0},
    )
    return RequestDecision(
        locked,
        Decision.APPROVED,
        f"Approved: {locked.group.name} can now use “{label}”. "
        "An access level can be raised later but never lowered.",
    )


DECLINE_REASON_MAX = 500


@transaction.atomic
def agreement_request_decline(
    *, request: AgreementRequest, actor: Actor, reason: str = ""
) -> RequestDecision:
    """The school says no (optionally why). Declining again is a harmless repeat; an
    approved, withdrawn or superseded request cannot be declined (``RequestStateError``).
    Needs Data Sharing Request: Administer at the school (PermissionDenied)."""
    locked = _request_locked(request)
    _require_school_approver(actor=actor, school=locked.school)
    reason = " ".join((reason or "").split())
    if len(reason) > DECLINE_REASON_MAX:
        raise ValidationError(
            {"reason": f"Keep the reason to {DECLINE_REASON_MAX} characters or fewer."},
            code="max_length",
        )
    if locked.status == RequestStatus.DECLINED:
        return RequestDecision(
            locked, Decision.ALREADY_DECLINED, "This request was already declined."
        )
    if locked.status != RequestStatus.PENDING:
        raise RequestStateError(
            f"This request was {locked.get_status_display().lower()}, so it can no longer "
            "be declined. Nothing was changed.",
            code="not_pending",
        )
    locked.status = RequestStatus.DECLINED
    locked.decided_at, locked.decided_by = timezone.now(), actor.user
    locked.decline_reason = reason
    locked.save(update_fields=["status", "decided_at", "decided_by", "decline_reason"])
    _decision_audit(
        actor=actor, action=AuditAction.REQUEST_DECLINED, request=locked, detail={"reason": reason}
    )
    return RequestDecision(
        locked,
        Decision.DECLINED,
        f"Declined. {locked.group.name} can see no more than before; it may ask again later.",
    )


# --- Automated agreements (platform support) ----------------------------------------------------


@transaction.atomic
def agreements_automate(*, trust: Institution, level: int, actor: Actor) -> int:
    """Set every current school of ``trust`` to ``level`` without requests or emails, as
    platform support does for trusts that agree centrally. Never lowers: schools already
    at that level or higher are left as they are. Pending requests at or below the level
    are superseded. Returns how many agreements were set or raised."""
    if trust.kind != InstitutionKind.TRUST:
        raise ValidationError("Automated agreements are for trusts only.")
    level = _level_clean(level)
    schools = list(current_schools(group=trust))
    levels = dict(
        Agreement.objects.filter(group=trust, school__in=schools).values_list("school_id", "level")
    )
    changed: list[Institution] = []
    for school in schools:
        if levels.get(school.pk, 0) >= level:
            continue
        try:
            _, did_change = agreement_raise(
                group=trust, school=school, level=level, actor=actor, automated=True
            )
        except AgreementLevelError:  # raised meanwhile by an approval: already higher
            continue
        if did_change:
            changed.append(school)
    superseded = AgreementRequest.objects.filter(
        group=trust,
        school__in=schools,
        status=RequestStatus.PENDING,
        level__lte=level,
    ).update(status=RequestStatus.SUPERSEDED, decided_at=timezone.now(), decided_by=actor.user)
    detail = {
        "level": int(level),
        "changed": len(changed),
        "schools": len(schools),
        "superseded_requests": superseded,
    }
    events = [(trust.pk, f"{len(changed)} schools: {level.label}", detail)]
    events += [
        (school.pk, f"{trust.name}: {level.label}", {"level": int(level)}) for school in changed
    ]
    audit.record_many(actor=actor, action=AuditAction.AGREEMENT_AUTOMATED, events=events)
    return len(changed)
