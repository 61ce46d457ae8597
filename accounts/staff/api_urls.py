"""REST endpoints of staff, roles and associations (no namespace of their own: the roof
mounts them in ``api``)."""

from django.urls import path

from . import api, onboarding_api

urlpatterns: list = [
    path("staff/", api.StaffListApiView.as_view(), name="staff-list"),
    path("staff/export/", api.StaffExportApiView.as_view(), name="staff-export"),
    path("staff/import/", onboarding_api.StaffImportApiView.as_view(), name="staff-import"),
    path(
        "staff/invitations/",
        onboarding_api.InvitationListApiView.as_view(),
        name="staff-invitations",
    ),
    path(
        "staff/invitations/<int:invitation_id>/resend/",
        onboarding_api.InvitationResendApiView.as_view(),
        name="staff-invitation-resend",
    ),
    path(
        "staff/invitations/<int:invitation_id>/revoke/",
        onboarding_api.InvitationRevokeApiView.as_view(),
        name="staff-invitation-revoke",
    ),
    path(
        "staff/deactivated/",
        onboarding_api.DeactivatedStaffApiView.as_view(),
        name="staff-deactivated",
    ),
    path(
        "staff/<int:profile_id>/deactivate/",
        onboarding_api.StaffDeactivateApiView.as_view(),
        name="staff-deactivate",
    ),
    path(
        "staff/<int:profile_id>/reactivate/",
        onboarding_api.StaffReactivateApiView.as_view(),
        name="staff-reactivate",
    ),
    path("staff/<int:profile_id>/", api.StaffMemberApiView.as_view(), name="staff-detail"),
    path(
        "staff/<int:profile_id>/permissions/",
        api.StaffPermissionsApiView.as_view(),
        name="staff-permissions",
    ),
    path("staff/<int:profile_id>/roles/", api.StaffRolesApiView.as_view(), name="staff-roles"),
    path(
        "staff/<int:profile_id>/associations/",
        api.StaffAssociationsApiView.as_view(),
        name="associations-detail",
    ),
    path("roles/", api.RoleListApiView.as_view(), name="roles-list"),
    path(
        "invitations/accept/",
        onboarding_api.InvitationAcceptApiView.as_view(),
        name="invitation-accept",
    ),
]
