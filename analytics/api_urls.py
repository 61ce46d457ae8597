"""REST endpoints of Analytics, under /api/v1/ in the ``api`` namespace."""

from django.urls import path, re_path

from . import api

urlpatterns = [
    path("analytics/schools/", api.AnalyticsSchoolListView.as_view(), name="analytics-schools"),
    path("analytics/schools/export/", api.AnalyticsExportView.as_view(), name="analytics-export"),
    path("analytics/published/", api.AnalyticsPublishedView.as_view(), name="analytics-published"),
    path(
        "analytics/published/export/",
        api.AnalyticsPublishedExportView.as_view(),
        name="analytics-published-export",
    ),
    re_path(
        r"^analytics/schools/(?P<urn>[0-9]{6})/$",
        api.AnalyticsSchoolDetailView.as_view(),
        name="analytics-school",
    ),
]
