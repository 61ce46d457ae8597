"""Business roles pages and “Check access to a page”, mounted under /staff/."""

from django.urls import path

from . import views

app_name = "roles"

urlpatterns = [
    path("roles/", views.RoleListView.as_view(), name="list"),
    path("roles/new/", views.RoleCreateView.as_view(), name="create"),
    path("roles/<int:role_id>/", views.RoleDetailView.as_view(), name="detail"),
    path("roles/<int:role_id>/rename/", views.RoleRenameView.as_view(), name="rename"),
    path("roles/<int:role_id>/retire/", views.RoleRetireView.as_view(), name="retire"),
    path("roles/<int:role_id>/reinstate/", views.RoleReinstateView.as_view(), name="reinstate"),
    path("roles/check-access/", views.AccessCheckView.as_view(), name="check-access"),
]
