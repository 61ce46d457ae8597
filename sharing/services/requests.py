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
from notifications.models import EmailDelivery
from notifications.services import deliveries_insert_sql, deliveries_send_on_commit

from ..emails import AGREEMENT_REQUEST_EMAIL, EmailKind, request_emails_enqueue, request_topic
from ..models import (
    AccessLevel,
    Agreement,
    AgreementRequest,
    RecipientSource,
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
    request_ids = _requests_write(
        group=group,
        schools=[school for school in schools if school.pk in set(to_send)],
        recipients=recipients,
        level=level,
        sender=sender,
        actor=actor,
    )
    for pk in to_send:
        if pk not in request_ids:  # another send got there first
            reasons[pk] = ALREADY_PENDING

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


EMAIL_ADDRESS_MAX = EmailDelivery._meta.get_field("address").max_length

# The bulk send's writes in one statement, set-based: the requests (one per school, a
# school with a pending one left alone), their recipients, two audit events per request (the
# group's and the school's) and one queued email per recipient, each INSERT selecting from
# the rows the one before it returned. What is sent to whom comes in as arrays.
_SEND_SQL = """
WITH wanted AS (
    SELECT * FROM unnest(%(school_ids)s::bigint[], %(group_targets)s::text[],
                         %(school_targets)s::text[]) WITH ORDINALITY
        AS w(school_id, group_target, school_target, n)
), people AS (
    SELECT * FROM unnest(%(people_schools)s::bigint[], %(people_users)s::bigint[],
                         %(people_emails)s::text[], %(people_roles)s::text[],
                         %(people_sources)s::text[]) WITH ORDINALITY
        AS p(school_id, user_id, email, role_name, source, n)
), made AS (
    INSERT INTO sharing_agreementrequest
        (group_id, school_id, level, sender_id, status, created_at, decline_reason)
    SELECT %(group)s::bigint, w.school_id, %(level)s::int, %(sender)s::bigint,
           %(pending)s::text, %(now)s::timestamptz, ''
    FROM wanted w ORDER BY w.n
    ON CONFLICT DO NOTHING RETURNING id, school_id
), sent_to AS (
    INSERT INTO sharing_requestrecipient
        (request_id, school_id, user_id, email, role_name, source, added_at)
    SELECT made.id, p.school_id, p.user_id, p.email, p.role_name, p.source, %(now)s::timestamptz
    FROM made JOIN people p ON p.school_id = made.school_id
    ORDER BY made.id, p.n
    RETURNING id, request_id, email
), people_by_school AS (
    SELECT p.school_id, jsonb_agg(p.email ORDER BY p.n) AS emails,
           coalesce(jsonb_agg(p.email ORDER BY p.n)
                    FILTER (WHERE p.source = %(named_source)s::text), '[]'::jsonb) AS named
    FROM people p GROUP BY p.school_id
), details AS (
    SELECT made.id, made.school_id, w.group_target, w.school_target,
           jsonb_build_object(
               'request', made.id, 'level', %(level)s::int, 'sender', %(sender_email)s::text,
               'recipients', coalesce(pb.emails, '[]'::jsonb),
               'named', coalesce(pb.named, '[]'::jsonb)
           ) AS detail
    FROM made
    JOIN wanted w ON w.school_id = made.school_id
    LEFT JOIN people_by_school pb ON pb.school_id = made.school_id
), events AS (
    SELECT %(group)s::bigint AS site_id, group_target AS target, detail, id, 1 AS side
    FROM details
    UNION ALL
    SELECT school_id, school_target, detail, id, 2 FROM details
    ORDER BY id, side
), audited AS (
    {audit}
), queued AS (
    {deliveries}
)
SELECT made.id, made.school_id, coalesce(k.keys, '{{}}')
FROM made
LEFT JOIN (
    SELECT q.topic, array_agg(q.dedupe_key ORDER BY q.dedupe_key) AS keys
    FROM queued q GROUP BY q.topic
) k ON k.topic = %(topic_prefix)s::text || made.id
"""


def _requests_write(
    *,
    group: Institution,
    schools: list[Institution],
    recipients: dict[int, list[Recipient]],
    level: int,
    sender: StaffProfile,
    actor: Actor,
) -> dict[int, int]:
    """Write the requests to ``schools`` with their recipients, audit events and queued
    emails (``_SEND_SQL``), and send the emails once the transaction commits. Returns
    ``{school id: request id}`` for the requests this call made, and only those: a school
    whose pending request a concurrent send made first is left out (the partial unique
    index ``one_pending_request_per_pair`` decides)."""
    if not schools:
        return {}
    statement, params = requests_write_statement(
        group=group,
        schools=schools,
        recipients=recipients,
        level=level,
        sender=sender,
        actor=actor,
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    deliveries_send_on_commit(
        site_id=group.pk,
        keys_by_topic={request_topic(request_id): keys for request_id, _, keys in rows},
    )
    return {school_id: request_id for request_id, school_id, _ in rows}


def requests_write_statement(
    *,
    group: Institution,
    schools: list[Institution],
    recipients: dict[int, list[Recipient]],
    level: int,
    sender: StaffProfile,
    actor: Actor,
) -> tuple[str, dict]:
    """The statement ``agreement_requests_send`` writes with, and its parameters (the bench
    runs the same through raw psycopg as its floor). Rows: (request id, school id, queued
    email keys) for each request made."""
    level = AccessLevel(level)
    ordered = sorted(schools, key=lambda school: school.pk)
    people = [(school.pk, r) for school in ordered for r in recipients[school.pk]]
    for _, recipient in people:  # as deliveries_enqueue checks each message
        if not recipient.email or len(recipient.email) > EMAIL_ADDRESS_MAX:
            raise ValueError(
                f"An email's address needs 1 to {EMAIL_ADDRESS_MAX} characters: {recipient.email!r}"
            )
    audit_sql, params = audit.insert_select_sql(
        actor=actor,
        action=AuditAction.REQUEST_SENT,
        source="events",
        site_id="events.site_id",
        target="events.target",
        detail="events.detail",
    )
    deliveries_sql = deliveries_insert_sql(
        source="sent_to",
        site_id="%(group)s::bigint",
        address="sent_to.email",
        kind="%(kind)s::text",
        topic="%(topic_prefix)s::text || sent_to.request_id",
        dedupe_key="sent_to.request_id || ':' || sent_to.id || ':' || %(kind)s::text || ':0'",
        builder="%(builder)s::text",
        params=(
            "jsonb_build_object('request_id', sent_to.request_id, 'recipient_id', sent_to.id, "
            "'reminder_id', NULL)"
        ),
    )
    params.update(
        group=group.pk,
        level=int(level),
        sender=sender.pk,
        sender_email=sender.user.email,
        pending=RequestStatus.PENDING,
        now=timezone.now(),
        school_ids=[school.pk for school in ordered],
        group_targets=[f"{school.name}: {level.label}" for school in ordered],
        school_targets=[f"{group.name}: {level.label}"] * len(ordered),
        people_schools=[school_id for school_id, _ in people],
        people_users=[r.user_id for _, r in people],
        people_emails=[r.email for _, r in people],
        people_roles=[r.role_name for _, r in people],
        people_sources=[
            RecipientSource.NAMED if r.named else RecipientSource.ROLE for _, r in people
        ],
        named_source=RecipientSource.NAMED,
        kind=EmailKind.REQUEST,
        topic_prefix=request_topic(0).removesuffix("0"),
        builder=AGREEMENT_REQUEST_EMAIL,
    )
    return _SEND_SQL.format(audit=audit_sql, deliveries=deliveries_sql), params


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
