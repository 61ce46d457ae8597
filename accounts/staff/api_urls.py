"""REST endpoints of staff, roles and associations (no namespace of their own: the roof
mounts them in ``api``)."""

from django.urls import path

from . import api

urlpatterns: list = [
    path("staff/", api.StaffListApiView.as_view(), name="staff-list"),
    path("staff/export/", api.StaffExportApiView.as_view(), name="staff-export"),
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
