"""Writes about business roles: create, rename, retire, reinstate, and the permissions a
role grants (and a group role's in-school set). Each change is audited (``ROLE_CHANGED``,
with before and after of exactly what changed) in its own transaction, after every check
passed: bad input changes nothing.

The site must keep someone able to manage its staff: the last role holding “User Details:
Manage All Users” at Administer, held by an active person, cannot lose that grant nor be
retired (the same rule as taking the last such role from a person,
``accounts.staff.services``).
"""

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts import audit
from accounts.audit import Actor
from accounts.models import AuditAction, BusinessRole, RoleGrant
from accounts.permissions import REGISTRY, USER_DETAILS, Access
from accounts.staff.services import (
    administering_role_ids,
    lock_administering_roles,
    someone_else_administers,
)
from institutions.models import Institution

from .selectors import current_holdings, editable_permissions

NAME_MAX_LENGTH = BusinessRole._meta.get_field("name").max_length
ACCESS_WORDS = {Access.OFF: "off", Access.VIEW: "view", Access.ADMINISTER: "administer"}


def _clean_name(*, site: Institution, name: str, role: BusinessRole | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Enter a name for the role."}, code="required")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            {"name": f"A role’s name can be at most {NAME_MAX_LENGTH} characters."},
            code="too_long",
        )
    same = BusinessRole.objects.alias(lower=Lower("name")).filter(site=site, lower=name.lower())
    if role is not None:
        same = same.exclude(pk=role.pk)
    if same.exists():
        raise ValidationError(
            {
                "name": f"{site.name} already has a role called “{name}” (names are the "
                "same whatever their capitals). Choose another name."
            },
            code="duplicate",
        )
    return name


def _duplicate_name(site: Institution, name: str) -> ValidationError:
    return ValidationError(
        {"name": f"{site.name} already has a role called “{name}”. Choose another name."},
        code="duplicate",
    )


def _locked(role: BusinessRole) -> BusinessRole:
    """``role`` read again under a row lock: changes to one role happen one at a time. The
    site's administering roles are locked first, always in the same order (as the
    last-administrator check locks them), so two administrators changing two such roles
    at once are decided one after the other instead of deadlocking."""
    lock_administering_roles(role.site)
    return BusinessRole.objects.select_for_update().select_related("site").get(pk=role.pk)


def _record(*, actor: Actor, role: BusinessRole, change: str, before: dict, after: dict) -> None:
    audit.record(
        actor=actor,
        site=role.site,
        action=AuditAction.ROLE_CHANGED,
        target=role.name,
        detail={
            "role_id": role.pk,
            "role": role.name,
            "change": change,
            "before": before,
            "after": after,
        },
    )


def _refuse_removing_last_administrator(role: BusinessRole, *, why: str) -> None:
    """ValidationError when ``role`` is the site's last role granting User Details: Manage
    All Users at Administer to an active person, and ``why`` would take that away."""
    site = role.site
    administering = administering_role_ids(site)
    if role.pk not in administering:
        return
    if not current_holdings(site).filter(role=role).exists():
        return  # nobody holds it: taking it away locks nobody out
    if someone_else_administers(site=site, role_ids=administering - {role.pk}):
        return
    label = REGISTRY[USER_DETAILS].label
    raise ValidationError(
        f"“{role.name}” is the only role at {site.name} whose holders can manage staff "
        f"(“{label}” at Administer), so it cannot {why}. Give that permission at "
        "Administer to another role held by someone first, so that nobody is locked out. "
        "Nothing was changed.",
        code="last_administrator",
    )


@transaction.atomic
def role_create(*, site: Institution, name: str, actor: Actor) -> BusinessRole:
    """A new role of ``site`` granting nothing yet. Its name must be new at the site
    (whatever its capitals) and not empty."""
    name = _clean_name(site=site, name=name)
    try:
        with transaction.atomic():
            role = BusinessRole.objects.create(site=site, name=name)
    except IntegrityError:  # the same name, created at the same moment
        raise _duplicate_name(site, name) from None
    _record(actor=actor, role=role, change="created", before={}, after={"name": name})
    return role


@transaction.atomic
def role_rename(*, role: BusinessRole, name: str, actor: Actor) -> bool:
    """Rename ``role``; returns whether the name changed."""
    role = _locked(role)
    name = _clean_name(site=role.site, name=name, role=role)
    if name == role.name:
        return False
    before = role.name
    role.name = name
    try:
        with transaction.atomic():
            role.save(update_fields=["name"])
    except IntegrityError:
        raise _duplicate_name(role.site, name) from None
    _record(actor=actor, role=role, change="renamed", before={"name": before}, after={"name": name})
    return True


@transaction.atomic
def role_retire(*, role: BusinessRole, actor: Actor) -> bool:
    """Retire ``role``: from now on it grants nothing (here nor in schools during a hop)
    and cannot be newly assigned; its holders keep it on their record. Refused for the last
    role that lets someone manage staff. Returns whether it was not retired already."""
    role = _locked(role)
    if role.is_retired:
        return False
    _refuse_removing_last_administrator(role, why="be retired")
    role.retired_at = timezone.now()
    role.save(update_fields=["retired_at"])
    _record(
        actor=actor, role=role, change="retired", before={"retired": False}, after={"retired": True}
    )
    return True


@transaction.atomic
def role_reinstate(*, role: BusinessRole, actor: Actor) -> bool:
    """Bring a retired role back: it grants what it granted before, to whoever holds it."""
    role = _locked(role)
    if not role.is_retired:
        return False
    role.retired_at = None
    role.save(update_fields=["retired_at"])
    _record(
        actor=actor,
        role=role,
        change="reinstated",
        before={"retired": True},
        after={"retired": False},
    )
    return True


def _checked_levels(
    site: Institution, levels: Mapping[str, Access | str | int], *, in_school: bool, field: str
) -> dict[str, Access]:
    """``levels`` (code -> Off, View or Administer) for the permissions the registry lets a
    role of ``site`` grant in that scope; ValidationError naming every code or level that
    is not one of them."""
    allowed = {d.code: d for d in editable_permissions(site=site, in_school=in_school)}
    problems, result = [], {}
    for code, level in levels.items():
        definition = allowed.get(code)
        if definition is None:
            where = "inside a school" if in_school else f"at {site.name}"
            problems.append(f"“{code}” is not a permission a role can grant {where}.")
            continue
        access = _access_of(level)
        if access is None or (access is not Access.OFF and access not in definition.levels):
            choices = " or ".join(["Off", *(allowed.label for allowed in definition.levels)])
            problems.append(f"“{definition.label}” can be {choices}, not “{level}”.")
            continue
        result[code] = access
    if problems:
        raise ValidationError({field: [*problems, "Nothing was changed."]}, code="invalid")
    return result


def _access_of(level) -> Access | None:
    if isinstance(level, Access):
        return level
    if isinstance(level, str):
        words = {word: access for access, word in ACCESS_WORDS.items()}
        return words.get(level.strip().lower())
    return None


@transaction.atomic
def role_grants_set(
    *,
    role: BusinessRole,
    grants: Mapping[str, Access | str] | None = None,
    in_school: Mapping[str, Access | str] | None = None,
    actor: Actor,
) -> dict:
    """Make ``grants`` exactly what ``role`` grants at its site, and ``in_school`` exactly
    its in-school set (group roles only): each code -> Off, View or Administer; a permission
    the role may grant but left out is Off; None leaves that scope as it is.

    Every code must be one the registry lets a role of this site grant in that scope, at a
    level the registry allows; otherwise nothing changes (ValidationError). Refused too
    when it would take “User Details: Manage All Users” at Administer from the site's last
    role that gives it to someone. One audit event with the levels that changed, before and
    after. Returns that detail ({} when nothing changed).
    """
    role = _locked(role)
    site = role.site
    wanted: dict[bool, dict[str, Access]] = {}
    if grants is not None:
        wanted[False] = _checked_levels(site, grants, in_school=False, field="grants")
    if in_school is not None:
        if not site.is_group and in_school:
            raise ValidationError(
                {"in_school": "Only a trust's or local authority's roles have an in-school set."},
                code="not_a_group",
            )
        wanted[True] = _checked_levels(site, in_school, in_school=True, field="in_school")
    current = {
        (grant.in_school, grant.code): grant for grant in RoleGrant.objects.filter(role=role)
    }
    before: dict[str, dict[str, str]] = {}
    after: dict[str, dict[str, str]] = {}
    to_create, to_update, to_delete = [], [], []
    for scope, levels in wanted.items():
        key = "in_school" if scope else "grants"
        for definition in editable_permissions(site=site, in_school=scope):
            code = definition.code
            grant = current.get((scope, code))
            old = Access(grant.access) if grant else Access.OFF
            new = levels.get(code, Access.OFF)
            if old == new:
                continue
            before.setdefault(key, {})[code] = ACCESS_WORDS[old]
            after.setdefault(key, {})[code] = ACCESS_WORDS[new]
            if grant is None:
                to_create.append(
                    RoleGrant(site=site, role=role, code=code, access=int(new), in_school=scope)
                )
            elif new is Access.OFF:
                to_delete.append(grant.pk)
            else:
                grant.access = int(new)
                to_update.append(grant)
    if not after:
        return {}
    losing_admin = (
        before.get("grants", {}).get(USER_DETAILS) == ACCESS_WORDS[Access.ADMINISTER]
        and after["grants"][USER_DETAILS] != ACCESS_WORDS[Access.ADMINISTER]
    )
    if losing_admin and not role.is_retired:
        try:
            _refuse_removing_last_administrator(
                role, why=f"lose “{REGISTRY[USER_DETAILS].label}” at Administer"
            )
        except ValidationError as error:
            raise ValidationError({"grants": error}) from None
    RoleGrant.objects.filter(pk__in=to_delete).delete()
    RoleGrant.objects.bulk_update(to_update, ["access"])
    RoleGrant.objects.bulk_create(to_create)
    _record(actor=actor, role=role, change="permissions", before=before, after=after)
    return {"before": before, "after": after}
