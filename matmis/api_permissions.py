"""The DRF side of the site check (``matmis.site_access``). Kept apart from ``matmis.api``
because DRF imports the default permission classes while ``rest_framework.views`` is still
loading."""

from rest_framework import exceptions, permissions

from .site_access import Outcome


class SiteRequestPermission(permissions.BasePermission):
    """The verdict of ``matmis.site_access`` for a ``SiteApiView``: its declared kind and
    the permission its method needs."""

    message = "You do not have access to this site."

    def has_permission(self, request, view) -> bool:
        verdict = view.site_verdict(request)
        if verdict.outcome is Outcome.NOT_FOUND:
            raise exceptions.NotFound()
        self.message = verdict.message or self.message
        return verdict.allowed


class UndeclaredEndpoint(permissions.BasePermission):
    """The default for an endpoint that is not a ``SiteApiView``: refused. An endpoint says
    what it needs by deriving from ``matmis.api.SiteApiView`` (or sets its own permission
    classes, as the schema does), so that none is open by omission."""

    message = "This endpoint is not available."

    def has_permission(self, request, view) -> bool:
        return False
