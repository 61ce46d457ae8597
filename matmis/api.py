"""What every API endpoint shares: the error shape and pagination.

Every error, whatever raised it, is answered as::

    {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}

``fields`` maps a field name to its messages for validation errors and is empty otherwise.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, pagination, serializers
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from .api_permissions import SiteRequestPermission
from .site_access import SiteCheckedView, request_site_kind


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ErrorSerializer(serializers.Serializer):
    """The body of every API error response."""

    error = ErrorBodySerializer()


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in _flatten(value)]
    if isinstance(detail, list):
        return [message for item in detail for message in _flatten(item)]
    return [str(detail)]


def validation_error(
    error: DjangoValidationError, *, rename: dict[str, str] | None = None
) -> exceptions.ValidationError:
    """A service's (Django) ValidationError as the API's validation error: its messages by
    field, each field named as the API names it (``rename``: service name -> API name), or
    its messages alone when it names no field."""
    if hasattr(error, "error_dict"):
        rename = rename or {}
        return exceptions.ValidationError(
            {rename.get(name, name): messages for name, messages in error.message_dict.items()}
        )
    return exceptions.ValidationError(error.messages)


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handling and logging take it
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    fields: dict[str, list[str]] = {}
    if isinstance(exc, exceptions.ValidationError):
        if isinstance(detail, dict):
            fields = {name: _flatten(value) for name, value in detail.items()}
            message = "The request was not valid: see the messages for each field."
        else:
            message = " ".join(_flatten(detail))
        code = "invalid"
    else:
        message = " ".join(_flatten(detail))
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = codes if isinstance(codes, str) else "error"
    response.data = {"error": {"code": code, "message": message, "fields": fields}}
    return response


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.page.paginator.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )


class SiteApiView(SiteCheckedView, APIView):
    """Every REST endpoint of a site. Declare ``site_kind`` and ``method_permissions``; the
    check of ``matmis.site_access`` runs before any handler, in the same order as for
    pages: wrong kind of host 404 (before authentication, so even a forged CSRF token
    learns nothing), then signed in, site access and two-factor, and the method's
    permission (403 with a message naming what is missing).
    """

    permission_classes = [SiteRequestPermission]
    check_methods = (
        "dispatch",
        "initial",
        "get_permissions",
        "check_permissions",
        "permission_classes",
    )

    def initial(self, request, *args, **kwargs):
        if request_site_kind(request) not in self.site_kinds():
            raise exceptions.NotFound()
        super().initial(request, *args, **kwargs)


SiteApiView._check_owner = SiteApiView
