"""The product's own 404 page in development too.

With DEBUG on, Django answers an unknown address with its technical 404 page, which lists
every URL pattern of the host, and an ``Http404`` raised by a view with the view's name and
message; ``handler404`` only answers with DEBUG off. This middleware answers both with
``matmis.views.page_not_found``, as production does (the API's error shape included), so
that development shows what people will see. Server errors still get Django's traceback
page with DEBUG on. With DEBUG off the middleware is not loaded: ``handler404`` does this.

It comes after the sign-in and messages middleware, so the page has the signed-in person
and the host's layout, and before nothing that would change the answer; ``CommonMiddleware``
(earlier) still turns a 404 for an address without its trailing slash into a redirect.
"""

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from .views import page_not_found


class NotFoundPageMiddleware:
    def __init__(self, get_response):
        if not settings.DEBUG:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            resolve(request.path_info, urlconf=getattr(request, "urlconf", None))
        except Resolver404 as unknown:
            return page_not_found(request, unknown)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None
