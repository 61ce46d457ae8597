"""Reads of institutions. Site data is only ever read through functions that take a site."""

import re

from django.db.models import QuerySet

from .models import CURRENT_STATUSES, Institution

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def site_for_slug(*, slug: str) -> Institution | None:
    """The site served at ``<slug>.<BASE_DOMAIN>``, or None when there is none."""
    if not _SLUG.match(slug):
        return None
    return Institution.objects.filter(slug=slug).first()


def site_directory() -> QuerySet[Institution]:
    """Every site, for the development-only list on the bare base domain."""
    return Institution.objects.order_by("kind", "name")


def current_schools(*, group: Institution) -> QuerySet[Institution]:
    """The schools of ``group``: current members (membership not ended) that are open."""
    return Institution.objects.filter(
        group_links__group=group,
        group_links__left_on__isnull=True,
        status__in=CURRENT_STATUSES,
    ).order_by("name")


def current_groups(*, school: Institution) -> QuerySet[Institution]:
    """The trust and local authority that ``school`` currently belongs to."""
    return Institution.objects.filter(
        member_links__school=school, member_links__left_on__isnull=True
    ).order_by("kind", "name")
