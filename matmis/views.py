from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig
from django.db import connection
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.template import loader
from django.views import View, defaults

from accounts.permissions import REGISTRY, Access

from .readiness import readiness
from .site_access import Outcome, Requirement, SiteCheckedView, Verdict


class SitePageView(SiteCheckedView, View):
    """Every page of a site. Declare ``site_kind`` and ``method_permissions``; the check
    (``matmis.site_access``) runs before any handler, in one order for every page:

    - wrong kind of host: 404;
    - not signed in: the sign-in page, coming back here afterwards;
    - signed in without access to this site: the same 404 as a page that does not exist;
    - a session that owes its second factor is signed out and sent to sign in again; at a
      site that requires two-factor sign-in, someone without it is sent to set it up (the
      only pages they may use declare ``two_factor_setup_page = True``);
    - without the permission the method needs: a 403 page that names it.
    """

    check_methods = ("dispatch",)
    # Decorators for the whole view (e.g. ``never_cache``), applied outside the check:
    # ``dispatch`` itself cannot be decorated, since no subclass may replace it.
    view_decorators: tuple = ()

    @classmethod
    def as_view(cls, **initkwargs):
        view = super().as_view(**initkwargs)
        for decorator in reversed(cls.view_decorators):
            view = decorator(view)
        return view

    def dispatch(self, request, *args, **kwargs):
        verdict = self.site_verdict(request)
        if verdict.allowed:
            return super().dispatch(request, *args, **kwargs)
        return refusal_page(
            request,
            verdict,
            next_url=request.get_full_path(),
            requirement=self.requirement_for(request.method),
        )


SitePageView._check_owner = SitePageView


def refusal_page(
    request: HttpRequest, verdict: Verdict, *, next_url: str, requirement: Requirement = None
) -> HttpResponse:
    """What a page answers when the site check refuses (``verdict`` is not allowed): the
    same for every page, and for the support admin (``portal.admin_site``). ``next_url``:
    where signing in leads back to."""
    match verdict.outcome:
        case Outcome.NOT_FOUND:
            raise Http404(verdict.message)
        case Outcome.SIGN_IN:
            return redirect_to_login(next_url)
        case Outcome.NO_ACCESS:
            return render(request, "404.html", status=404)
        case Outcome.SIGN_IN_AGAIN:
            logout(request)
            return redirect_to_login(next_url)
        case Outcome.ENROL:
            return redirect("accounts:two-factor")
        case Outcome.FORBIDDEN if requirement is not None:
            return permission_denied_page(request, *requirement)
    raise AssertionError(verdict)


def permission_denied_page(request: HttpRequest, code: str, access: Access) -> HttpResponse:
    """The 403 page for a missing permission, naming it."""
    return render(
        request,
        "403.html",
        {
            "message": (
                f"This page needs the permission “{REGISTRY[code].label}” at {access.label}. "
                "Ask an administrator of this site if you need it."
            )
        },
        status=403,
    )


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and containers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: database, Redis, Celery workers and storage (``matmis.readiness``); 200
    with each check's status, or 503 naming the failing ones."""
    ready, checks = readiness()
    failing = [name for name, result in checks.items() if result["status"] != "ok"]
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "failing": failing, "checks": checks},
        status=200 if ready else 503,
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(
        request,
        "403.html",
        {
            "message": (
                "This form had expired or did not come from this site, so nothing was "
                "changed. Go back, reload the page and try again."
            )
        },
        status=403,
    )


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _api_error(
    code: str, message: str, status: int, *, fields: dict[str, list[str]] | None = None
) -> JsonResponse:
    """The API's one error shape (see ``matmis.api``) for errors raised outside DRF."""
    return JsonResponse(
        {"error": {"code": code, "message": message, "fields": fields or {}}}, status=status
    )


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    """A request Django refused before any view (a disallowed Host, a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE): on the API, in its error shape (413 for a body too large)."""
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return _api_error("too_large", "The request body is larger than this API accepts.", 413)
        return _api_error("bad_request", "The request could not be understood.", 400)
    return defaults.bad_request(request, exception)


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if _is_api(request):
        return _api_error("not_found", "Not found.", 404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page, rendered without the request: the context processors read the
    signed-in user from the database, which may be why the request failed (a database
    restart); an error here would leave the visitor the server's bare error text."""
    if _is_api(request):
        return _api_error("server_error", "Something went wrong on our side.", 500)
    return HttpResponseServerError(
        loader.render_to_string("500.html", {"request_id": getattr(request, "request_id", "")})
    )
