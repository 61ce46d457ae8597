"""Reads about people. Every read of site data takes the site."""

from django.db.models import QuerySet

from institutions.models import Institution

from .models import StaffProfile, User


def staff_profile_for(*, site: Institution, user: User) -> StaffProfile | None:
    """The active staff profile of ``user`` at ``site``, or None."""
    if not user.is_authenticated or not user.is_active:
        return None
    return StaffProfile.objects.filter(site=site, user=user, is_active=True).first()


def staff_list(*, site: Institution) -> QuerySet[StaffProfile]:
    return (
        StaffProfile.objects.filter(site=site, is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
