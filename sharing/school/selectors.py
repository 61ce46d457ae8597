"""Reads of data sharing for a school site (Data > Data Sharing): always for one school.

Every function takes the school; a request id from a client goes through
``school_request_for_id``, which answers the same 404 for a request of another school as
for one that does not exist.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Case, F, IntegerField, OuterRef, QuerySet, Subquery, Value, When
from django.http import Http404
from django.utils import timezone

from accounts.models import RoleAssignment
from accounts.permissions import DATA_SHARING_REQUEST, Access
from institutions.models import Institution

from ..models import (
    LEVEL_MEANINGS,
    AccessLevel,
    Agreement,
    AgreementRequest,
    RequestRecipient,
    RequestStatus,
)
from ..rules import RECIPIENT_ROLES
from ..selectors import Recipient, eligible_recipients


def school_agreement_list(*, school: Institution) -> QuerySet[Agreement]:
    """The school's agreements, in force first, then those that ended (history, newest
    end first), with the group and, for one approved from a request, who approved it last
    (``approved_by_name``: the last approval up to its level's date); automated ones say
    so."""
    approvals = AgreementRequest.objects.filter(
        school=school,
        group=OuterRef("group"),
        status=RequestStatus.APPROVED,
        decided_by__isnull=False,
        decided_at__lte=OuterRef("approved_at"),
    ).order_by("-decided_at", "-id")
    return (
        Agreement.objects.filter(school=school)
        .select_related("group")
        .annotate(
            approved_by_name=Subquery(approvals.values("decided_by__full_name")[:1]),
            approved_by_email=Subquery(approvals.values("decided_by__email")[:1]),
        )
        .order_by(F("ended_at").desc(nulls_first=True), "group__name", "id")
    )


def school_request_list(*, school: Institution) -> QuerySet[AgreementRequest]:
    """The school's requests: pending first (newest first), then the rest, newest first."""
    return (
        AgreementRequest.objects.filter(school=school)
        .select_related("group", "sender__user", "decided_by")
        .annotate(
            pending_first=Case(
                When(status=RequestStatus.PENDING, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("pending_first", "-created_at", "-id")
    )


def school_request_for_id(*, school: Institution, request_id: int | str) -> AgreementRequest:
    """The school's request ``request_id``; 404 when missing or another school's."""
    try:
        request_id = int(request_id)
    except (TypeError, ValueError):
        raise Http404("No such request.") from None
    request = (
        AgreementRequest.objects.filter(school=school, pk=request_id)
        .select_related("group", "school", "sender__user", "decided_by")
        .first()
    )
    if request is None:
        raise Http404("No such request.")
    return request


@dataclass(frozen=True)
class Approver:
    name: str
    role_name: str


def school_request_approvers(
    *, school: Institution, today: datetime.date | None = None
) -> list[Approver]:
    """The school's staff who may approve a request (``Data Sharing Request`` at
    Administer through a role in force today), to name them to everyone else."""
    today = today or timezone.localdate()
    assignments = (
        RoleAssignment.objects.in_force(on=today)
        .filter(
            site=school,
            profile__is_active=True,
            profile__user__is_active=True,
            role__grants__code=DATA_SHARING_REQUEST,
            role__grants__access__gte=int(Access.ADMINISTER),
            role__grants__in_school=False,
            role__retired_at__isnull=True,  # a retired role grants nothing
        )
        .select_related("profile__user", "role")
        .order_by("profile__user__full_name", "profile__user__email", "role__name")
    )
    approvers: dict[int, Approver] = {}
    for assignment in assignments:
        user = assignment.profile.user
        approvers.setdefault(user.pk, Approver(user.display_name, assignment.role.name))
    return list(approvers.values())


# What each level does not allow, said plainly beside what it allows (LEVEL_MEANINGS).
LEVEL_LIMITS = {
    AccessLevel.DFE_DATA: (
        "It does not let the group see anything from the school's MIS (no live attendance, "
        "no pupil records), nor act in it."
    ),
    AccessLevel.DFE_AND_MIS_DATA: (
        "It does not let anyone at the group log in to the school's MIS or change "
        "anything in it: they see figures, they do not act."
    ),
    AccessLevel.DFE_MIS_AND_GROUP_ACTIONS: (
        "Group staff log in as themselves, only those the group allows and associates with "
        "the school, and everything they change is recorded in the audit of both sites. It "
        "does not let them approve or change data sharing on the school's behalf."
    ),
}
ALWAYS_VISIBLE = (
    "The register's public facts about the school (name, URN, address, head, Ofsted) are "
    "visible to the group whatever is agreed."
)


@dataclass(frozen=True)
class LevelExplanation:
    level: int
    label: str
    allows: str
    does_not_allow: str


def level_explanation(level: int) -> LevelExplanation:
    level = AccessLevel(level)
    return LevelExplanation(
        level=int(level),
        label=level.label,
        allows=LEVEL_MEANINGS[level],
        does_not_allow=LEVEL_LIMITS[level],
    )


# --- Recipients and forwarding ----------------------------------------------------------------


def request_recipient_list(*, request: AgreementRequest) -> list[RequestRecipient]:
    """Who ``request`` went to, in the order they were added (sent, then forwarded), with
    who forwarded it to them. One query."""
    return list(
        RequestRecipient.objects.filter(request=request, school_id=request.school_id)
        .select_related("user", "forwarded_by")
        .order_by("added_at", "pk")
    )


def forward_candidates(*, request: AgreementRequest, user) -> list[Recipient]:
    """The colleagues ``user`` may forward ``request`` to: the school's staff holding one
    of ``RECIPIENT_ROLES`` with an email address, other than ``user`` and those who
    already receive it. Two queries."""
    already = set(
        RequestRecipient.objects.filter(request=request).values_list("user_id", flat=True)
    )
    people = eligible_recipients(school_ids=[request.school_id], roles=RECIPIENT_ROLES).get(
        request.school_id, []
    )
    return [p for p in people if p.user_id != user.pk and p.user_id not in already]
