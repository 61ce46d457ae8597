"""Receipts: the email telling those concerned that a school approved or declined a data
sharing request, in plain text and HTML.

Who gets one (``receipt_recipients``, one query): the request's sender, everyone holding
"Data Sharing Request: Administer" at the school, and the group's Trust Administrators
(holders of the group's business role ``TRUST_ADMINISTRATOR``); only active people with an
active staff profile there, and each person once, however many of these they are.

Each receipt names the school, the group, the level, who decided and in which role
(the roles that gave them the permission, read when they decided), when, and the reason
given for a decline. The decision service queues them (``receipts_enqueue``) in the
transaction that records the decision: one delivery per (request, person), sent for the
school, about the topic ``agreement-request-receipt:<id>`` (apart from the request's own
emails, whose delivery summary it would otherwise change). The outbox makes each email when
it sends it, through the message builder registered here, from the ids it was queued with.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urljoin

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.audit import Actor
from accounts.models import RoleAssignment, StaffProfile, User
from accounts.permissions import (
    DATA_SHARING_REQUEST,
    TRUST_ADMINISTRATOR,
    Access,
    permission_grants,
    permission_holders,
)
from notifications.builders import EmailContent, register_builder
from notifications.models import EmailDelivery
from notifications.services import OutgoingEmail, deliveries_enqueue

from .emails import request_page_url
from .models import AccessLevel, AgreementRequest, RequestStatus

DECISION_RECEIPT_EMAIL = "sharing.decision-receipt"
RECEIPT_KIND = "receipt"
# The request's states a receipt tells of: what approving or declining leaves it in.
DECIDED = (RequestStatus.APPROVED, RequestStatus.SUPERSEDED, RequestStatus.DECLINED)


def receipt_topic(request_id: int) -> str:
    return f"agreement-request-receipt:{request_id}"


# Where a receipt links: the request's page at the school (for its staff), or the group's
# Data Sharing Agreements (for the group's people, who cannot open the school's page).
SCHOOL_PAGE = "school"
GROUP_PAGE = "group"


def receipt_link(*, request: AgreementRequest, page: str) -> str:
    if page == SCHOOL_PAGE:
        return request_page_url(request=request)
    path = reverse("sharing:agreements", urlconf=settings.ROOT_URLCONF)
    return urljoin(request.group.url, path)


def receipt_dedupe_key(*, request_id: int, user_id: int) -> str:
    """One receipt per (request, person): a request is decided once."""
    return f"receipt:{request_id}:{user_id}"


# --- Who gets one ----------------------------------------------------------------------------


def _trust_administrators(request: AgreementRequest):
    return RoleAssignment.objects.in_force().filter(
        site_id=request.group_id,
        role__site_id=request.group_id,
        profile__site_id=request.group_id,
        profile__is_active=True,
        profile__user=OuterRef("pk"),
        role__name__iexact=TRUST_ADMINISTRATOR,
        role__retired_at__isnull=True,  # a retired role grants nothing
    )


def receipt_recipients(*, request: AgreementRequest) -> list[User]:
    """The people told of ``request``'s decision (see the module), each once, by name,
    each with ``at_school``: whether they are on the school's staff (their link goes to
    the request's page there; the others' to the group's agreements). One query, however
    many there are."""
    sender = Q(
        staff_profiles__pk=request.sender_id,
        staff_profiles__site_id=request.group_id,
        staff_profiles__is_active=True,
    )
    approvers = permission_holders(
        site=request.school, code=DATA_SHARING_REQUEST, access=Access.ADMINISTER
    )
    return list(
        User.objects.filter(is_active=True)
        .exclude(email="")
        .filter(
            sender | Q(pk__in=approvers.values("pk")) | Q(Exists(_trust_administrators(request)))
        )
        .annotate(
            at_school=Exists(
                StaffProfile.objects.filter(
                    site_id=request.school_id, user=OuterRef("pk"), is_active=True
                )
            )
        )
        .distinct()
        .order_by(Lower("full_name"), "email")
    )


def decider_role(*, actor: Actor, request: AgreementRequest) -> str:
    """The names of the roles through which ``actor`` may decide ``request`` (at the
    school, or the group role's school-level set during a hop), as the receipt names
    them. One query."""
    if actor.user is None:
        return ""
    names = (
        permission_grants(
            user=actor.user,
            site=request.school,
            code=DATA_SHARING_REQUEST,
            via_group=actor.acting_from,
        )
        .filter(access__gte=int(Access.ADMINISTER))
        .values_list("role__name", flat=True)
        .distinct()
        .order_by("role__name")
    )
    return ", ".join(names)


# --- Queueing --------------------------------------------------------------------------------


def receipts_enqueue(*, request: AgreementRequest, actor: Actor) -> None:
    """Queue the receipt of ``request``'s decision to each person told of it, sent once the
    current transaction commits. Call it in the transaction that decided the request (its
    status is approved, superseded or declined). Queueing again adds nothing. Queries: the
    decider's roles, the recipients, one insert."""
    if request.status not in DECIDED:
        raise ValueError(f"A request that is {request.status} has no decision to tell of.")
    role = decider_role(actor=actor, request=request)
    deliveries_enqueue(
        messages=[
            OutgoingEmail(
                site_id=request.school_id,
                address=user.email,
                kind=RECEIPT_KIND,
                dedupe_key=receipt_dedupe_key(request_id=request.pk, user_id=user.pk),
                builder=DECISION_RECEIPT_EMAIL,
                params={
                    "request_id": request.pk,
                    "user_id": user.pk,
                    "decider_role": role,
                    "page": SCHOOL_PAGE if user.at_school else GROUP_PAGE,
                },
                topic=receipt_topic(request.pk),
            )
            for user in receipt_recipients(request=request)
        ]
    )


# --- The email -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptContext:
    recipient_name: str
    group_name: str
    school_name: str
    level_label: str
    outcome: str  # approved, superseded or declined
    decider_name: str
    decider_role: str
    decided_at: str
    decline_reason: str
    sender_name: str
    requested_on: str
    link_url: str
    link_is_request: bool


def receipt_subject(*, request: AgreementRequest) -> str:
    verb = "declined" if request.status == RequestStatus.DECLINED else "approved"
    return (
        f"{request.school.name} {verb} {request.group.name}’s data sharing request: "
        f"{AccessLevel(request.level).label}"
    )


def receipt_context(
    *, request: AgreementRequest, recipient: User, decider_role: str, page: str
) -> ReceiptContext:
    decider = request.decided_by
    decided_at = timezone.localtime(request.decided_at)
    return ReceiptContext(
        recipient_name=recipient.display_name,
        group_name=request.group.name,
        school_name=request.school.name,
        level_label=AccessLevel(request.level).label,
        outcome=request.status,
        decider_name=decider.display_name if decider is not None else "matmis",
        decider_role=decider_role,
        decided_at=f"{decided_at:%-d %B %Y at %H:%M}",
        decline_reason=request.decline_reason,
        sender_name=request.sender.user.display_name,
        requested_on=f"{timezone.localtime(request.created_at):%-d %B %Y}",
        link_url=receipt_link(request=request, page=page),
        link_is_request=page == SCHOOL_PAGE,
    )


def receipt_content(
    *, request: AgreementRequest, recipient: User, decider_role: str, page: str
) -> EmailContent:
    """The receipt of ``request``'s decision to ``recipient`` (with ``group``, ``school``,
    ``decided_by`` and ``sender__user`` loaded, or fetched on access)."""
    context = {
        "email": receipt_context(
            request=request, recipient=recipient, decider_role=decider_role, page=page
        )
    }
    return EmailContent(
        subject=receipt_subject(request=request),
        text=render_to_string("sharing/email/receipt.txt", context),
        html=render_to_string("sharing/email/receipt.html", context),
    )


@register_builder(DECISION_RECEIPT_EMAIL)
def decision_receipt_emails(deliveries: Sequence[EmailDelivery]) -> dict[int, EmailContent]:
    """The message builder of receipts: the content of each delivery whose request is
    still decided and whose recipient still exists, in two queries."""
    request_ids = {delivery.params.get("request_id") for delivery in deliveries}
    user_ids = {delivery.params.get("user_id") for delivery in deliveries}
    requests = AgreementRequest.objects.filter(pk__in=request_ids, status__in=DECIDED)
    requests = {
        request.pk: request
        for request in requests.select_related("group", "school", "decided_by", "sender__user")
    }
    users = {user.pk: user for user in User.objects.filter(pk__in=user_ids)}
    contents = {}
    for delivery in deliveries:
        request = requests.get(delivery.params.get("request_id"))
        user = users.get(delivery.params.get("user_id"))
        if request is None or user is None:
            continue  # gone: the outbox records it as failed, saying so
        contents[delivery.pk] = receipt_content(
            request=request,
            recipient=user,
            decider_role=str(delivery.params.get("decider_role") or ""),
            page=delivery.params.get("page") or SCHOOL_PAGE,
        )
    return contents
