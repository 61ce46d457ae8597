"""Writes to institutions and group membership."""

import datetime

from django.db import transaction

from .models import GroupMembership, Institution, InstitutionKind


@transaction.atomic
def institution_ensure(*, kind: InstitutionKind, name: str, slug: str) -> Institution:
    """The institution with ``slug``, created or brought up to date with kind and name."""
    institution, created = Institution.objects.get_or_create(
        slug=slug, defaults={"kind": kind, "name": name}
    )
    if not created and (institution.kind, institution.name) != (kind, name):
        institution.kind, institution.name = kind, name
        institution.save(update_fields=["kind", "name", "updated_at"])
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
