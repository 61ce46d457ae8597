"""Every REST endpoint, under /api/v1/ on a site's host."""

from django.urls import include, path, re_path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.reverse import reverse

from institutions import api as institutions_api
from institutions.api import CurrentSiteView
from matmis.api import ErrorSerializer, SiteApiView
from matmis.site_access import ANY_SITE

from . import api as portal_api


class ApiRootView(SiteApiView):
    """The entry point: links to each resource of this site."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None}

    class ApiRootSerializer(serializers.Serializer):
        site = serializers.URLField()
        schema = serializers.URLField()
        docs = serializers.URLField()

    @extend_schema(
        operation_id="api_root", responses={200: ApiRootSerializer, 403: ErrorSerializer}
    )
    def get(self, request):
        return Response(
            {
                "site": reverse("api:site", request=request),
                "schema": reverse("api-schema", request=request),
                "docs": reverse("api-docs", request=request),
            }
        )


app_name = "api"

urlpatterns = [
    path("", ApiRootView.as_view(), name="root"),
    path("site/", CurrentSiteView.as_view(), name="site"),
    path("institutions/", institutions_api.InstitutionListView.as_view(), name="institutions"),
    path(
        "institutions/export/",
        portal_api.InstitutionExportView.as_view(),
        name="institutions-export",
    ),
    re_path(
        r"^institutions/(?P<urn>[0-9]{6})/$",
        institutions_api.InstitutionDetailView.as_view(),
        name="institution",
    ),
    path("clusters/", institutions_api.ClusterListView.as_view(), name="clusters"),
    path(
        "clusters/<int:cluster_id>/",
        institutions_api.ClusterDetailView.as_view(),
        name="cluster",
    ),
    path(
        "clusters/<int:cluster_id>/schools/",
        institutions_api.ClusterSchoolsView.as_view(),
        name="cluster-schools",
    ),
    path("", include("accounts.audit.api_urls")),
    path("", include("accounts.staff.api_urls")),
    path("", include("accounts.roles.api_urls")),
    path("", include("accounts.two_factor.api_urls")),
    path("", include("hop.api_urls")),
    path("", include("sharing.api_urls")),
    path("", include("sharing.school.api_urls")),
    path("", include("mis.api_urls")),
    path("", include("analytics.api_urls")),
    path("", include("networks.api_urls")),
    path("", include("thirdparty.school.api_urls")),
]
