"""The app API on the platform host: ``/api/apps/v1/`` (``portal.urls_platform``)."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from oauth2_provider.views import TokenView

from . import app_api

URN = r"(?P<urn>[0-9]{6})"

api_patterns = [
    path("schools/", app_api.SchoolListView.as_view(), name="schools"),
    re_path(rf"^schools/{URN}/$", app_api.SchoolView.as_view(), name="school"),
    re_path(rf"^schools/{URN}/details/$", app_api.SchoolDetailsView.as_view(), name="details"),
    re_path(rf"^schools/{URN}/students/$", app_api.StudentListView.as_view(), name="students"),
    re_path(
        rf"^schools/{URN}/students/(?P<student_id>[0-9]{{1,18}})/$",
        app_api.StudentView.as_view(),
        name="student",
    ),
    re_path(
        rf"^schools/{URN}/attendance/$", app_api.AttendanceListView.as_view(), name="attendance"
    ),
    re_path(
        rf"^schools/{URN}/exclusions/$", app_api.ExclusionListView.as_view(), name="exclusions"
    ),
    re_path(rf"^schools/{URN}/staff/$", app_api.StaffListView.as_view(), name="staff"),
    re_path(rf"^schools/{URN}/deletions/$", app_api.DeletionListView.as_view(), name="deletions"),
    re_path(
        rf"^schools/{URN}/access-request/$",
        app_api.AccessRequestView.as_view(),
        name="access-request",
    ),
]

urlpatterns = [
    path("oauth/token/", TokenView.as_view(), name="token"),
    *api_patterns,
    path(
        "schema/",
        SpectacularAPIView.as_view(
            urlconf="thirdparty.app_api_schema_urls",
            custom_settings={
                "TITLE": "matmis app API",
                "DESCRIPTION": (
                    "For education apps that schools authorise. Get an access token with "
                    "client credentials (POST /api/apps/v1/oauth/token/, "
                    "grant_type=client_credentials), then call the endpoints with "
                    "'Authorization: Bearer <token>'. Each answers only the fields of the "
                    "scopes the school granted, and 403 scope_not_authorised otherwise."
                ),
            },
        ),
        name="schema",
    ),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="apps_api:schema"), name="docs"),
]
app_name = "apps_api"
