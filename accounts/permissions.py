"""Who may do what, where: decided here and nowhere else.

Views, the API and services all ask these functions. The permission registry and business
roles extend this module; the rule that a user acts at a site only through an active staff
profile there (or as platform staff on the bare base domain) stays the base of every answer.
"""

from django.http import HttpRequest

from institutions.models import Institution

from .models import User
from .selectors import staff_profile_for

_PROFILE_CACHE_ATTR = "_matmis_staff_profile"


def may_access_site(*, user: User, site: Institution | None) -> bool:
    """May ``user`` use ``site`` at all? ``site`` None means the platform (bare domain)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if site is None:
        return user.is_staff
    return staff_profile_for(site=site, user=user) is not None


def request_may_access_site(request: HttpRequest) -> bool:
    """``may_access_site`` for the request's user and site, asked once per request."""
    cached = getattr(request, _PROFILE_CACHE_ATTR, None)
    if cached is None:
        cached = may_access_site(user=request.user, site=request.site)
        setattr(request, _PROFILE_CACHE_ATTR, cached)
    return cached
