"""The school side's "not me: send to ...": a recipient of a pending request who is not the
right person forwards it to a named colleague at the school holding one of the recipient
roles. The colleague becomes a recipient (``RecipientSource.FORWARDED``, with who forwarded
it and when), gets the request's email through the outbox, and the forward is audited at
both sites."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts import audit
from accounts.audit import Actor
from accounts.models import AuditAction, StaffProfile
from accounts.permissions import DATA_SHARING_REQUEST, Access, has_permission

from ..emails import EmailKind, request_emails_enqueue
from ..models import AccessLevel, AgreementRequest, RecipientSource, RequestRecipient, RequestStatus
from ..rules import RECIPIENT_ROLES, roles_phrase
from ..selectors import eligible_recipients

MAY_NOT_FORWARD = (
    "Only someone this request was sent to, or who may decide data sharing requests at the "
    "school, can forward it."
)


def require_may_forward(*, actor: Actor, request: AgreementRequest) -> None:
    """Forwarding needs the actor to be one of the request's recipients, or to hold Data
    Sharing Request: Administer at the school, on their own profile there (not inside a
    hop from a group). PermissionDenied otherwise."""
    user = actor.user
    if user is None or actor.acting_from is not None:
        raise PermissionDenied(MAY_NOT_FORWARD)
    if actor.site is not None and actor.site.pk != request.school_id:
        raise PermissionDenied(MAY_NOT_FORWARD)
    if RequestRecipient.objects.filter(request=request, user=user).exists():
        return
    if not has_permission(
        user=user, site=request.school, code=DATA_SHARING_REQUEST, access=Access.ADMINISTER
    ):
        raise PermissionDenied(MAY_NOT_FORWARD)


def may_forward(*, actor: Actor, request: AgreementRequest) -> bool:
    """``require_may_forward`` as a yes or no (to offer the form)."""
    try:
        require_may_forward(actor=actor, request=request)
    except PermissionDenied:
        return False
    return True


def _refuse(message: str, code: str = "invalid") -> ValidationError:
    return ValidationError({"to": message}, code=code)


@transaction.atomic
def agreement_request_forward(
    *, request: AgreementRequest, to_profile_id: int, actor: Actor
) -> RequestRecipient:
    """Forward the pending ``request`` to the school's staff profile ``to_profile_id``, who
    must hold one of ``RECIPIENT_ROLES`` at the school with an email address, not be the
    actor and not already receive it. Returns the new recipient. Refuses (nothing changed):
    PermissionDenied for someone who may not forward it (``require_may_forward``),
    ValidationError for a request no longer pending or a colleague who cannot receive it.
    """
    locked = (
        AgreementRequest.objects.select_for_update(of=("self",))
        .select_related("group", "school")
        .get(pk=request.pk)
    )
    school = locked.school
    require_may_forward(actor=actor, request=locked)
    if locked.status != RequestStatus.PENDING:
        raise ValidationError(
            f"This request is already {locked.get_status_display().lower()}; only a pending "
            "request can be forwarded.",
            code="not_pending",
        )
    try:
        to_profile_id = int(to_profile_id)
    except (TypeError, ValueError):
        raise _refuse("Choose the colleague to send it to.") from None
    found = eligible_recipients(school_ids=[school.pk], roles=(), named=[to_profile_id]).get(
        school.pk, []
    )
    colleague = next((r for r in found if r.profile_id == to_profile_id), None)
    if colleague is None:
        raise _not_eligible(to_profile_id, school)
    if colleague.user_id == actor.user.pk:
        raise _refuse("You already have this request: choose a colleague to send it to.")
    if RequestRecipient.objects.filter(request=locked, user_id=colleague.user_id).exists():
        raise _refuse(f"{colleague.name} already receives this request.")

    recipient = RequestRecipient.objects.create(
        request=locked,
        school=school,
        user_id=colleague.user_id,
        email=colleague.email,
        role_name=colleague.role_name,
        source=RecipientSource.FORWARDED,
        forwarded_by=actor.user,
    )
    detail = {
        "request": locked.pk,
        "level": locked.level,
        "from": actor.user.email,
        "to": colleague.email,
        "to_role": colleague.role_name,
    }
    label = AccessLevel(locked.level).label
    audit.record_many(
        actor=actor,
        action=AuditAction.REQUEST_FORWARDED,
        events=[
            (school.pk, f"{locked.group.name}: {label} → {colleague.name}", detail),
            (locked.group_id, f"{school.name}: {label} → {colleague.name}", detail),
        ],
    )
    locked._prefetched_objects_cache = {"recipients": [recipient]}  # the new one only
    request_emails_enqueue(requests=[locked], kind=EmailKind.REQUEST)
    return recipient


def _not_eligible(profile_id: int, school) -> ValidationError:
    """Why the school's staff profile ``profile_id`` cannot receive the request: the same
    words for a profile of another school or trust as for one that does not exist."""
    profile = StaffProfile.objects.filter(pk=profile_id, site=school).select_related("user").first()
    if profile is None:
        return _refuse(f"That person is not on {school.name}’s staff.", "not_found")
    name = profile.user.display_name
    if not profile.is_active or not profile.user.is_active:
        return _refuse(f"{name} is no longer on {school.name}’s staff.")
    if not profile.user.email:
        return _refuse(f"{name} has no email address, so cannot receive the request.")
    return _refuse(
        f"{name} does not hold a role requests go to ({roles_phrase(RECIPIENT_ROLES)}) at "
        f"{school.name}."
    )
