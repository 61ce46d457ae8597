"""The school side's answer to a request: approve (the agreement is set or raised to the
request's level) or decline, each a guarded transition that is harmless to repeat. A
decision queues its receipts (``sharing.receipts``) in its own transaction; a repeat
queues none."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from accounts import audit
from accounts.audit import Actor
from accounts.models import AuditAction
from institutions.selectors import current_schools

from ..models import AccessLevel, Agreement, AgreementRequest, RequestStatus
from ..receipts import receipts_enqueue
from .agreements import agreement_raise
from .guards import require_school_approver


class RequestStateError(ValidationError):
    """A request that is not in a state the change applies to (approving a withdrawn one)."""


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
    require_school_approver(actor=actor, school=locked.school)
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
        Agreement.objects.in_force()
        .select_for_update()
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
        receipts_enqueue(request=locked, actor=actor)
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
    receipts_enqueue(request=locked, actor=actor)
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
    require_school_approver(actor=actor, school=locked.school)
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
    receipts_enqueue(request=locked, actor=actor)
    return RequestDecision(
        locked,
        Decision.DECLINED,
        f"Declined. {locked.group.name} can see no more than before; it may ask again later.",
    )
