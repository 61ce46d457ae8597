"""Input from a client that no view should have to think about.

- ``NulCharacterMiddleware``: a NUL character (``\\x00``) in the query string or a form
  field is refused for every view with a 400 naming the field, before any view runs.
  PostgreSQL cannot store or even compare text holding NUL, so a NUL reaching a query is
  a server error, whichever view lets it through. (JSON bodies: ``matmis.api_parsers``.)
- ``whole_number``: a number typed or sent as text, ASCII digits only. ``str.isdigit()``
  is true for "²" and "١٢", which ``int()`` then refuses or reads as another number.
"""

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render

from .views import _api_error, _is_api

NUL = "\x00"
# Far beyond any id, and within PostgreSQL's bigint.
WHOLE_NUMBER_MAX = 2**63 - 1
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def whole_number(text: object) -> int | None:
    """``text`` as a whole number 0..2**63-1 if it is written in ASCII digits only (an
    int is taken as it is); None otherwise."""
    if isinstance(text, int) and not isinstance(text, bool):
        number = text
    elif isinstance(text, str) and text.isascii() and text.isdecimal():
        number = int(text)
    else:
        return None
    return number if 0 <= number <= WHOLE_NUMBER_MAX else None


def field_with_nul(data: QueryDict) -> str | None:
    """The name of the first field of ``data`` whose name or a value holds a NUL."""
    for name, values in data.lists():
        if NUL in name or any(NUL in value for value in values):
            return name.replace(NUL, "\\0")
    return None


def _form_data(request: HttpRequest, view_func) -> QueryDict:
    """The request's form fields (URL-encoded or multipart), unless the view reads its
    body itself after checking its size (``max_request_body_bytes = None``: the register
    upload, which must not have a huge upload stored before it refuses it). Other bodies
    are left to their parser (JSON: ``matmis.api_parsers``)."""
    if request.method != "POST" or request.content_type not in FORM_TYPES:
        return QueryDict()
    view = getattr(view_func, "view_class", view_func)
    if getattr(view, "max_request_body_bytes", 0) is None and not hasattr(request, "_post"):
        return QueryDict()
    return request.POST


class NulCharacterMiddleware:
    """Refuse a query string or form field holding a NUL: 400, nothing changed. Placed
    after the CSRF middleware (and the body size limit before it), so a form that fails
    its CSRF check is refused for that, and a body is only read here once it may be."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        name = field_with_nul(request.GET) or field_with_nul(_form_data(request, view_func))
        if name is None:
            return None
        message = f"“{name}” holds a NUL character (\\0), which no field accepts."
        if _is_api(request):
            return _api_error("invalid", message, 400, fields={name: [message]})
        return render(
            request, "400.html", {"message": message + " Nothing was changed."}, status=400
        )
