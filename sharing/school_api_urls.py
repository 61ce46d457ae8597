"""REST endpoints of data sharing (school side), under /api/v1/ in the ``api`` namespace."""

from django.urls import path

from . import school_api

urlpatterns = [
    path(
        "data-sharing/requests/",
        school_api.SchoolSharingRequestListView.as_view(),
        name="school-sharing-requests",
    ),
    path(
        "data-sharing/requests/<int:request_id>/",
        school_api.SchoolSharingRequestDetailView.as_view(),
        name="school-sharing-request",
    ),
    path(
        "data-sharing/requests/<int:request_id>/approve/",
        school_api.SchoolSharingRequestApproveView.as_view(),
        name="school-sharing-request-approve",
    ),
    path(
        "data-sharing/requests/<int:request_id>/decline/",
        school_api.SchoolSharingRequestDeclineView.as_view(),
        name="school-sharing-request-decline",
    ),
]
