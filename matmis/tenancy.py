"""Resolve the request's site from its Host header, once, before anything else uses it.

``<slug>.<BASE_DOMAIN>`` (any port) is the site with that slug; the bare base domain is the
platform (sign-in chooser, support admin), served by its own URLconf; any other host under
the base domain is a 404 that reveals nothing. Hosts outside ``ALLOWED_HOSTS`` are refused
by Django with a 400 before this code reads them.

Sessions are bound to the site that created them: a session cookie replayed on another
site's host is ignored there (the request proceeds with a fresh, empty session).
"""

from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from django.template.response import TemplateResponse

from institutions.models import Institution

SESSION_SITE_KEY = "_matmis_site"
# The database setting that Row-Level Security policies compare each row's site with.
SITE_SETTING = "matmis.site_id"
PLATFORM_SESSION_MARK = "platform"


def session_mark(site: Institution | None) -> str:
    return PLATFORM_SESSION_MARK if site is None else f"site:{site.pk}"


class UnknownSite(Exception):
    pass


def resolve_site(host: str) -> Institution | None:
    """The site for a validated Host header; None for the bare base domain.

    Raises UnknownSite for any other host.
    """
    domain, _port = split_domain_port(host)
    domain = domain.lower().rstrip(".")
    base = settings.BASE_DOMAIN
    if domain == base:
        return None
    suffix = "." + base
    if not domain.endswith(suffix):
        raise UnknownSite(domain)
    slug = domain[: -len(suffix)]
    site = Institution.objects.site_for_slug(slug)
    if site is None:
        raise UnknownSite(domain)
    return site


class SiteMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        host = request.get_host()
        try:
            request.site = resolve_site(host)
        except UnknownSite:
            request.site = None
            response = TemplateResponse(
                request, "tenancy/unknown_site.html", {"host": host}, status=404
            )
            return response.render()
        if request.site is None:
            request.urlconf = settings.PLATFORM_URLCONF
            self._bind_session(request)
            response = self.get_response(request)
        else:
            # One transaction per request on a site's host, bound to that site: the
            # personal-data tables show this site's rows and no other's (Row-Level
            # Security, ``matmis.personal_data``). A server error rolls it back.
            # The request's own transaction ends right after the scope: nothing to restore
            # (inside an outer transaction, as in tests, the previous binding comes back).
            outermost = not connection.in_atomic_block
            with transaction.atomic(), site_scope(request.site.pk, restore=not outermost):
                self._bind_session(request)
                response = self.get_response(request)
                if response.status_code >= 500:
                    transaction.set_rollback(True)
        self._stamp_session(request)
        return response

    @staticmethod
    def _bind_session(request: HttpRequest) -> None:
        bound = request.session.get(SESSION_SITE_KEY)
        if bound is not None and bound != session_mark(request.site):
            # A session from another host: never honour it here.
            request.session = request.session.__class__()

    @staticmethod
    def _stamp_session(request: HttpRequest) -> None:
        session = request.session
        if session.is_empty() or SESSION_SITE_KEY in session:
            return
        session[SESSION_SITE_KEY] = session_mark(request.site)


@contextmanager
def site_scope(site_id: int | None, *, restore: bool = True):
    """Bind the current database transaction to one site (``SET LOCAL``, via
    ``set_config(..., true)``) for as long as the block runs; the previous binding returns
    afterwards. Row-Level Security policies on personal-data tables compare each row's
    site with it: outside a scope (or with ``None``) those tables show no rows.

    Must be used inside ``transaction.atomic()``: a transaction-local setting outside one
    would vanish with the statement (and a session-level SET would leak to whoever uses the
    connection next, through a pooler). ``restore=False`` leaves the binding in place at
    the end, for a caller whose transaction ends with the block (a statement saved)."""
    if not connection.in_atomic_block:
        raise RuntimeError("site_scope() needs a transaction: use it inside atomic().")
    value = "" if site_id is None else str(int(site_id))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting(%s, true), set_config(%s, %s, true)",
            [SITE_SETTING, SITE_SETTING, value],
        )
        previous = cursor.fetchone()[0] or ""
    try:
        yield
    finally:
        # After an error the transaction is rolling back, taking the setting with it.
        if restore and not connection.needs_rollback:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, %s, true)", [SITE_SETTING, previous])
