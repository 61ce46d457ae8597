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
    """The requester is signed in at this site, may use it, and is past two-factor sign-in
    where it applies (``accounts.two_factor.two_factor_gate``)."""

    message = "You do not have access to this site."

    def has_permission(self, request, view) -> bool:
        from accounts.two_factor import Gate, two_factor_gate

        if not request_may_access_site(request):
            return False
        gate = two_factor_gate(request)
        if gate is Gate.SIGN_IN_AGAIN:
            self.message = "Sign in again with your two-factor code to use this site."
        elif gate is Gate.ENROL:
            self.message = "This site requires two-factor sign-in. Set it up to use this site."
        return gate is Gate.OPEN


def site_permission(code: str, access: Access) -> type[permissions.BasePermission]:
    """A DRF permission class: site access plus ``code`` at ``access`` at this site."""

    class HasSitePermission(IsSiteStaff):
        message = f"You need the permission “{REGISTRY[code].label}” at {access.label}."

        def has_permission(self, request, view) -> bool:
            return super().has_permission(request, view) and request_has_permission(
                request, code, access
            )

    HasSitePermission.__name__ = f"HasSitePermission[{code}:{access.name}]"
    return HasSitePermission
