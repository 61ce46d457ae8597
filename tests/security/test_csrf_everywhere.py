"""Every POST needs its CSRF token: each URL pattern of both URLconfs, enumerated from the
resolver (so a new route is covered without anyone adding it here), is posted to without a
token by a signed-in user of the right site, with CSRF enforced as in production.

Expected: the CSRF refusal (403) everywhere, and no change in the database, except for the
routes in ``CSRF_FREE_BY_DESIGN``.
"""

import re

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework.authentication import SessionAuthentication

from accounts.models import StaffProfile
from accounts.permissions import REGISTRY, Access
from institutions.models import RegisterImport
from tests.conftest import host_of, sign_in_verified
from tests.factories import TrustFactory, UserFactory, grant_permission
from tests.institutions.factories import ClusterFactory, add_school, put_in_cluster
from tests.sharing.factories import head_teacher, make_request

pytestmark = pytest.mark.django_db

# The Log in to MIS hop is redeemed on the school's host by a form the group site rendered
# (another origin, so no CSRF cookie of the school's can be there). The single-use token in
# the body, bound to the group session that asked for it, is the proof; both redeem
# endpoints are csrf-exempt for that reason, and nothing else may be.
CSRF_FREE_BY_DESIGN = {"hop:redeem", "api:hop-redeem"}
# The app API (/api/apps/v1/, issue 14) authenticates by an OAuth2 bearer token in the
# Authorization header only (``thirdparty.app_api``: no session, no cookie), so a browser
# cannot be made to send a forged request with anyone's authority; its token endpoint takes
# the client's own credentials in the body. CSRF does not apply to any of it.
TOKEN_ONLY_NAMESPACE = "apps_api:"


def csrf_free_by_design(name: str | None) -> bool:
    return name in CSRF_FREE_BY_DESIGN or (name or "").startswith(TOKEN_ONLY_NAMESPACE)


SITE_URLCONF = settings.ROOT_URLCONF
PLATFORM_URLCONF = settings.PLATFORM_URLCONF
CSRF_PAGE = "did not come from this site"


def patterns(urlconf: str) -> list[tuple[str, str, URLPattern]]:
    """(namespaced name, route, pattern) for every URL pattern reachable from ``urlconf``;
    the route is the patterns' text from the root down."""
    found = []

    def walk(resolver: URLResolver, namespace: str, prefix: str) -> None:
        for entry in resolver.url_patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry, inner, route)
            else:
                found.append((f"{namespace}{entry.name or route}", route, entry))

    walk(get_resolver(urlconf), "", "")
    return found


_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
_GROUP = re.compile(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)")


def concrete_path(route: str, pattern: URLPattern, urlconf: str, ids: dict[str, str]) -> str:
    """A path that resolves to ``pattern``: its arguments filled with real or plausible ids."""
    path = _GROUP.sub(lambda m: ids.get(m.group(1), "1"), route)
    path = _CONVERTER.sub(lambda m: ids.get(m.group(1), "1"), path)
    path = "/" + re.sub(r"\^|\$|\\Z", "", path)
    assert resolve(path, urlconf=urlconf).func == pattern.callback, (route, path)
    return path


def database_state() -> dict[str, str]:
    """A digest of every table's rows (sessions aside: signing in touches them)."""
    state = {}
    with connection.cursor() as cursor:
        for model in apps.get_models():
            table = model._meta.db_table
            if table == "django_session":
                continue
            # Table names come from the models, never from a request.
            digest = "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            cursor.execute(f"SELECT {digest} FROM {table} t")  # noqa: S608
            state[table] = cursor.fetchone()[0]
    return state


def is_csrf_refusal(response, pattern: URLPattern) -> bool:
    """The 403 of a missing CSRF token: the CSRF failure page, or DRF's "CSRF Failed" in
    whatever the view renders (JSON, the schema's YAML). The docs page renders DRF's 403
    without its detail; for a signed-in user, DRF's session authentication (which checks
    CSRF) is the first thing that can refuse, so a 403 there is that check."""
    if response.status_code != 403:
        return False
    body = response.content.decode()
    return CSRF_PAGE in body or "CSRF Failed" in body or drf_session_view(pattern)


def drf_session_view(pattern: URLPattern) -> bool:
    view_class = getattr(pattern.callback, "cls", None)
    return view_class is not None and any(
        issubclass(auth, SessionAuthentication) for auth in view_class.authentication_classes
    )


def structurally_csrf_free(pattern: URLPattern) -> bool:
    """The view skips the CSRF middleware and, for DRF, does not enforce CSRF itself."""
    if not getattr(pattern.callback, "csrf_exempt", False):
        return False
    return not drf_session_view(pattern)


def site_admin(site):
    """A member of ``site``'s staff holding every permission at Administer."""
    user = UserFactory()
    StaffProfile.objects.create(site=site, user=user)
    for code, permission in REGISTRY.items():
        if site.kind in permission.site_kinds:
            grant_permission(user, site, code, Access.ADMINISTER)
    return user


@pytest.fixture
def world():
    trust = TrustFactory(slug="oak-ridge-trust")
    school = add_school(trust, slug="fenwick", urn="100001")
    head = head_teacher(school).user
    admin = site_admin(trust)
    cluster = ClusterFactory(group=trust)
    put_in_cluster(cluster, school)
    request = make_request(trust, school)
    platform_staff = UserFactory(is_staff=True, is_superuser=True)
    record = RegisterImport.objects.create(
        uploaded_by=platform_staff, file="register-imports/x.csv", original_name="x.csv", size=1
    )
    ids = {
        "urn": school.urn,
        "cluster_id": str(cluster.pk),
        "request_id": str(request.pk),
        "profile_id": str(StaffProfile.objects.get(site=trust, user=admin).pk),
        "pk": str(record.pk),
        "object_id": str(platform_staff.pk),
        "app_label": "accounts",
        "uidb64": "MQ",
        "token": "set-password",
        "name": "message",
    }
    return {
        "hosts": [
            (host_of(trust), admin, SITE_URLCONF),
            (host_of(school), head, SITE_URLCONF),
            (settings.BASE_DOMAIN, platform_staff, PLATFORM_URLCONF),
        ],
        "ids": ids,
        "school_profile": str(StaffProfile.objects.get(site=school, user=head).pk),
    }


@pytest.mark.parametrize("with_cookie", [True, False], ids=["csrf-cookie", "no-cookie"])
def test_every_post_without_a_csrf_token_is_refused_and_changes_nothing(world, with_cookie):
    clients = []
    for host, user, urlconf in world["hosts"]:
        client = Client(enforce_csrf_checks=True, HTTP_HOST=host)
        sign_in_verified(client, user)  # before the snapshot: signing in sets last_login
        clients.append((host, client, urlconf))
    before = database_state()
    probed = 0
    refused: set[str] = set()
    not_refused: dict[str, set[str]] = {}
    unreachable = []
    for host, client, urlconf in clients:
        ids = dict(world["ids"])
        if urlconf == SITE_URLCONF and not host.startswith("oak-ridge-trust"):
            ids["profile_id"] = world["school_profile"]
        for name, route, pattern in patterns(urlconf):
            if with_cookie:
                client.cookies[settings.CSRF_COOKIE_NAME] = _get_new_csrf_string()
            try:
                path = concrete_path(route, pattern, urlconf, ids)
            except Exception as exc:  # a route this test cannot reach must be noticed
                unreachable.append(f"{name}: {exc}")
                continue
            for body in ({"name": "x", "school": "100001"}, None):
                if body is None:
                    response = client.post(path, "{}", content_type="application/json")
                else:
                    response = client.post(path, body)
                probed += 1
                assert response.status_code < 500, (host, path)
                if is_csrf_refusal(response, pattern):
                    refused.add(name)
                else:
                    not_refused.setdefault(name, set()).add(f"{host}{path} {response.status_code}")
    assert not unreachable, unreachable
    # A route refused the token on its own kind of site; elsewhere it may be missing (404).
    not_refused = {
        name: outcomes
        for name, outcomes in not_refused.items()
        if csrf_free_by_design(name)
        or name not in refused
        or not all(outcome.endswith(" 404") for outcome in outcomes)
    }
    assert {name for name in not_refused if not name.startswith(TOKEN_ONLY_NAMESPACE)} == (
        CSRF_FREE_BY_DESIGN
    ), not_refused
    assert database_state() == before
    assert probed > 2 * 100


def test_only_the_hop_redeem_endpoints_skip_csrf_by_design():
    free = {
        name
        for urlconf in (SITE_URLCONF, PLATFORM_URLCONF)
        for name, _, pattern in patterns(urlconf)
        if structurally_csrf_free(pattern)
    }
    # The register upload checks CSRF itself, after refusing an oversized body unread; the
    # app API takes no cookie at all (TOKEN_ONLY_NAMESPACE).
    free = {name for name in free if not (name or "").startswith(TOKEN_ONLY_NAMESPACE)}
    assert free - {"register-imports"} == CSRF_FREE_BY_DESIGN


def test_a_post_with_its_token_is_not_refused_for_csrf(world):
    # The other side of the check: the token, where given, is accepted (so the 403s above
    # are about the missing token, not something else).
    host, admin, _ = world["hosts"][0]
    client = Client(enforce_csrf_checks=True, HTTP_HOST=host)
    client.force_login(admin)
    client.get("/institutions/clusters/new/")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(
        "/institutions/clusters/new/", {"name": "North", "csrfmiddlewaretoken": token}
    )
    assert response.status_code != 403
    assert re.match(r"^[23]\d\d$", str(response.status_code))
