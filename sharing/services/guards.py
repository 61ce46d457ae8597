"""What the sharing services check before they write, refusing as a service does: who may
act for the group or the school (PermissionDenied), and the access level asked for
(ValidationError)."""

from django.core.exceptions import PermissionDenied, ValidationError

from accounts.audit import Actor
from accounts.permissions import DATA_SHARING_REQUEST, INSTITUTION_DETAILS, Access, has_permission
from institutions.models import Institution

from ..models import AccessLevel
from ..rules import level_clean


def require_group_admin(*, actor: Actor, group: Institution) -> None:
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


def require_school_approver(*, actor: Actor, school: Institution) -> None:
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


def require_level(level) -> AccessLevel:
    """``rules.level_clean``, refusing as a service does."""
    try:
        return level_clean(level)
    except ValueError as error:
        raise ValidationError({"level": str(error)}, code="invalid") from None
