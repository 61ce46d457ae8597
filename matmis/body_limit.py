"""Refuse a request whose declared body is too large before anything reads it.

Django only limits bodies it reads into memory; a multipart upload is spooled to a
temporary file first (the CSRF middleware reads the body to find its token), so without
this a client could fill the disk through any POST route. A view that accepts larger
bodies says so with a ``max_request_body_bytes`` attribute: a number, or None when the
view checks the declared size itself before reading (the register upload does, to answer
on its own page).
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve

from .views import _api_error, _is_api


def declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _view_limit(request: HttpRequest) -> int | None:
    try:
        match = resolve(request.path_info, urlconf=getattr(request, "urlconf", None))
    except Resolver404:
        return settings.MAX_REQUEST_BODY_BYTES
    view = getattr(match.func, "view_class", match.func)
    return getattr(view, "max_request_body_bytes", settings.MAX_REQUEST_BODY_BYTES)


def _over_limit(request: HttpRequest, declared: int) -> bool:
    limit = _view_limit(request)
    return limit is not None and declared > limit


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = declared_length(request)
        if declared > settings.MAX_REQUEST_BODY_BYTES and _over_limit(request, declared):
            if _is_api(request):
                return _api_error(
                    "too_large", "The request body is larger than this API accepts.", 413
                )
            return render(request, "413.html", status=413)
        return self.get_response(request)
