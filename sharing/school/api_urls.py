"""REST endpoints of data sharing (school side), under /api/v1/ in the ``api`` namespace."""

from django.urls import path

from . import api

urlpatterns = [
    path(
        "data-sharing/agreements/",
        api.SchoolSharingAgreementListView.as_view(),
        name="school-sharing-agreements",
    ),
    path(
        "data-sharing/requests/",
        api.SchoolSharingRequestListView.as_view(),
        name="school-sharing-requests",
    ),
    path(
        "data-sharing/requests/<int:request_id>/",
        api.SchoolSharingRequestDetailView.as_view(),
        name="school-sharing-request",
    ),
    path(
        "data-sharing/requests/<int:request_id>/approve/",
        api.SchoolSharingRequestApproveView.as_view(),
        name="school-sharing-request-approve",
    ),
    path(
        "data-sharing/requests/<int:request_id>/forward/",
        api.SchoolSharingRequestForwardView.as_view(),
        name="school-sharing-request-forward",
    ),
    path(
        "data-sharing/requests/<int:request_id>/decline/",
        api.SchoolSharingRequestDeclineView.as_view(),
        name="school-sharing-request-decline",
    ),
]
