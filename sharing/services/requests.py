"""The group side's bulk requests: send (or raise a level by asking again), remind and
withdraw, each reporting per school what it did (``outcomes.BulkOutcome``)."""

import datetime
from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from accounts import audit
from accounts.audit import Actor
from accounts.models import AuditAction, StaffProfile
from institutions.models import Institution
from institutions.selectors import current_schools

from ..emails import EmailKind, request_emails_enqueue
from ..models import (
    AccessLevel,
    Agreement,
    AgreementRequest,
    RecipientSource,
    RequestRecipient,
    RequestReminder,
    RequestStatus,
)
from ..rules import (
    ALREADY_PENDING,
    RECIPIENT_ROLES,
    recipient_roles_clean,
    roles_phrase,
    send_skip_reason,
)
from ..selectors import Recipient, eligible_recipients
from .guards import require_group_admin, require_level
from .outcomes import BulkAction, BulkOutcome, SchoolOutcome


def _outcome(school: Institution, **fields) -> SchoolOutcome:
    return SchoolOutcome(school_id=school.pk, urn=school.urn or "", name=school.name, **fields)


@transaction.atomic
def agreement_requests_send(
    *,
    group: Institution,
    schools: Iterable[Institution],
    sender: StaffProfile,
    recipient_roles: Sequence[str],
    level: int,
    actor: Actor,
    named_recipients: Iterable[int] = (),
) -> BulkOutcome:
    """Ask each of ``schools`` to agree to share at ``level``, from ``sender`` (a member of
    the group's staff with an email address), to each school's staff holding one of
    ``recipient_roles`` ("all" for the four) who have an email address, and to the staff
    profiles ``named_recipients`` (people chosen by name; each person once). Roles may be
    left empty when people are named. Every named person must be on the staff of one of
    the chosen schools, holding one of ``RECIPIENT_ROLES`` there with an email address:
    otherwise ValidationError names them and nothing is sent.

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
    level = require_level(level)
    named = _named_clean(named_recipients)
    try:
        roles = recipient_roles_clean(recipient_roles) if recipient_roles or not named else ()
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
    require_group_admin(actor=actor, group=group)

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
        Agreement.objects.in_force()
        .select_for_update()
        .filter(group=group, school_id__in=members)
        .order_by("school_id")
        .values_list("school_id", "level")
    )
    recipients = eligible_recipients(school_ids=members, roles=roles, named=named)
    _require_named_found(named=named, recipients=recipients, school_ids=members)

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
                source=RecipientSource.NAMED if recipient.named else RecipientSource.ROLE,
                added_at=request.created_at,
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
            "named": [r.email for r in recipients[request.school_id] if r.named],
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
            recipient_names=(
                tuple(_recipient_words(r) for r in recipients[school.pk])
                if not reasons[school.pk]
                else ()
            ),
            request_id=request_ids.get(school.pk),
        )
        for school in sorted(schools, key=lambda s: (s.name.casefold(), s.pk))
    )
    return BulkOutcome(action=BulkAction.SEND, rows=rows, level=int(level))


def _named_clean(named: Iterable[int]) -> set[int]:
    try:
        return {int(pk) for pk in named}
    except (TypeError, ValueError):
        raise ValidationError(
            {"named_recipients": "Choose people by their staff profile ids."}, code="invalid"
        ) from None


def _require_named_found(
    *, named: set[int], recipients: dict[int, list[Recipient]], school_ids: Iterable[int]
) -> None:
    """Every person chosen by name is among the recipients (eligible at one of the chosen
    schools); otherwise a ValidationError saying why for each (one query, only then)."""
    found = {r.profile_id for people in recipients.values() for r in people if r.named}
    missing = sorted(named - found)
    if not missing:
        return
    at_schools = {
        profile.pk: profile
        for profile in StaffProfile.objects.filter(pk__in=missing, site_id__in=list(school_ids))
        .select_related("user", "site")
        .order_by("pk")
    }
    problems = []
    for pk in missing:
        profile = at_schools.get(pk)
        if profile is None:  # unknown, or another school's or trust's: the same words
            problems.append(f"Staff profile {pk} is not on the staff of the chosen schools.")
        elif not profile.is_active or not profile.user.is_active:
            problems.append(
                f"{profile.user.display_name} is no longer on {profile.site.name}’s staff."
            )
        elif not profile.user.email:
            problems.append(f"{profile.user.display_name} has no email address.")
        else:
            problems.append(
                f"{profile.user.display_name} does not hold a role requests go to "
                f"({roles_phrase(RECIPIENT_ROLES)}) at {profile.site.name}."
            )
    raise ValidationError({"named_recipients": [*problems, "Nothing was sent."]}, code="invalid")


def _recipient_words(recipient: Recipient) -> str:
    """ "Ann Smith (Head Teacher, chosen by name)" for the per-school summary."""
    how = ", chosen by name" if recipient.named else ""
    return f"{recipient.name} ({recipient.role_name}{how})"


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
    require_group_admin(actor=actor, group=group)
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
    require_group_admin(actor=actor, group=group)
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
