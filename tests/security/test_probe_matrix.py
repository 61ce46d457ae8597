"""The probe matrix: every route of ``portal.urls`` and ``portal.urls_platform``, taken from
the resolver at run time, tried as every role that must be refused, with its identifiers
replaced by foreign and missing ones (``tests/security/probe.py`` says how and why).

Pass: no foreign data in any response, a foreign identifier answered exactly like a missing
one (404 where the person may otherwise act; the site-level refusal where they may not use
the site at all: a redirect to sign-in or a 404 page for HTML, 403 for the API, whatever
the identifier), no server error, and no change in the database.
"""

import pytest
from django.db import transaction
from django.test import override_settings

from tests.conftest import SiteClient

from .probe import (
    EXTRAS,
    LEVEL_GATED,
    PLAIN_BODIES,
    RESULTS,
    SKIPPED,
    Prober,
    all_routes,
    expected_identifier_params,
)
from .world import World

# Each test also runs in its own savepoint inside the module's transaction.
pytestmark = pytest.mark.django_db

ROUTES = all_routes()
PROBED = [route for route in ROUTES if route.key not in SKIPPED]
RESULTS.skipped = dict(SKIPPED)


@pytest.fixture(scope="module")
def prober(django_db_setup, django_db_blocker):
    """One world for the module, in a transaction rolled back at the end. The bare domain
    runs as in production: it does not list the sites."""
    with (
        django_db_blocker.unblock(),
        override_settings(LIST_SITES_ON_BASE_DOMAIN=False),
        transaction.atomic(),
    ):
        yield Prober(World.build())
        transaction.set_rollback(True)


def test_every_route_is_probed_or_left_out_for_a_reason():
    keys = {route.key for route in ROUTES}
    assert len(keys) == len(ROUTES), "two routes share a key"
    assert set(SKIPPED) <= keys, f"skipped routes that no longer exist: {set(SKIPPED) - keys}"
    stale = (set(EXTRAS) | set(PLAIN_BODIES) | LEVEL_GATED) - keys
    assert not stale, f"identifier substitutions for routes that no longer exist: {stale}"
    unknown = {
        (route.key, param)
        for route in PROBED
        for param in route.params
        if param not in expected_identifier_params()
    }
    assert not unknown, (
        "routes take parameters the probe matrix cannot substitute with a foreign value; "
        f"teach tests/security/probe.py:path_values about them: {sorted(unknown)}"
    )


@pytest.mark.parametrize("route", PROBED, ids=lambda route: route.key)
def test_route_refuses_every_role_and_foreign_identifier(prober, route):
    outcomes = prober.probe_route(route)
    leaks = [
        f"{o.role} at {o.host}: {o.method} {o.path} [{o.mode}] -> {o.status}: "
        + "; ".join(o.problems)
        for o in outcomes
        if o.problems
    ]
    assert not leaks, "\n".join(leaks)


# Where the platform's sign-in, two-factor set-up and site check send whom they refuse.
THE_DOOR = ("/support/login/", "/sign-in/", "/two-factor/")
# Platform pages that answer a verified platform superuser 404 by themselves.
NOT_FOUND_FOR_ANYONE = {
    "platform admin:view_on_site",  # an institution has no page on the platform
    "platform support/(?P<url>.*)$",  # the admin's catch-all, for an unknown address
}
PLATFORM_STAFF_PAGES = [
    route for route in PROBED if route.platform_staff_only and "GET" in route.methods
]


def test_the_platform_staff_pages_include_the_support_admin():
    keys = {route.key for route in PLATFORM_STAFF_PAGES}
    assert {"platform admin:index", "platform admin:login", "platform register-imports"} <= keys
    assert keys >= NOT_FOUND_FOR_ANYONE


@pytest.mark.parametrize("route", PLATFORM_STAFF_PAGES, ids=lambda route: route.key)
def test_a_verified_platform_superuser_gets_past_the_door_of_every_platform_page(prober, route):
    """The other side of the matrix's refusals at the platform: the person the support admin
    and the register imports are for is let in. Past the door, the admin answers as it
    does for anyone (a missing object: back to the index; a read-only model: 403)."""
    path, response = prober.get_as_verified_platform_staff(route)
    status = response.status_code
    assert status < 500, path
    if 300 <= status < 400:
        assert not response["Location"].startswith(THE_DOOR), f"{path} -> {response['Location']}"
    if route.key in NOT_FOUND_FOR_ANYONE:
        assert status == 404, path
    elif route.name in {"admin:index", "register-imports"} or (route.name or "").endswith(
        "_changelist"
    ):
        assert status == 200, path
    elif route.name == "admin:login":
        assert response["Location"] == "/support/"  # nothing to sign in to: on to the admin
    else:
        assert status != 404, path


def test_mail_pages_do_not_exist_in_production(prober):
    client = SiteClient()
    with override_settings(PRODUCTION=True):
        assert client.get("/mail/").status_code == 404
        assert client.get("/mail/20250101-000000-1.0/").status_code == 404
