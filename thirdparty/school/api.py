"""REST equivalents of School > Data > Apps under /api/v1/ (``api`` namespace): the
school's Data Access Requests, authorising (exactly the required scopes plus chosen
optional ones, else 400 and nothing stored) and declining, its authorisations with their
optional scopes changed in place or revoked, connecting from the directory, and the
access log. Every endpoint exists only on a school site (a group site answers 404), needs
"Third-party Apps: Administer", and the id of another school's request or app is the same
404 as a missing one."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.audit import actor_from_request
from accounts.permissions import THIRD_PARTY_APPS, Access
from matmis.api import ErrorSerializer, PageNumberPagination, SiteApiView, validation_error
from matmis.site_access import SiteKind

from ..models import RequestOrigin
from ..scopes import SCOPES
from ..selectors import (
    app_for_id,
    school_app_calls,
    school_authorisation_for_id,
    school_authorisations,
    school_request_for_id,
    school_request_list,
)
from ..services import (
    access_request_open,
    authorisation_change,
    authorisation_revoke,
    request_authorise,
    request_decline,
)

ADMINISTER = (THIRD_PARTY_APPS, Access.ADMINISTER)
ERRORS = {403: ErrorSerializer, 404: ErrorSerializer}
WRITE_ERRORS = {400: ErrorSerializer, **ERRORS}


class ScopeSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField()
    field_labels = serializers.SerializerMethodField(help_text="The fields it releases.")

    def get_field_labels(self, obj) -> list[str]:
        return [field.label for field in obj.fields]


def _scopes(codes) -> list:
    return ScopeSerializer([SCOPES[c] for c in codes if c in SCOPES], many=True).data


class AppSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    vendor = serializers.CharField()
    purpose = serializers.CharField()
    website = serializers.URLField()
    privacy_notice_url = serializers.URLField()
    support_email = serializers.EmailField()


class AppRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    app = AppSerializer()
    status = serializers.CharField(help_text="pending, authorised, declined or superseded.")
    origin = serializers.CharField()
    required_scopes = serializers.SerializerMethodField()
    optional_scopes = serializers.SerializerMethodField()
    granted_scopes = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)

    def get_required_scopes(self, obj) -> list[dict]:
        return _scopes(obj.required_scopes)

    def get_optional_scopes(self, obj) -> list[dict]:
        return _scopes(obj.optional_scopes)


class AuthorisationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    app = AppSerializer()
    status = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    required_scopes = serializers.ListField(child=serializers.CharField())
    optional_scopes = serializers.ListField(child=serializers.CharField())
    offered_optional = serializers.ListField(child=serializers.CharField())
    authorised_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)


class GrantInput(serializers.Serializer):
    required_scopes = serializers.ListField(
        child=serializers.CharField(max_length=40), max_length=20
    )
    optional_scopes = serializers.ListField(
        child=serializers.CharField(max_length=40), max_length=20, required=False, default=list
    )


class ChangeInput(serializers.Serializer):
    optional_scopes = serializers.ListField(
        child=serializers.CharField(max_length=40), max_length=20
    )


class CallSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    app = serializers.CharField(source="app.name")
    vendor = serializers.CharField(source="app.vendor")
    endpoint = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    records = serializers.IntegerField()
    status_code = serializers.IntegerField()


class _SchoolAppsApi(SiteApiView):
    site_kind = SiteKind.SCHOOL


class AppRequestListView(_SchoolAppsApi):
    method_permissions = {"GET": ADMINISTER}

    @extend_schema(
        operation_id="apps_requests_list",
        responses={200: AppRequestSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        requests = school_request_list(school=request.site)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(requests, request, view=self)
        return paginator.get_paginated_response(AppRequestSerializer(page, many=True).data)


class AppRequestDetailView(_SchoolAppsApi):
    method_permissions = {"GET": ADMINISTER}

    @extend_schema(operation_id="apps_request", responses={200: AppRequestSerializer, **ERRORS})
    def get(self, request, app_request_id: int):
        data_request = school_request_for_id(school=request.site, request_id=app_request_id)
        return Response(AppRequestSerializer(data_request).data)


class AppRequestAuthoriseView(_SchoolAppsApi):
    method_permissions = {"POST": ADMINISTER}

    @extend_schema(
        operation_id="apps_request_authorise",
        request=GrantInput,
        responses={200: AuthorisationSerializer, **WRITE_ERRORS},
    )
    def post(self, request, app_request_id: int):
        data_request = school_request_for_id(school=request.site, request_id=app_request_id)
        grant = GrantInput(data=request.data)
        grant.is_valid(raise_exception=True)
        try:
            authorisation = request_authorise(
                request=data_request,
                required_scopes=grant.validated_data["required_scopes"],
                optional_scopes=grant.validated_data["optional_scopes"],
                actor=actor_from_request(request),
            )
        except DjangoValidationError as error:
            raise validation_error(error) from None
        return Response(AuthorisationSerializer(authorisation).data)


class AppRequestDeclineView(_SchoolAppsApi):
    method_permissions = {"POST": ADMINISTER}

    @extend_schema(
        operation_id="apps_request_decline",
        request=None,
        responses={200: AppRequestSerializer, **WRITE_ERRORS},
    )
    def post(self, request, app_request_id: int):
        data_request = school_request_for_id(school=request.site, request_id=app_request_id)
        try:
            request_decline(request=data_request, actor=actor_from_request(request))
        except DjangoValidationError as error:
            raise validation_error(error) from None
        data_request.refresh_from_db()
        return Response(AppRequestSerializer(data_request).data)


class AuthorisationListView(_SchoolAppsApi):
    method_permissions = {"GET": ADMINISTER}

    @extend_schema(
        operation_id="apps_authorisations_list",
        responses={200: AuthorisationSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(
            school_authorisations(school=request.site), request, view=self
        )
        return paginator.get_paginated_response(AuthorisationSerializer(page, many=True).data)


class AuthorisationDetailView(_SchoolAppsApi):
    method_permissions = {"GET": ADMINISTER}

    @extend_schema(
        operation_id="apps_authorisation", responses={200: AuthorisationSerializer, **ERRORS}
    )
    def get(self, request, authorisation_id: int):
        authorisation = school_authorisation_for_id(
            school=request.site, authorisation_id=authorisation_id
        )
        return Response(AuthorisationSerializer(authorisation).data)


class AuthorisationChangeView(_SchoolAppsApi):
    method_permissions = {"POST": ADMINISTER}

    @extend_schema(
        operation_id="apps_authorisation_change",
        request=ChangeInput,
        responses={200: AuthorisationSerializer, **WRITE_ERRORS},
    )
    def post(self, request, authorisation_id: int):
        authorisation = school_authorisation_for_id(
            school=request.site, authorisation_id=authorisation_id
        )
        change = ChangeInput(data=request.data)
        change.is_valid(raise_exception=True)
        try:
            authorisation = authorisation_change(
                authorisation=authorisation,
                optional_scopes=change.validated_data["optional_scopes"],
                actor=actor_from_request(request),
            )
        except DjangoValidationError as error:
            raise validation_error(error) from None
        return Response(AuthorisationSerializer(authorisation).data)


class AuthorisationRevokeView(_SchoolAppsApi):
    method_permissions = {"POST": ADMINISTER}

    @extend_schema(
        operation_id="apps_authorisation_revoke",
        request=None,
        responses={200: AuthorisationSerializer, **WRITE_ERRORS},
    )
    def post(self, request, authorisation_id: int):
        authorisation = school_authorisation_for_id(
            school=request.site, authorisation_id=authorisation_id
        )
        try:
            authorisation_revoke(authorisation=authorisation, actor=actor_from_request(request))
        except DjangoValidationError as error:
            raise validation_error(error) from None
        authorisation.refresh_from_db()
        return Response(AuthorisationSerializer(authorisation).data)


class AppConnectView(_SchoolAppsApi):
    method_permissions = {"POST": ADMINISTER}

    @extend_schema(
        operation_id="apps_connect",
        request=None,
        responses={201: AppRequestSerializer, 200: AppRequestSerializer, **WRITE_ERRORS},
    )
    def post(self, request, app_id: int):
        app = app_for_id(app_id=app_id)
        try:
            outcome = access_request_open(
                app=app,
                school=request.site,
                origin=RequestOrigin.SCHOOL,
                actor=actor_from_request(request),
            )
        except DjangoValidationError as error:
            raise validation_error(error) from None
        if outcome.request is None:
            return Response({"detail": outcome.message}, status=status.HTTP_200_OK)
        code = status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
        return Response(AppRequestSerializer(outcome.request).data, status=code)


class ActivityListView(_SchoolAppsApi):
    method_permissions = {"GET": ADMINISTER}

    @extend_schema(
        operation_id="apps_activity", responses={200: CallSerializer(many=True), **ERRORS}
    )
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(
            school_app_calls(school=request.site), request, view=self
        )
        return paginator.get_paginated_response(CallSerializer(page, many=True).data)
