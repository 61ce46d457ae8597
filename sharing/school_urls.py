"""School site: Data > Data Sharing (mounted at /data/data-sharing/ on every site host;
a group site answers 404)."""

from django.urls import path

from . import school_views

app_name = "school_sharing"

urlpatterns = [
    path("", school_views.SharingOverviewView.as_view(), name="index"),
    path("requests/<int:request_id>/", school_views.RequestDetailView.as_view(), name="request"),
    path(
        "requests/<int:request_id>/approve/",
        school_views.RequestApproveView.as_view(),
        name="request-approve",
    ),
    path(
        "requests/<int:request_id>/decline/",
        school_views.RequestDeclineView.as_view(),
        name="request-decline",
    ),
]
