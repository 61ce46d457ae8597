"""School site: Data > Apps (mounted at /data/apps/ on every site host; a group site
answers 404)."""

from django.urls import path

from matmis.exports import export_urls

from . import views

app_name = "school_apps"

urlpatterns = [
    path("", views.AppsIndexView.as_view(), name="index"),
    path("activity/", views.ActivityView.as_view(), name="activity"),
    *export_urls(views.ActivityExportView, name="activity-export", prefix="activity/"),
    path("requests/<int:app_request_id>/", views.RequestDetailView.as_view(), name="request"),
    path(
        "requests/<int:app_request_id>/authorise/",
        views.RequestAuthoriseView.as_view(),
        name="request-authorise",
    ),
    path(
        "requests/<int:app_request_id>/decline/",
        views.RequestDeclineView.as_view(),
        name="request-decline",
    ),
    path(
        "authorised/<int:authorisation_id>/",
        views.AuthorisationDetailView.as_view(),
        name="authorisation",
    ),
    path(
        "authorised/<int:authorisation_id>/change/",
        views.AuthorisationChangeView.as_view(),
        name="authorisation-change",
    ),
    path(
        "authorised/<int:authorisation_id>/revoke/",
        views.AuthorisationRevokeView.as_view(),
        name="authorisation-revoke",
    ),
    path("directory/<int:app_id>/connect/", views.AppConnectView.as_view(), name="connect"),
]
