"""The DRF side of the site check. Kept apart from ``matmis.api`` because DRF imports the
default permission classes while ``rest_framework.views`` is still loading."""

from rest_framework import permissions

from accounts.permissions import request_may_access_site


class IsSiteStaff(permissions.BasePermission):
    """The requester is signed in at this site and may use it."""

    message = "You do not have access to this site."

    def has_permission(self, request, view) -> bool:
        return request_may_access_site(request)
