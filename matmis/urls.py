"""URLs of every site host (<slug>.<BASE_DOMAIN>)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("accounts/", include("accounts.urls")),
    path("staff/", include("accounts.staff_urls")),
    path("audit/", include("accounts.audit_urls")),
    path("institutions/", include("institutions.urls")),
    path("", include("hop.urls")),
    path("data-sharing/", include("sharing.urls")),
    path("data/data-sharing/", include("sharing.school_urls")),
    path("", include("mis.urls")),
    path("analytics/", include("analytics.urls")),
    path("api/v1/", include("matmis.api_urls", namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    path("healthz", views.healthz, name="healthz"),
]

handler400 = "matmis.views.bad_request"
handler404 = "matmis.views.page_not_found"
handler500 = "matmis.views.server_error"
