"""Writes about people."""

import datetime

from django.db import transaction

from institutions.models import Institution

from .models import BusinessRole, RoleAssignment, RoleGrant, StaffProfile, User


@transaction.atomic
def user_ensure(
    *, email: str, full_name: str, password: str | None = None, is_platform_staff: bool = False
) -> User:
    """The user with ``email``; created if missing, and its name and password brought up to
    date. Used by the demo data and by support tooling."""
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User(email=email)
    user.full_name = full_name
    user.is_staff = is_platform_staff
    user.is_superuser = is_platform_staff
    if password is not None and not user.check_password(password):
        user.set_password(password)
    user.save()
    return user


@transaction.atomic
def staff_profile_ensure(*, site: Institution, user: User, job_title: str = "") -> StaffProfile:
    profile, created = StaffProfile.objects.get_or_create(
        site=site, user=user, defaults={"job_title": job_title}
    )
    if not created and (profile.job_title != job_title or not profile.is_active):
        profile.job_title, profile.is_active = job_title, True
        profile.save(update_fields=["job_title", "is_active"])
    return profile


@transaction.atomic
def roles_ensure_defaults(*, site: Institution) -> dict[str, BusinessRole]:
    """The seeded business roles of ``site``'s kind exist; returns every role by name.

    Roles a site has edited keep their grants: only missing roles are created.
    """
    from .permissions import default_in_school_grants_for, default_roles_for

    existing = {role.name: role for role in BusinessRole.objects.filter(site=site)}
    in_school = default_in_school_grants_for(site)
    grants = []
    for name, role_grants in default_roles_for(site).items():
        if name in existing:
            continue
        role = BusinessRole.objects.create(site=site, name=name, is_seeded=True)
        existing[name] = role
        grants += [
            RoleGrant(site=site, role=role, code=code, access=int(access))
            for code, access in role_grants.items()
        ]
        grants += [
            RoleGrant(site=site, role=role, code=code, access=int(access), in_school=True)
            for code, access in in_school.get(name, {}).items()
        ]
    RoleGrant.objects.bulk_create(grants)
    return existing


@transaction.atomic
def role_assign(
    *,
    profile: StaffProfile,
    role: BusinessRole,
    starts_on: datetime.date | None = None,
    ends_on: datetime.date | None = None,
) -> RoleAssignment:
    """``profile`` holds ``role`` (of the same site), between the dates if given."""
    if role.site_id != profile.site_id:
        raise ValueError("A role can only be assigned to staff of its own site.")
    if starts_on and ends_on and ends_on < starts_on:
        raise ValueError("The end date must be on or after the start date.")
    assignment, _ = RoleAssignment.objects.update_or_create(
        profile=profile,
        role=role,
        defaults={"site_id": profile.site_id, "starts_on": starts_on, "ends_on": ends_on},
    )
    return assignment
