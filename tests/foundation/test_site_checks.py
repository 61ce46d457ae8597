"""The kernel's one site check (``matmis.site_access``): the declarations it refuses at
import time, that every route goes through it, and the order of its answers."""

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver
from django.views.decorators.cache import never_cache

from accounts.permissions import INSTITUTION_DETAILS, Access
from matmis.api import SiteApiView
from matmis.api_permissions import SiteRequestPermission
from matmis.site_access import ANY_SITE, EVERY_HOST, SiteCheckedView, SiteKind
from matmis.views import SitePageView
from portal.admin_site import SupportAdminSite
from tests.factories import InstitutionFactory, MembershipFactory, StaffProfileFactory

MANAGE = (INSTITUTION_DETAILS, Access.ADMINISTER)


# --- Declarations refused when the class is made ---------------------------------------------


def test_a_page_that_overrides_dispatch_is_refused():
    with pytest.raises(TypeError, match="overrides dispatch"):

        class Sneaky(SitePageView):
            site_kind = SiteKind.GROUP
            method_permissions = {"GET": None}

            def dispatch(self, request, *args, **kwargs):
                return super().dispatch(request, *args, **kwargs)

            def get(self, request):
                return None


def test_a_mixin_that_overrides_dispatch_is_refused_too():
    class SkipsChecks:
        def dispatch(self, request, *args, **kwargs):
            return None

    with pytest.raises(TypeError, match="overrides dispatch"):

        class Sneaky(SkipsChecks, SitePageView):
            site_kind = SiteKind.GROUP
            method_permissions = {"GET": None}

            def get(self, request):
                return None


@pytest.mark.parametrize("name", ["initial", "get_permissions", "check_permissions", "dispatch"])
def test_an_endpoint_that_overrides_a_checking_method_is_refused(name):
    def replacement(self, *args, **kwargs):
        return None

    with pytest.raises(TypeError, match=f"overrides {name}"):
        type(
            "Sneaky",
            (SiteApiView,),
            {
                "site_kind": SiteKind.GROUP,
                "method_permissions": {"GET": None},
                "get": lambda self, request: None,
                name: replacement,
            },
        )


def test_an_endpoint_with_its_own_permission_classes_is_refused():
    with pytest.raises(TypeError, match="permission_classes"):

        class Sneaky(SiteApiView):
            site_kind = SiteKind.GROUP
            method_permissions = {"GET": None}
            permission_classes = [SiteRequestPermission]

            def get(self, request):
                return None


def test_a_handler_without_a_declared_permission_is_refused():
    """No default write permission: a POST handler must say what it needs."""
    with pytest.raises(TypeError, match="handles POST"):

        class Undeclared(SiteApiView):
            site_kind = SiteKind.GROUP
            method_permissions = {"GET": None}

            def get(self, request):
                return None

            def post(self, request):
                return None


def test_an_unknown_permission_code_is_refused():
    with pytest.raises(TypeError, match="unknown permission"):

        class Misspelt(SitePageView):
            site_kind = SiteKind.GROUP
            method_permissions = {"GET": ("institution.detials", Access.VIEW)}

            def get(self, request):
                return None


def test_a_page_without_a_site_kind_is_refused():
    with pytest.raises(TypeError, match="site_kind"):

        class Nowhere(SitePageView):
            method_permissions = {"GET": None}

            def get(self, request):
                return None


def test_a_public_page_cannot_need_a_permission():
    with pytest.raises(TypeError, match="public"):

        class Muddled(SitePageView):
            site_kind = SiteKind.SCHOOL
            public = True
            method_permissions = {"POST": MANAGE}

            def post(self, request):
                return None


def test_an_abstract_base_needs_no_declarations_and_decorators_wrap_the_view():
    class Base(SitePageView):
        view_decorators = (never_cache,)

    class Concrete(Base):
        site_kind = ANY_SITE
        method_permissions = {"GET": None}

        def get(self, request):
            return None

    view = Concrete.as_view()
    assert view.view_class is Concrete
    assert Concrete.site_kinds() == {SiteKind.GROUP, SiteKind.SCHOOL}


# --- Every route goes through the check --------------------------------------------------------

# Routes that are deliberately outside the site check, each with its reason.
OUTSIDE_THE_CHECK = {
    "accounts:sign-in": "signing in",
    "accounts:sign-in-code": "the second step of signing in",
    "accounts:sign-in-provider": "starting to sign in with Microsoft or Google, signed out",
    "accounts:sign-in-provider-finish": "the provider sign-in's handover, checked by its token",
    "accounts:sign-in-provider-callback": (
        "the identity provider's callback on the platform host, checked by its state"
    ),
    "accounts:sign-out": "signing out",
    "accounts:password-reset": "asking for a reset link, signed out",
    "accounts:password-reset-done": "the page after asking",
    "accounts:password-reset-confirm": "the emailed link, checked by its token",
    "accounts:password-reset-complete": "the page after resetting",
    "api-schema": "the OpenAPI schema, public by design",
    "api-docs": "Swagger UI over the schema",
    "apps_api:token": "the app API's OAuth2 token endpoint, checked by client credentials",
    "apps_api:schema": "the app API's OpenAPI schema, public by design",
    "apps_api:docs": "Swagger UI over the app API's schema",
    "healthz": "liveness probe",
    "readyz": "readiness probe: names failing dependencies, no data",
    "metrics": "Prometheus metrics: the operator's network only (404 for anyone else)",
    "platform-home": "the site chooser of the bare domain",
    "mail:list": "development-only mail viewer (404 in production)",
    "mail:detail": "development-only mail viewer (404 in production)",
}


def _routes(resolver, prefix=""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            yield from _routes(pattern, namespace)
        elif isinstance(pattern, URLPattern):
            yield f"{prefix}{pattern.name}", pattern.callback


@pytest.mark.parametrize("urlconf", ["portal.urls", "portal.urls_platform"])
def test_every_route_is_a_checked_view_or_named_as_outside_the_check(urlconf):
    unchecked = []
    for name, callback in _routes(get_resolver(urlconf)):
        view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        if view_class is not None and issubclass(view_class, SiteCheckedView):
            continue
        if name in OUTSIDE_THE_CHECK:
            continue
        if name.startswith("admin:"):
            continue  # the support admin (platform only) runs the site check itself
        unchecked.append(name)
    assert unchecked == []


def test_the_support_admin_lives_on_the_platform_only():
    names = {name for name, _ in _routes(get_resolver("portal.urls"))}
    assert not any(name.startswith("admin:") for name in names)
    assert "admin:index" in {name for name, _ in _routes(get_resolver("portal.urls_platform"))}


def test_the_support_admin_is_behind_the_site_check():
    """``admin.site``, where every app registers, asks the site check, not only ``is_staff``
    (``portal.admin_site``; its behaviour: tests/portal/test_admin_site.py)."""
    assert isinstance(admin.site, SupportAdminSite)


# --- The order of the answers ------------------------------------------------------------------


@pytest.fixture
def school(trust):
    school = InstitutionFactory(name="Oak Ridge Primary", slug="oak-ridge-primary")
    MembershipFactory(group=trust, school=school)
    return school


@pytest.mark.django_db
def test_the_wrong_kind_of_host_is_a_404_before_anything_else(site_client, school):
    """Anonymous, signed in elsewhere, staff of the school: a group-only page or endpoint
    is not there on a school host, whatever is asked (before this, 403 from some)."""
    head = StaffProfileFactory(site=school).user
    for client in (site_client(school), site_client(school, head)):
        assert client.get("/institutions/browse/").status_code == 404
        assert client.get("/api/v1/institutions/").status_code == 404
        assert client.get("/api/v1/analytics/schools/").status_code == 404
        assert client.post("/api/v1/clusters/", {"name": "x"}).status_code == 404
        assert client.post("/api/v1/agreements/requests/send/", {}).status_code == 404


@pytest.mark.django_db
def test_the_wrong_kind_is_decided_before_the_csrf_check(site_client, school):
    head = StaffProfileFactory(site=school).user
    client = site_client(school, head)
    client.handler.enforce_csrf_checks = True
    assert client.post("/api/v1/clusters/", {"name": "x"}).status_code == 404


@pytest.mark.django_db
def test_then_signed_in_then_site_access_then_the_named_permission(site_client, trust, school):
    anonymous = site_client(trust)
    assert anonymous.get("/institutions/clusters/new/").status_code == 302
    response = anonymous.get("/api/v1/clusters/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_authenticated"

    outsider = site_client(trust, StaffProfileFactory(site=school).user)
    assert outsider.get("/institutions/clusters/new/").status_code == 404
    response = outsider.get("/api/v1/clusters/")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "You do not have access to this site."

    member = site_client(trust, StaffProfileFactory(site=trust).user)
    assert member.get("/api/v1/clusters/").status_code == 200
    page = member.get("/institutions/clusters/new/")
    assert page.status_code == 403
    assert "Institution: Administer Institution Details" in page.content.decode()
    response = member.post("/api/v1/clusters/", {"name": "North"}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "You need the permission “Institution: Administer Institution Details” at Administer."
    )


@pytest.mark.django_db
def test_a_public_page_on_every_host_answers_anyone_there(site_client, trust, school):
    """``public`` with ``EVERY_HOST`` (the privacy notice, the accessibility statement):
    no sign-in, no site access, on a group's, a school's and the platform's host alike."""

    class Notice(SitePageView):
        site_kind = EVERY_HOST
        public = True
        method_permissions = {"GET": None}

        def get(self, request):
            return None

    head = StaffProfileFactory(site=school).user
    for client in (site_client(trust), site_client(school), site_client(None)):
        request = client.get("/").wsgi_request
        assert Notice().site_verdict(request).allowed
    outsider = site_client(trust, head).get("/").wsgi_request  # signed in elsewhere
    assert Notice().site_verdict(outsider).allowed
    assert {SiteKind.GROUP, SiteKind.SCHOOL, SiteKind.PLATFORM} == EVERY_HOST
