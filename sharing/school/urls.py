"""School site: Data > Data Sharing (mounted at /data/data-sharing/ on every site host;
a group site answers 404)."""

from django.urls import path

from . import views

app_name = "school_sharing"

urlpatterns = [
    path("", views.SharingOverviewView.as_view(), name="index"),
    path("requests/<int:request_id>/", views.RequestDetailView.as_view(), name="request"),
    path(
        "requests/<int:request_id>/approve/",
        views.RequestApproveView.as_view(),
        name="request-approve",
    ),
    path(
        "requests/<int:request_id>/forward/",
        views.RequestForwardView.as_view(),
        name="request-forward",
    ),
    path(
        "requests/<int:request_id>/decline/",
        views.RequestDeclineView.as_view(),
        name="request-decline",
    ),
]
