"""Writes to agreements: a group's access level at a school is raised, never lowered,
and platform support may set it for every school of a trust at once (automated)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.audit import Actor
from accounts.models import AuditAction
from institutions.models import Institution, InstitutionKind
from institutions.selectors import current_schools

from ..models import AccessLevel, Agreement, AgreementRequest, RequestStatus
from .guards import require_level


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
    agreement = (
        Agreement.objects.in_force().select_for_update().filter(group=group, school=school).first()
    )
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


@transaction.atomic
def agreements_automate(*, trust: Institution, level: int, actor: Actor) -> int:
    """Set every current school of ``trust`` to ``level`` without requests or emails, as
    platform support does for trusts that agree centrally. Never lowers: schools already
    at that level or higher are left as they are. Pending requests at or below the level
    are superseded. Returns how many agreements were set or raised."""
    if trust.kind != InstitutionKind.TRUST:
        raise ValidationError("Automated agreements are for trusts only.")
    level = require_level(level)
    schools = list(current_schools(group=trust))
    levels = dict(
        Agreement.objects.in_force()
        .filter(group=trust, school__in=schools)
        .values_list("school_id", "level")
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
