"""REST endpoints of business roles and the access check (mounted in ``api`` by the roof;
the list is ``accounts.staff.api_urls``' roles-list)."""

from django.urls import path

from . import api

urlpatterns: list = [
    path("roles/<int:role_id>/", api.RoleDetailApiView.as_view(), name="role-detail"),
    path("roles/<int:role_id>/retire/", api.RoleRetireApiView.as_view(), name="role-retire"),
    path(
        "roles/<int:role_id>/reinstate/",
        api.RoleReinstateApiView.as_view(),
        name="role-reinstate",
    ),
    path("roles/<int:role_id>/grants/", api.RoleGrantsApiView.as_view(), name="role-grants"),
    path("access-check/", api.AccessCheckApiView.as_view(), name="access-check"),
]
