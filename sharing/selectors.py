"""Reads about data sharing agreements and requests. Every read takes the group site.

The three tabs of Institutions > Data Sharing Agreements are the group's current schools,
searched and filtered exactly as in Browse Institutions (``group_school_list``), split by
what they share:

- **No Agreement**: no approved agreement and no pending request;
- **Pending**: a pending request (a first request, or a request to raise a level);
- **Approved**: an approved agreement, at its level (a school raising its level is listed
  under Pending as well, with its current level).
"""

import datetime
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Lower
from django.http import Http404
from django.utils import timezone

from accounts.models import RoleAssignment, StaffProfile
from institutions.models import Institution
from institutions.selectors import group_school_facets, group_school_list
from matmis.listing import FacetOption
from notifications.models import DeliveryStatus
from notifications.selectors import delivery_counts_by_topic

from .access import approved_level_subquery
from .emails import EmailKind, request_topic
from .models import (
    LEVEL_MEANINGS,
    AccessLevel,
    Agreement,
    AgreementRequest,
    RequestReminder,
    RequestStatus,
)
from .rules import RECIPIENT_ROLES, send_skip_reason

TAB_NONE = "none"
TAB_PENDING = "pending"
TAB_APPROVED = "approved"
TABS: dict[str, str] = {
    TAB_NONE: "No Agreement",
    TAB_PENDING: "Pending",
    TAB_APPROVED: "Approved",
}

# --- Filters shared by every read ------------------------------------------------------------


def _agreement_exists(group: Institution) -> Exists:
    return Exists(Agreement.objects.in_force().filter(group=group, school=OuterRef("pk")))


def _pending_exists(group: Institution) -> Exists:
    return Exists(
        AgreementRequest.objects.filter(
            group=group, school=OuterRef("pk"), status=RequestStatus.PENDING
        )
    )


def _tab_condition(group: Institution, tab: str) -> Q:
    if tab == TAB_PENDING:
        return Q(_pending_exists(group))
    if tab == TAB_APPROVED:
        return Q(_agreement_exists(group))
    return ~Q(_agreement_exists(group)) & ~Q(_pending_exists(group))


def _agreement(group: Institution, field_name: str) -> Subquery:
    return Subquery(
        Agreement.objects.in_force()
        .filter(group=group, school=OuterRef("pk"))
        .values(field_name)[:1]
    )


def _pending(group: Institution, field_name: str) -> Subquery:
    return Subquery(
        AgreementRequest.objects.filter(
            group=group, school=OuterRef("pk"), status=RequestStatus.PENDING
        ).values(field_name)[:1]
    )


def _last_closed(group: Institution, field_name: str) -> Subquery:
    """Of the school's requests that were declined or withdrawn, the latest one's field."""
    return Subquery(
        AgreementRequest.objects.filter(
            group=group,
            school=OuterRef("pk"),
            status__in=[RequestStatus.DECLINED, RequestStatus.WITHDRAWN],
        )
        .order_by("-decided_at", "-pk")
        .values(field_name)[:1]
    )


def _last_ended(group: Institution, field_name: str) -> Subquery:
    """Of the group's agreements with the school that ended (it left the group, and may
    have rejoined since), the latest one's field."""
    return Subquery(
        Agreement.objects.ended()
        .filter(group=group, school=OuterRef("pk"))
        .order_by("-ended_at", "-pk")
        .values(field_name)[:1]
    )


def tab_school_list(*, group: Institution, tab: str, **filters) -> QuerySet[Institution]:
    """The schools of one tab matching the search and filters, without the annotations:
    what "all matching schools" means for a bulk send."""
    if tab not in TABS:
        raise ValueError(f"Unknown tab {tab!r}")
    return group_school_list(group=group, **filters).filter(_tab_condition(group, tab))


def agreement_tab_schools(
    *, group: Institution, tab: str, sort: str = "name", **filters
) -> QuerySet[Institution]:
    """The schools of one tab, searched, filtered and sorted as Browse Institutions, each
    annotated with what the tables show:

    ``agreement_level`` (None without an agreement); ``pending_request_id``,
    ``pending_level``, ``pending_sent_at``, ``pending_sender_name``,
    ``pending_sender_email`` and ``last_reminder_at`` (None without a pending request);
    ``last_closed_status``, ``last_closed_at`` and ``last_decline_reason``: the latest
    declined or withdrawn request; ``ended_agreement_level``, ``ended_agreement_at`` and
    ``ended_agreement_reason``: the latest agreement that ended when the school left the
    group (a school that rejoined starts here, on No Agreement).
    """
    if tab not in TABS:
        raise ValueError(f"Unknown tab {tab!r}")
    schools = group_school_list(group=group, sort=sort, **filters).filter(
        _tab_condition(group, tab)
    )
    schools = schools.annotate(
        agreement_level=approved_level_subquery(group=group),
        agreement_approved_at=_agreement(group, "approved_at"),
        agreement_automated=_agreement(group, "automated"),
        pending_request_id=_pending(group, "pk"),
        pending_level=_pending(group, "level"),
        pending_sent_at=_pending(group, "created_at"),
        pending_sender_name=_pending(group, "sender__user__full_name"),
        pending_sender_email=_pending(group, "sender__user__email"),
    ).annotate(
        last_reminder_at=Subquery(
            RequestReminder.objects.filter(request_id=OuterRef("pending_request_id"))
            .order_by("-sent_at")
            .values("sent_at")[:1]
        ),
    )
    if tab == TAB_NONE:
        schools = schools.annotate(
            last_closed_status=_last_closed(group, "status"),
            last_closed_at=_last_closed(group, "decided_at"),
            last_decline_reason=_last_closed(group, "decline_reason"),
            ended_agreement_level=_last_ended(group, "level"),
            ended_agreement_at=_last_ended(group, "ended_at"),
            ended_agreement_reason=_last_ended(group, "end_reason"),
        )
    return schools


def no_agreement_schools(*, group: Institution, sort: str = "name", **filters):
    """The No Agreement tab: schools with neither an agreement nor a pending request."""
    return agreement_tab_schools(group=group, tab=TAB_NONE, sort=sort, **filters)


def pending_request_schools(*, group: Institution, sort: str = "name", **filters):
    """The Pending tab: schools with a pending request."""
    return agreement_tab_schools(group=group, tab=TAB_PENDING, sort=sort, **filters)


def approved_agreement_schools(*, group: Institution, sort: str = "name", **filters):
    """The Approved tab: schools with an approved agreement."""
    return agreement_tab_schools(group=group, tab=TAB_APPROVED, sort=sort, **filters)


def pending_requests(*, group: Institution, **filters) -> QuerySet[AgreementRequest]:
    """The group's pending requests to its current schools matching the search and
    filters: what "all matching schools" means for a reminder or a withdrawal."""
    schools = group_school_list(group=group, **filters).order_by().values("pk")
    return (
        AgreementRequest.objects.filter(
            group=group, status=RequestStatus.PENDING, school__in=schools
        )
        .select_related("school")
        .order_by(Lower("school__name"), "pk")
    )


def ended_agreements(*, group: Institution) -> QuerySet[Agreement]:
    """The group's agreements that ended because the school left the group, newest end
    first: history, whether the school is a member again or not. They grant nothing."""
    return (
        Agreement.objects.ended()
        .filter(group=group)
        .select_related("school")
        .order_by("-ended_at", Lower("school__name"), "pk")
    )


def approved_agreements(*, group: Institution, **filters) -> QuerySet[Agreement]:
    """The group's agreements in force with its current schools matching the search and
    filters."""
    schools = group_school_list(group=group, **filters).order_by().values("pk")
    return (
        Agreement.objects.in_force()
        .filter(group=group, school__in=schools)
        .select_related("school")
        .order_by(Lower("school__name"), "pk")
    )


def requests_for_selection(
    *, group: Institution, request_ids: Iterable[int]
) -> list[AgreementRequest]:
    """The group's requests with ``request_ids`` (any status; a repeat counts once), by
    school name: what a reminder or a withdrawal of ticked requests applies to, in the
    pages and the API alike.

    Raises Http404 unless every one is the group's: the same for a missing id and another
    group's.
    """
    try:
        wanted = {int(pk) for pk in request_ids}
    except (TypeError, ValueError):
        raise Http404("No such request in this group.") from None
    found = (
        list(
            AgreementRequest.objects.filter(group=group, pk__in=wanted)
            .select_related("school")
            .order_by(Lower("school__name"), "pk")
        )
        if wanted
        else []
    )
    if len(found) != len(wanted):
        raise Http404("No such request in this group.")
    return found


def approved_levels(*, group: Institution, schools: Iterable[Institution]) -> list[int]:
    """The levels of ``group``'s agreements with those of ``schools`` that have one (for
    ``rules.requestable_levels``). One query; none without schools."""
    ids = [school.pk for school in schools]
    if not ids:
        return []
    return list(
        Agreement.objects.in_force()
        .filter(group=group, school_id__in=ids)
        .order_by()
        .values_list("level", flat=True)
    )


@dataclass(frozen=True)
class TabCounts:
    none: int
    pending: int
    approved: int
    total: int

    @property
    def not_shared(self) -> int:
        """Schools that share nothing yet (no approved agreement), pending or not."""
        return self.total - self.approved

    @property
    def awaiting(self) -> int:
        """Schools that share nothing yet but have a request pending."""
        return self.not_shared - self.none

    def of(self, tab: str) -> int:
        return getattr(self, tab)


def agreement_tab_counts(*, group: Institution, **filters) -> TabCounts:
    """How many of the group's current schools matching the filters are on each tab: one
    query whatever the group's size."""
    agreement, pending = _agreement_exists(group), _pending_exists(group)
    counts = (
        group_school_list(group=group, **filters)
        .order_by()
        .aggregate(
            none=Count("pk", filter=~Q(agreement) & ~Q(pending)),
            pending=Count("pk", filter=Q(pending)),
            approved=Count("pk", filter=Q(agreement)),
            total=Count("pk"),
        )
    )
    return TabCounts(**counts)


def agreement_tab_facets(
    *, group: Institution, tab: str, **filters
) -> dict[str, list[FacetOption]]:
    """The filters' options with counts of the schools on ``tab`` only, so that a filter
    says what the tab shown would list ("Secondary 5" where the tab lists 5, not the 8
    of all the tabs): ``group_school_facets`` narrowed to the tab. Two queries."""
    if tab not in TABS:
        raise ValueError(f"Unknown tab {tab!r}")
    return group_school_facets(group=group, within=_tab_condition(group, tab), **filters)


# --- Delivery status of the Pending tab ---------------------------------------------------------


@dataclass(frozen=True)
class DeliverySummary:
    """Where the emails of one request stand (request and reminders together)."""

    request_total: int = 0
    request_sent: int = 0
    queued: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def label(self) -> str:
        if self.failed:
            return f"Failed for {self.failed}"
        if self.retrying:
            return "Retrying"
        if self.queued:
            return "Sending"
        if not self.request_total:
            return "Not sent"
        return f"Sent to {self.request_sent} of {self.request_total}"

    @property
    def tone(self) -> str:
        """A GOV.UK tag colour."""
        if self.failed:
            return "red"
        if self.retrying:
            return "yellow"
        if self.queued or not self.request_total:
            return "grey"
        return "green"


def delivery_summaries(*, group: Institution, request_ids: Iterable[int]) -> dict:
    """``{request id: DeliverySummary}`` for the group's requests that have emails: one
    query (``notifications.selectors``)."""
    ids = list(request_ids)
    counts = delivery_counts_by_topic(site=group, topics=[request_topic(pk) for pk in ids])
    return {pk: _summary(counts[request_topic(pk)]) for pk in ids if request_topic(pk) in counts}


def _summary(counts: Counter[tuple[str, str]]) -> DeliverySummary:
    """A summary from ``{(kind, status): deliveries}``."""
    requests: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for (kind, status), deliveries in counts.items():
        statuses[status] += deliveries
        if kind == EmailKind.REQUEST:
            requests[status] += deliveries
    return DeliverySummary(
        request_total=requests.total(),
        request_sent=requests[DeliveryStatus.SENT],
        queued=statuses[DeliveryStatus.QUEUED] + statuses[DeliveryStatus.SENDING],
        retrying=statuses[DeliveryStatus.RETRYING],
        failed=statuses[DeliveryStatus.FAILED],
    )


# --- Recipients -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    user_id: int
    name: str
    email: str
    role_name: str
    profile_id: int = 0
    named: bool = False  # chosen by name (whether or not they also hold a chosen role)


def eligible_recipients(
    *,
    school_ids: Iterable[int],
    roles: Sequence[str],
    named: Iterable[int] = (),
    search: str = "",
    today: datetime.date | None = None,
) -> dict[int, list[Recipient]]:
    """``{school id: [Recipient]}``: each school's active staff holding one of ``roles``
    there today (a business role of that name at the school), whose account is active and
    has an email address, and the staff profiles ``named`` (chosen by name) among those
    holding any of ``RECIPIENT_ROLES`` there. ``search``: only people whose name or email
    address contains it. One query for any number of schools; a person is listed once,
    under the first of the chosen roles they hold in ``RECIPIENT_ROLES`` order (a person
    chosen by name only: the first recipient role they hold)."""
    ids = list(school_ids)
    named = {int(pk) for pk in named}
    if not ids or not (roles or named):
        return {}
    today = today or timezone.localdate()
    rank = {role.casefold(): index for index, role in enumerate(RECIPIENT_ROLES)}
    chosen_keys = {role.casefold() for role in roles}
    wanted = RECIPIENT_ROLES if named else roles
    rows = (
        RoleAssignment.objects.in_force(on=today)
        .filter(
            profile__site_id__in=ids,
            profile__is_active=True,
            profile__user__is_active=True,
        )
        .exclude(profile__user__email="")
        .alias(role_key=Lower("role__name"))
        .filter(role_key__in=[role.casefold() for role in wanted])
        .filter(role__site_id=F("profile__site_id"))  # a role of that very school
        .filter(role__retired_at__isnull=True)  # a retired role makes nobody a recipient
    )
    if search:
        rows = rows.filter(
            Q(profile__user__full_name__icontains=search)
            | Q(profile__user__email__icontains=search)
        )
    rows = rows.values_list(
        "profile__site_id",
        "profile_id",
        "profile__user_id",
        "profile__user__full_name",
        "profile__user__email",
        "role__name",
    ).order_by()

    def preference(recipient: Recipient) -> tuple[bool, int]:
        key = recipient.role_name.casefold()
        return (key not in chosen_keys, rank[key])

    found: dict[tuple[int, int], Recipient] = {}
    for school_id, profile_id, user_id, name, email, role_name in rows:
        key = role_name.casefold()
        is_named = profile_id in named
        if key not in chosen_keys and not is_named:
            continue
        candidate = Recipient(
            user_id, name or email, email, RECIPIENT_ROLES[rank[key]], profile_id, is_named
        )
        current = found.get((school_id, user_id))
        if current is None or preference(candidate) < preference(current):
            found[(school_id, user_id)] = candidate
    by_school: dict[int, list[Recipient]] = {}
    for (school_id, _), recipient in found.items():
        by_school.setdefault(school_id, []).append(recipient)
    for recipients in by_school.values():
        recipients.sort(key=lambda r: (rank[r.role_name.casefold()], r.name.casefold()))
    return by_school


@dataclass(frozen=True)
class EligiblePerson:
    """A member of a school's staff a request may be sent to by name."""

    profile_id: int
    name: str
    email: str
    role_name: str
    school: Institution


def eligible_people(
    *, group: Institution, schools: Iterable[Institution], search: str = ""
) -> list[EligiblePerson]:
    """The people who may be chosen by name as recipients of a request to ``schools``:
    the staff of those of them that are ``group``'s current schools holding one of
    ``RECIPIENT_ROLES`` there with an email address (``search``: whose name or email
    contains it), by school name then role then name. Staff of any other school are never
    listed. Two queries for any number of schools."""
    schools = list({school.pk: school for school in schools}.values())
    ids = [school.pk for school in schools]
    if not ids:
        return []
    members = set(
        group_school_list(group=group).filter(pk__in=ids).order_by().values_list("pk", flat=True)
    )
    recipients = eligible_recipients(
        school_ids=members, roles=RECIPIENT_ROLES, search=search.strip()
    )
    people = []
    for school in sorted(schools, key=lambda s: (s.name.casefold(), s.pk)):
        for recipient in recipients.get(school.pk, ()):
            people.append(
                EligiblePerson(
                    recipient.profile_id,
                    recipient.name,
                    recipient.email,
                    recipient.role_name,
                    school,
                )
            )
    return people


@dataclass(frozen=True)
class PreviewRow:
    school: Institution
    recipients: tuple[Recipient, ...]
    reason: str  # why it would be skipped; "" when it would be sent
    approved_level: int = 0

    @property
    def will_send(self) -> bool:
        return not self.reason


@dataclass(frozen=True)
class RecipientsPreview:
    level: int | None
    roles: tuple[str, ...]
    rows: tuple[PreviewRow, ...]
    sending: tuple[PreviewRow, ...] = field(init=False)
    skipped: tuple[PreviewRow, ...] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "sending", tuple(r for r in self.rows if r.will_send))
        object.__setattr__(self, "skipped", tuple(r for r in self.rows if not r.will_send))

    @property
    def people(self) -> int:
        return sum(len(row.recipients) for row in self.sending)

    @property
    def nobody_eligible(self) -> tuple[PreviewRow, ...]:
        """Schools where nobody holds the chosen roles with an email address."""
        return tuple(r for r in self.rows if not r.recipients)

    def skip_reasons(self) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for row in self.skipped:
            counts[row.reason] = counts.get(row.reason, 0) + 1
        return sorted(counts.items(), key=lambda item: -item[1])


def recipients_preview(
    *,
    group: Institution,
    schools: Iterable[Institution],
    roles: Sequence[str],
    level: int | None = None,
    named: Iterable[int] = (),
) -> RecipientsPreview:
    """Per school, who would receive a request to the chosen ``roles`` and the staff
    profiles ``named`` (chosen by name: those who hold a recipient role at one of the
    schools; each person once), and which schools would be skipped and why (nobody
    eligible; with ``level``, also a pending request or an agreement at that level or
    higher). Four queries for any number of schools."""
    schools = list(schools)
    ids = [school.pk for school in schools]
    members = set(
        group_school_list(group=group).filter(pk__in=ids).order_by().values_list("pk", flat=True)
    )
    levels = dict(
        Agreement.objects.in_force()
        .filter(group=group, school_id__in=ids)
        .values_list("school_id", "level")
    )
    pending = set(
        AgreementRequest.objects.filter(
            group=group, school_id__in=ids, status=RequestStatus.PENDING
        ).values_list("school_id", flat=True)
    )
    recipients = eligible_recipients(school_ids=members, roles=roles, named=named)
    rows = []
    for school in schools:
        found = tuple(recipients.get(school.pk, ()))
        reason = send_skip_reason(
            is_member=school.pk in members,
            pending=level is not None and school.pk in pending,
            approved_level=levels.get(school.pk, 0) if level is not None else 0,
            level=level or 1,
            has_recipients=bool(found),
            roles=roles,
        )
        rows.append(PreviewRow(school, found, reason, levels.get(school.pk, 0)))
    return RecipientsPreview(level=level, roles=tuple(roles), rows=tuple(rows))


def group_senders(*, group: Institution) -> QuerySet[StaffProfile]:
    """Who a request may come from: the group's active staff with an email address."""
    return (
        StaffProfile.objects.filter(site=group, is_active=True, user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
        .order_by(Lower("user__full_name"), "user__email")
    )


# --- Status of one school or a page of them (Browse, the institution page) -----------------


@dataclass(frozen=True)
class SharingStatus:
    """What a group's agreement with one school stands at, in words."""

    state: str  # TAB_NONE, TAB_PENDING or TAB_APPROVED
    level: int | None  # the approved level (TAB_APPROVED), or the pending one (TAB_PENDING)
    pending_level: int | None = None  # a higher level asked for while approved
    # The latest agreement that ended when the school left the group (history; it grants
    # nothing): its level, when and why.
    ended_level: int | None = None
    ended_at: datetime.datetime | None = None
    end_reason: str = ""

    @property
    def label(self) -> str:
        if self.state == TAB_APPROVED:
            return "Approved"
        if self.state == TAB_PENDING:
            return "Pending"
        return "No agreement"

    @property
    def level_label(self) -> str:
        return AccessLevel(self.level).label if self.level else ""

    @property
    def meaning(self) -> str:
        return LEVEL_MEANINGS[AccessLevel(self.level)] if self.level else ""

    @property
    def pending_level_label(self) -> str:
        return AccessLevel(self.pending_level).label if self.pending_level else ""

    @property
    def ended_level_label(self) -> str:
        return AccessLevel(self.ended_level).label if self.ended_level else ""

    @property
    def tone(self) -> str:
        return {TAB_APPROVED: "green", TAB_PENDING: "yellow"}.get(self.state, "grey")


NO_SHARING = SharingStatus(TAB_NONE, None)


def _status(
    level: int | None,
    pending_level: int | None,
    ended_level: int | None = None,
    ended_at: datetime.datetime | None = None,
    end_reason: str | None = None,
) -> SharingStatus:
    ended = {"ended_level": ended_level, "ended_at": ended_at, "end_reason": end_reason or ""}
    if level:
        return SharingStatus(TAB_APPROVED, level, pending_level, **ended)
    if pending_level:
        return SharingStatus(TAB_PENDING, pending_level, **ended)
    return SharingStatus(TAB_NONE, None, **ended)


def sharing_status_for_schools(
    *, group: Institution, school_ids: Iterable[int]
) -> dict[int, SharingStatus]:
    """``{school id: SharingStatus}`` for ``school_ids``: one query. Schools without an
    agreement (in force or ended) or a pending request are left out (``NO_SHARING``)."""
    ids = list(school_ids)
    if not ids:
        return {}
    ended = Exists(Agreement.objects.ended().filter(group=group, school=OuterRef("pk")))
    rows = (
        Institution.objects.filter(pk__in=ids)
        .filter(Q(_agreement_exists(group)) | Q(_pending_exists(group)) | Q(ended))
        .annotate(
            level=approved_level_subquery(group=group),
            pending_level=_pending(group, "level"),
            ended_level=_last_ended(group, "level"),
            ended_at=_last_ended(group, "ended_at"),
            end_reason=_last_ended(group, "end_reason"),
        )
        .values_list("pk", "level", "pending_level", "ended_level", "ended_at", "end_reason")
        .order_by()
    )
    return {pk: _status(*values) for pk, *values in rows}


def sharing_status(*, group: Institution, school: Institution) -> SharingStatus:
    """The status of ``group``'s agreement with ``school``: one query."""
    return sharing_status_for_schools(group=group, school_ids=[school.pk]).get(
        school.pk, NO_SHARING
    )
