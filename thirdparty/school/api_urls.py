"""REST endpoints of School > Data > Apps, under /api/v1/ in the ``api`` namespace."""

from django.urls import path

from . import api

urlpatterns = [
    path("apps/requests/", api.AppRequestListView.as_view(), name="apps-requests"),
    path(
        "apps/requests/<int:app_request_id>/",
        api.AppRequestDetailView.as_view(),
        name="apps-request",
    ),
    path(
        "apps/requests/<int:app_request_id>/authorise/",
        api.AppRequestAuthoriseView.as_view(),
        name="apps-request-authorise",
    ),
    path(
        "apps/requests/<int:app_request_id>/decline/",
        api.AppRequestDeclineView.as_view(),
        name="apps-request-decline",
    ),
    path("apps/authorised/", api.AuthorisationListView.as_view(), name="apps-authorisations"),
    path(
        "apps/authorised/<int:authorisation_id>/",
        api.AuthorisationDetailView.as_view(),
        name="apps-authorisation",
    ),
    path(
        "apps/authorised/<int:authorisation_id>/change/",
        api.AuthorisationChangeView.as_view(),
        name="apps-authorisation-change",
    ),
    path(
        "apps/authorised/<int:authorisation_id>/revoke/",
        api.AuthorisationRevokeView.as_view(),
        name="apps-authorisation-revoke",
    ),
    path("apps/directory/<int:app_id>/connect/", api.AppConnectView.as_view(), name="apps-connect"),
    path("apps/activity/", api.ActivityListView.as_view(), name="apps-activity"),
]
