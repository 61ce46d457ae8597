"""REST endpoints of accounts: staff, roles, associations, the hop."""

from django.urls import path

from . import api, hop_api

urlpatterns: list = []

# Audit trail
urlpatterns += [
    path("audit-events/", api.AuditEventListView.as_view(), name="audit-events"),
]

# Staff, roles and associations
urlpatterns += [
    path("staff/", api.StaffListApiView.as_view(), name="staff-list"),
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
]

# Log in to MIS
urlpatterns += [
    path("hop/targets/", hop_api.HopTargetsApiView.as_view(), name="hop-targets"),
    path("hop/", hop_api.HopStartApiView.as_view(), name="hop-start"),
    path("hop/redeem/", hop_api.HopRedeemApiView.as_view(), name="hop-redeem"),
]
