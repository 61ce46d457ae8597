"""The DRF side of the site check. Kept apart from ``matmis.api`` because DRF imports the
default permission classes while ``rest_framework.views`` is still loading."""

from rest_framework import permissions

from accounts.permissions import (
    REGISTRY,
    Access,
    request_has_permission,
    request_may_access_site,
)


class IsSiteStaff(permissions.BasePermission):
    """The requester is signed in at this site and may use it."""

    message = "You do not have access to this site."

    def has_permission(self, request, view) -> bool:
        return request_may_access_site(request)


def site_permission(code: str, access: Access) -> type[permissions.BasePermission]:
    """A DRF permission class: site access plus ``code`` at ``access`` at this site."""

    class HasSitePermission(IsSiteStaff):
        message = f"You need the permission “{REGISTRY[code].label}” at {access.label}."

        def has_permission(self, request, view) -> bool:
            return request_has_permission(request, code, access)

    HasSitePermission.__name__ = f"HasSitePermission[{code}:{access.name}]"
    return HasSitePermission
