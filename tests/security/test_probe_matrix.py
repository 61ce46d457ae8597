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


def test_mail_pages_do_not_exist_in_production(prober):
    client = SiteClient()
    with override_settings(PRODUCTION=True):
        assert client.get("/mail/").status_code == 404
        assert client.get("/mail/20250101-000000-1.0/").status_code == 404
