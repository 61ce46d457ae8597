"""Writes to data sharing agreements."""

from django.db import transaction
from django.utils import timezone

from accounts.audit import Actor, audit_record
from accounts.models import AuditAction
from institutions.models import Institution

from .models import AccessLevel, Agreement


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
        audit_record(
            actor=actor,
            action=AuditAction.AGREEMENT_RAISED,
            target=f"{other.name}: {AccessLevel(level).label}",
            detail=detail,
            site=site,
        )
    return agreement, True
