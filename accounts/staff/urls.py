"""Staff pages: list, profiles, roles, associations."""

from django.urls import path, re_path

from matmis.exports import export_urls

from . import onboarding_views, views

app_name = "staff"

urlpatterns = [
    path("", views.StaffListView.as_view(), name="list"),
    *export_urls(views.StaffExportView, name="list-export"),
    path("add/", onboarding_views.StaffAddView.as_view(), name="add"),
    path("add/csv/", onboarding_views.StaffBulkAddView.as_view(), name="bulk-add"),
    path(
        "invitations/<int:invitation_id>/resend/",
        onboarding_views.InvitationResendView.as_view(),
        name="invitation-resend",
    ),
    path(
        "invitations/<int:invitation_id>/revoke/",
        onboarding_views.InvitationRevokeView.as_view(),
        name="invitation-revoke",
    ),
    path("<int:profile_id>/", views.StaffProfileView.as_view(), name="profile"),
    path(
        "<int:profile_id>/deactivate/",
        onboarding_views.StaffDeactivateView.as_view(),
        name="deactivate",
    ),
    path(
        "<int:profile_id>/reactivate/",
        onboarding_views.StaffReactivateView.as_view(),
        name="reactivate",
    ),
    path("<int:profile_id>/roles/", views.StaffRolesView.as_view(), name="roles"),
    path(
        "<int:profile_id>/permissions/",
        views.StaffPermissionsView.as_view(),
        name="permissions",
    ),
    path(
        "<int:profile_id>/associations/",
        views.StaffAssociationsView.as_view(),
        name="associations",
    ),
    path(
        "<int:profile_id>/associations/all/",
        views.AssociationAllView.as_view(),
        name="associations-all",
    ),
    path(
        "<int:profile_id>/associations/schools/",
        views.AssociationAddSchoolsView.as_view(),
        name="associations-add-schools",
    ),
    re_path(
        r"^(?P<profile_id>[0-9]+)/associations/schools/(?P<urn>[0-9]{6})/remove/$",
        views.AssociationRemoveSchoolView.as_view(),
        name="associations-remove-school",
    ),
    path(
        "<int:profile_id>/associations/clusters/",
        views.AssociationClustersView.as_view(),
        name="associations-clusters",
    ),
]
