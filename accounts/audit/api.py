"""The audit trail over REST: GET /api/v1/audit-events/."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers

from accounts.models import AuditAction
from matmis.api import ErrorSerializer, SiteApiView
from matmis.exports import ExportApiView, export_response, export_schema
from matmis.site_access import ANY_SITE

from .exports import audit_table
from .selectors import audit_events
from .views import SEE_AUDIT


class AuditActingFromSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    action = serializers.ChoiceField(choices=AuditAction.choices)
    action_label = serializers.CharField(source="get_action_display")
    person = serializers.CharField(
        source="actor_email",
        help_text="Email of whoever acted; empty for a failed sign-in (the target is the "
        "email that was tried).",
    )
    person_name = serializers.SerializerMethodField()
    target = serializers.CharField()
    acting_from = AuditActingFromSerializer(
        allow_null=True, help_text="During a hop, the group site the person came from."
    )
    ip_address = serializers.IPAddressField(allow_null=True)
    detail = serializers.DictField()

    def get_person_name(self, event) -> str:
        return event.actor.display_name if event.actor is not None else ""


class AuditEventFilterSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=AuditAction.choices, required=False)
    person = serializers.CharField(required=False, max_length=254)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs):
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start and end and end < start:
            raise serializers.ValidationError(
                {"date_to": "The end date must be the same as or after the start date."}
            )
        return attrs


AUDIT_FILTERS = [
    OpenApiParameter("action", OpenApiTypes.STR, enum=AuditAction.values),
    OpenApiParameter("person", OpenApiTypes.STR, description="Part of an email address."),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="First day, included."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Last day, included."),
]


class AuditEventListView(SiteApiView, generics.ListAPIView):
    """This site's audit trail, newest first. Needs “User Details: Manage All Users” at View."""

    site_kind = ANY_SITE
    method_permissions = {"GET": SEE_AUDIT}
    serializer_class = AuditEventSerializer

    def get_queryset(self):
        filters = AuditEventFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return audit_events(site=self.request.site, **filters.validated_data)

    @extend_schema(
        operation_id="audit_events_list",
        parameters=AUDIT_FILTERS,
        responses={
            200: AuditEventSerializer(many=True),
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,  # a page past the last
        },
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class AuditEventExportView(ExportApiView):
    """The events of ``audit_events_list`` (same filters, every page) as a CSV or XLSX file:
    the Audit page's export. Needs “User Details: Manage All Users” at View."""

    site_kind = ANY_SITE
    method_permissions = {"GET": SEE_AUDIT}

    @export_schema(operation_id="audit_events_export", parameters=AUDIT_FILTERS)
    def get(self, request):
        filters = AuditEventFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        table = audit_table(site=request.site, filters=filters.validated_data)
        return export_response(table, site=request.site, export_format=self.export_format)
