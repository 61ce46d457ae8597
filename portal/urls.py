"""URLs of every site host (<slug>.<BASE_DOMAIN>)."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from institutions.urls import urlpatterns as cluster_urlpatterns
from matmis.exports import export_urls
from matmis.views import healthz, readyz

from . import statements, views

institutions_urls = (
    [
        path("", views.BrowseView.as_view(), name="browse"),
        *export_urls(views.BrowseExportView, name="browse-export"),
        re_path(r"^(?P<urn>[0-9]{6})/$", views.InstitutionDetailView.as_view(), name="detail"),
        *cluster_urlpatterns,
    ],
    "institutions",
)

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("accounts/", include("accounts.urls")),
    path("staff/", include("accounts.staff.urls")),
    path("staff/", include("accounts.roles.urls")),
    path("audit/", include("accounts.audit.urls")),
    path("institutions/apps/", include("thirdparty.group_urls")),
    path("institutions/", include(institutions_urls)),
    path("", include("hop.urls")),
    path("data-sharing/", include("sharing.urls")),
    path("data/data-sharing/", include("sharing.school.urls")),
    path("data/apps/", include("thirdparty.school.urls")),
    path("", include("mis.urls")),
    path("analytics/", include("analytics.urls")),
    path("sharing/", include("networks.urls")),
    path("api/v1/", include("portal.api_urls", namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("privacy/", statements.PrivacyNoticeView.as_view(), name="privacy-notice"),
    path(
        "accessibility/",
        statements.AccessibilityStatementView.as_view(),
        name="accessibility-statement",
    ),
]

handler400 = "matmis.views.bad_request"
handler404 = "matmis.views.page_not_found"
handler500 = "matmis.views.server_error"
