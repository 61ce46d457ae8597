from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from matmis.api import ErrorSerializer


class CurrentSiteView(APIView):
    """The site this request is served by."""

    class SiteSerializer(serializers.Serializer):
        slug = serializers.SlugField()
        name = serializers.CharField()
        kind = serializers.CharField()
        kind_label = serializers.CharField(source="get_kind_display")
        url = serializers.URLField()

    @extend_schema(
        operation_id="site_retrieve",
        responses={200: SiteSerializer, 403: ErrorSerializer},
    )
    def get(self, request):
        return Response(self.SiteSerializer(request.site).data)
