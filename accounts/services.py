"""Writes about people."""

from django.db import transaction

from institutions.models import Institution

from .models import StaffProfile, User


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
