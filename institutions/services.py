"""Writes to institutions and group membership."""

import datetime

from django.db import transaction

from .models import GroupMembership, Institution, InstitutionKind


@transaction.atomic
def institution_ensure(
    *, kind: InstitutionKind, name: str, slug: str, **register_fields
) -> Institution:
    """The institution with ``slug``, created or brought up to date with kind, name and any
    register fields given."""
    wanted = {"kind": kind, "name": name, **register_fields}
    institution, created = Institution.objects.get_or_create(slug=slug, defaults=wanted)
    changed = [f for f, value in wanted.items() if getattr(institution, f) != value]
    if not created and changed:
        for field in changed:
            setattr(institution, field, wanted[field])
        institution.save(update_fields=[*changed, "updated_at"])
    return institution


@transaction.atomic
def membership_ensure(
    *, group: Institution, school: Institution, joined_on: datetime.date | None = None
) -> GroupMembership:
    """``school`` is a current member of ``group`` (a trust or local authority)."""
    if not group.is_group:
        raise ValueError(f"{group} is not a trust or local authority.")
    if not school.is_school:
        raise ValueError(f"{school} is not a school.")
    membership, _ = GroupMembership.objects.get_or_create(
        group=group, school=school, left_on=None, defaults={"joined_on": joined_on}
    )
    return membership
