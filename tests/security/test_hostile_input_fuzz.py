"""Hostile values in every parameter of every route: Unicode "digits" (``²``, ``١٢``: they
pass ``str.isdigit()``), NUL characters, and (in JSON bodies) arrays nested far deeper than
any request needs. No route may answer with a server error.

The routes come from the resolvers, as for the probe matrix (``tests/security/probe.py``);
their parameters from what each route says it takes, so a new route or field is fuzzed
without anyone listing it:

- pages: the names of the form fields the page itself renders (as someone who may use it),
  and the query and body fields the probe matrix sends (``EXTRAS``, ``PLAIN_BODIES``); a
  list's file (``<page>-export-csv``, ``matmis.exports``) takes the fields of its page;
- the API: the query parameters and request body fields of its OpenAPI schema.

Each example sets every parameter of one route either to a valid value (the probe matrix's)
or to a hostile one, and sends it as a person who may use the route, or as nobody (the
sign-in and password reset forms), inside a savepoint that is rolled back. Examples per
route: the ``hostile-input`` Hypothesis profile (``HOSTILE_INPUT_EXAMPLES``, default 3).
"""

import json
import os
import re
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.http import HttpResponse
from django.test import Client, override_settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .probe import (
    EXTRAS,
    PLAIN_BODIES,
    PLATFORM_URLCONF,
    SITE_URLCONF,
    SKIPPED,
    Route,
    all_routes,
    build_path,
    path_values,
)
from .world import PLATFORM, SCHOOL_A1, TRUST_A, World

pytestmark = pytest.mark.django_db

settings.register_profile(
    "hostile-input",
    max_examples=int(os.environ.get("HOSTILE_INPUT_EXAMPLES", "3")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ROUTES = [route for route in all_routes() if route.key not in SKIPPED]
ROUTES_BY_KEY = {route.key: route for route in ROUTES}
# A list's file and the page it is the file of: ``staff:list-export-csv``, ``staff:list``.
_EXPORT = re.compile(r"-export-(csv|xlsx)$")
CASES = [(route, method) for route in ROUTES for method in route.methods]
WRITES = {"POST", "PUT", "PATCH"}

# Text a naive check takes for a number, and NULs wherever they may fall.
UNICODE_DIGITS = st.text(
    alphabet=st.characters(categories=("Nd", "No"), exclude_characters="0123456789"),
    min_size=1,
    max_size=6,
)
WITH_NUL = st.tuples(st.text(max_size=4), st.text(max_size=4)).map(
    lambda parts: parts[0] + "\x00" + parts[1]
)
HOSTILE_TEXT = st.one_of(
    st.sampled_from(["²", "١٢", "𝟙𝟚", "1²", "\x00", "1\x00"]), UNICODE_DIGITS, WITH_NUL
)


@dataclass(frozen=True)
class Nested:
    """Arrays nested ``depth`` deep, written into the JSON body as text (``_json``):
    Python's own encoder cannot write them past its recursion limit."""

    depth: int


def _json(params: dict) -> str:
    text = json.dumps(params, default=lambda value: f"<nested {value.depth}>")
    return re.sub(r'"<nested (\d+)>"', lambda m: "[" * int(m[1]) + "]" * int(m[1]), text)


DEEP = st.integers(min_value=40, max_value=10_000).map(Nested)
HOSTILE_JSON = st.one_of(HOSTILE_TEXT, st.lists(HOSTILE_TEXT, min_size=1, max_size=3), DEEP)

_FIELD = re.compile(r"<(?:input|select|textarea)\b[^>]*\bname=\"([^\"]+)\"", re.IGNORECASE)
_SCHEMA_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def _schema_fields(schema: dict, route: Route, method: str) -> set[str]:
    operation = schema["paths"].get("/" + _SCHEMA_PARAM.sub(r"{\1}", route.text), {})
    operation = operation.get(method.lower(), {})
    names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    for content in operation.get("requestBody", {}).get("content", {}).values():
        body = content.get("schema", {})
        if "$ref" in body:
            body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
        names |= set(body.get("properties", {}))
    return names


class Fuzzer:
    """The world of the probe matrix, who sends each route's requests, and its fields."""

    def __init__(self, world: World):
        self.world = world
        self.client = Client(raise_request_exception=True)
        # Who may use each host: trust A's administrator (every permission), school A1's
        # head teacher, platform staff; and nobody, for the forms of people not signed in.
        self.sessions = {
            TRUST_A: world.group_session,
            SCHOOL_A1: world.session(world.a1_head.user, world.a1),
            PLATFORM: world.session(world.platform_staff, None),
        }
        self.schema = SchemaGenerator(urlconf=SITE_URLCONF).get_schema(request=None, public=True)
        self._fields: dict[tuple[str, str], set[str]] = {}

    def hosts(self, route: Route) -> list[str]:
        return [PLATFORM] if route.urlconf == PLATFORM_URLCONF else [TRUST_A, SCHOOL_A1]

    def path(self, route: Route, host: str) -> str:
        ids = self.world.ids_for(host, "own")
        return build_path(route, path_values(route, ids))

    def valid(self, route: Route, method: str, host: str) -> dict:
        """The probe matrix's valid query and body for the route (query first)."""
        extra = EXTRAS.get(route.key, {}).get(method)
        if extra is not None:
            query, body = extra(self.world.ids_for(host, "own"))
            return {**query, **(body or {})}
        return dict(PLAIN_BODIES.get(route.key, {}).get(method) or {})

    def fields(self, route: Route, method: str) -> set[str]:
        key = (route.key, method)
        if key not in self._fields:
            names = set(self.valid(route, method, self.hosts(route)[0]))
            if route.is_api:
                names |= _schema_fields(self.schema, route, method)
            elif "GET" in route.methods:
                page = ROUTES_BY_KEY.get(_EXPORT.sub("", route.key), route)
                for host in self.hosts(page):
                    response = self.send(page, "GET", host, self.sessions[host], {})
                    names |= set(_FIELD.findall(response.content.decode("utf-8", "replace")))
            names.discard("csrfmiddlewaretoken")
            self._fields[key] = names
        return self._fields[key]

    def send(self, route: Route, method: str, host: str, session: str | None, params: dict):
        client = self.client
        client.cookies = SimpleCookie()
        if session is not None:
            client.cookies[django_settings.SESSION_COOKIE_NAME] = session
        http_host = (
            django_settings.BASE_DOMAIN
            if host == PLATFORM
            else f"{host}.{django_settings.BASE_DOMAIN}"
        )
        path = self.path(route, host)
        with transaction.atomic():
            if method == "GET":
                response = client.get(path, params, HTTP_HOST=http_host)
            elif route.is_api:
                response = client.generic(
                    method,
                    path,
                    _json(params),
                    content_type="application/json",
                    HTTP_HOST=http_host,
                )
            elif method == "POST":
                response = client.post(path, params, HTTP_HOST=http_host)
            else:
                response = client.generic(
                    method, path + "?" + urlencode(params, doseq=True), HTTP_HOST=http_host
                )
            if response.streaming:  # a file: read it whole here, so that reading it is tried
                response = HttpResponse(
                    b"".join(response.streaming_content),
                    status=response.status_code,
                    headers=response.headers,
                )
            transaction.set_rollback(True)
        return response


@pytest.fixture(scope="module")
def fuzzer(django_db_setup, django_db_blocker):
    with (
        django_db_blocker.unblock(),
        override_settings(LIST_SITES_ON_BASE_DOMAIN=False),
        transaction.atomic(),
    ):
        yield Fuzzer(World.build())
        transaction.set_rollback(True)


def test_every_route_has_fields_to_fuzz(fuzzer):
    """The discovery works: the routes known to take input are found taking it."""
    found = {
        (route.key, method): fuzzer.fields(route, method)
        for route, method in CASES
        if route.key
        in {
            "api:staff-list",
            "api:clusters",
            "staff:list",
            "sharing:remind",
            "staff:list-export-csv",
        }
    }
    assert "q" in found[("api:staff-list", "GET")]
    assert "name" in found[("api:clusters", "POST")]
    assert "q" in found[("staff:list", "GET")]
    assert "request" in found[("sharing:remind", "POST")]
    assert "q" in found[("staff:list-export-csv", "GET")]  # the fields of its page


@pytest.mark.parametrize(("route", "method"), CASES, ids=lambda case: getattr(case, "key", case))
@settings(settings.get_profile("hostile-input"))
@given(data=st.data())
def test_hostile_values_in_every_parameter_are_no_server_error(fuzzer, route, method, data):
    fields = sorted(fuzzer.fields(route, method))
    host = data.draw(st.sampled_from(fuzzer.hosts(route)), label="host")
    signed_in = data.draw(st.booleans(), label="signed in") if method in WRITES else True
    session = fuzzer.sessions[host] if signed_in else None
    valid = fuzzer.valid(route, method, host)
    hostile = HOSTILE_JSON if route.is_api and method in WRITES else HOSTILE_TEXT
    params = {}
    for name in fields:
        if data.draw(st.booleans(), label=f"{name} hostile") or name not in valid:
            params[name] = data.draw(hostile, label=name)
        else:
            params[name] = valid[name]
    response = fuzzer.send(route, method, host, session, params)
    assert response.status_code < 500, (route.key, method, host, params)
