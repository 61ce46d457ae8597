"""The probe matrix's machinery: every route from the resolver, the roles that must be
refused, the identifiers each route takes (own, foreign, missing), and the checks every
probe must pass.

A probe is one request: (route, role, host, method, identifier mode). It runs inside a
savepoint that is rolled back afterwards, so every probe sees the same world; the database
is fingerprinted BEFORE the rollback, so a write cannot hide behind it.

What passes:
- no marker of a foreign object (trust B's names, URNs, addresses) in the body or headers,
  and none of trust A's private markers for a role that may not use the host at all;
- no server error, and no change to any table (``django_session`` aside) unless an
  ``Allowance`` below says why that write is legitimate (each use is counted and printed);
- a foreign identifier is answered exactly like a missing one, never with a success, and
  with a 404, not a 403, where the person holds the permission the route needs.

The site-level refusal is accepted as it is, because it is the same whatever the
identifier: HTML pages send an anonymous visitor to sign in (302) and answer anyone else
without access to the site with the 404 page; the API (``matmis.api.SiteApiView``) answers 403 (DRF
with session authentication sends no ``WWW-Authenticate``, so not 401) to both. A 403 for
a missing permission at a site the person may use is likewise the same for every id.
"""

import html
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import mail
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from matmis.db_roles import owner_role
from tests.factories import TEST_PASSWORD

from .world import (
    MISSING_INT,
    PLATFORM,
    PLATFORM_STAFF_EMAIL,
    REVOKED_HOPS,
    SCHOOL_A1,
    SCHOOL_A2,
    SITE_HOSTS,
    TRUST_A,
    Ids,
    RevokedHop,
    World,
)

SITE_URLCONF = "portal.urls"
PLATFORM_URLCONF = "portal.urls_platform"

# --- Routes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    urlconf: str
    segments: tuple  # the pattern objects from the root to the route
    name: str | None  # namespaced
    callback: Callable

    @property
    def text(self) -> str:
        return "".join(str(segment) for segment in self.segments)

    @property
    def key(self) -> str:
        prefix = "platform " if self.urlconf == PLATFORM_URLCONF else ""
        return prefix + (self.name or self.text)

    @property
    def params(self) -> tuple[str, ...]:
        names: list[str] = []
        for segment in self.segments:
            if isinstance(segment, RoutePattern):
                names += list(segment.converters)
            else:
                names += list(segment.regex.groupindex)
        return tuple(names)

    @property
    def is_api(self) -> bool:
        return self.text.startswith("api/")

    @property
    def platform_staff_only(self) -> bool:
        """The support admin and the register imports: for platform staff whose session is
        verified with a device, and refused to everyone else."""
        return self.urlconf == PLATFORM_URLCONF and (
            self.text.startswith("support/") or self.text.startswith("imports/")
        )

    @property
    def methods(self) -> tuple[str, ...]:
        view = getattr(self.callback, "view_class", None) or getattr(self.callback, "cls", None)
        if view is None:  # a function view: it may answer any method
            return ("GET", "POST")
        return tuple(
            method.upper()
            for method in ("get", "post", "put", "patch", "delete")
            if hasattr(view, method)
        )


def all_routes() -> list[Route]:
    """Every URL pattern of both URLconfs, walked from the resolver."""
    found: list[Route] = []

    def walk(patterns, urlconf, segments, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, urlconf, (*segments, pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                name = f"{namespace}{pattern.name}" if pattern.name else None
                found.append(Route(urlconf, (*segments, pattern.pattern), name, pattern.callback))

    for urlconf in (SITE_URLCONF, PLATFORM_URLCONF):
        walk(get_resolver(urlconf).url_patterns, urlconf, (), "")
    return found


_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")


def _regex_fill(regex: str, values: dict) -> str:
    """``regex`` (a RegexPattern) with each named group replaced by its value."""
    out, i = [], 0
    text = regex.lstrip("^").removesuffix("$")
    while i < len(text):
        if text.startswith("(?P<", i):
            name = text[i + 4 : text.index(">", i)]
            depth, j = 0, i
            while True:  # to the group's closing parenthesis
                char = text[j]
                if char == "\\":
                    j += 2
                    continue
                depth += {"(": 1, ")": -1}.get(char, 0)
                j += 1
                if depth == 0:
                    break
            out.append(str(values[name]))
            i = j
        elif text[i] == "\\":
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def build_path(route: Route, values: dict) -> str:
    parts = []
    for segment in route.segments:
        if isinstance(segment, RoutePattern):
            parts.append(
                _ROUTE_PARAM.sub(
                    lambda m, seg=segment: seg.converters[m["name"]].to_url(str(values[m["name"]])),
                    segment._route,
                )
            )
        elif isinstance(segment, RegexPattern):
            parts.append(_regex_fill(segment._regex, values))
        else:  # LocalePrefixPattern and the like: none here
            raise TypeError(f"Unknown pattern type {type(segment)!r} in {route.text}")
    path = "/" + "".join(parts)
    match = resolve(path, urlconf=route.urlconf)
    assert match.func == route.callback, f"{path} resolved to {match.view_name}, not {route.key}"
    return path


# --- What a probe sends ---------------------------------------------------------------------

# Path parameters that name an object of some site: a foreign value must get a 404.
OBJECT_PARAMS = {
    "profile_id",
    "cluster_id",
    "request_id",
    "urn",
    "pk",
    "object_id",
    "id",
    "pupil_id",
    "role_id",
    "invitation_id",
    "arrival_id",
    "import_id",
    "resource_id",
    "share_id",
    "network_id",
    "group_id",
    "student_id",
    "app_request_id",
    "authorisation_id",
    "app_id",
}
# Path parameters that are not identifiers: one fixed value in every mode.
FIXED_PARAMS = {"app_label": "accounts", "url": "probe-unknown/"}
# Parameters that carry an identifier but are not objects (the password reset link).
OTHER_ID_PARAMS = {"uidb64", "token", "content_type_id"}

_ADMIN_MODEL = re.compile(r"^support/(?P<app>\w+)/(?P<model>\w+)/")


def _admin_object(route: Route, ids: Ids):
    match = _ADMIN_MODEL.match(route.text)
    if route.name == "admin:view_on_site":
        return ids.admin["institutions.institution"]
    if match is None:
        return None
    return ids.admin.get(f"{match['app']}.{match['model']}", MISSING_INT)


def path_values(route: Route, ids: Ids) -> dict:
    values = {}
    for name in route.params:
        if name in FIXED_PARAMS:
            values[name] = FIXED_PARAMS[name]
        elif name == "profile_id":
            values[name] = ids.profile
        elif name == "cluster_id":
            values[name] = ids.cluster
        elif name == "request_id":
            values[name] = ids.school_request
        elif name == "urn":
            values[name] = ids.urn
        elif name in {"pupil_id", "student_id"}:
            values[name] = ids.pupil
        elif name == "app_request_id":
            values[name] = ids.app_request
        elif name == "authorisation_id":
            values[name] = ids.app_authorisation
        elif name == "app_id":
            values[name] = ids.app
        elif name == "role_id":
            values[name] = ids.role
        elif name == "invitation_id":
            values[name] = ids.invitation
        elif name == "arrival_id":
            values[name] = ids.arrival
        elif name == "import_id":
            values[name] = ids.ctf_import
        elif name == "resource_id":
            values[name] = ids.resource
        elif name == "share_id":
            values[name] = ids.share
        elif name == "network_id":
            values[name] = ids.network
        elif name == "group_id":
            # Two kinds of group share the parameter's name: a school's registration
            # groups (registers) and staff sharing groups (networks).
            registers = "registration-groups/" in route.text or "registers/" in route.text
            values[name] = ids.registration_group if registers else ids.share_group
        elif name == "pk" and route.name == "register-import":
            values[name] = ids.admin["register_import"]
        elif name in {"pk", "object_id"}:
            values[name] = _admin_object(route, ids)
        elif name == "id":  # admin: a user's password
            values[name] = ids.user
        elif name == "content_type_id":
            values[name] = ids.admin["contenttype"]
        elif name == "uidb64":
            values[name] = urlsafe_base64_encode(force_bytes(ids.user))
        elif name == "token":
            values[name] = ids.reset_token
        else:
            raise KeyError(name)
    return values


def _list(value) -> list:
    return [value]


def _pupil_form(ids: Ids) -> dict:
    """A valid new pupil in the side's registration group (the group is the identifier)."""
    return {
        "legal_first_name": "Probe",
        "legal_last_name": "Newpupil",
        "date_of_birth": "2018-03-14",
        "temporary_upn": "on",
        "year_group": "3",
        "registration_group_id": ids.registration_group,
        "enrolled_on": "2026-09-01",
        "sen_provision": "N",
    }


def _pupil_body(ids: Ids) -> dict:
    body = _pupil_form(ids) | {"temporary_upn": True, "year_group": 3}
    body["registration_group"] = body.pop("registration_group_id")
    return body


# Query filters and bodies that carry identifiers, by route and method: (query, body).
# Bodies are minimal but valid where a valid body is what reaches the object lookup.
EXTRAS: dict[str, dict[str, Callable[[Ids], tuple[dict, dict | None]]]] = {
    "institutions:browse": {"GET": lambda i: ({"cluster": i.cluster}, None)},
    "institutions:cluster-schools": {"POST": lambda i: ({}, {"schools": i.urn})},
    "institutions:cluster-rename": {"POST": lambda i: ({}, {"name": "Probe renamed"})},
    "sharing:agreements": {"GET": lambda i: ({"cluster": i.cluster, "tab": "pending"}, None)},
    "sharing:send": {
        "GET": lambda i: ({"school": i.urn, "cluster": i.cluster}, None),
        "POST": lambda i: (
            {},
            {"school": i.urn, "level": "1", "sender": i.profile, "roles": "Head Teacher"},
        ),
    },
    "sharing:send-preview": {
        "GET": lambda i: ({"school": i.urn, "level": "1", "people": i.profile}, None)
    },
    "sharing:send-people": {
        "GET": lambda i: ({"school": i.urn, "people_search": i.people_search}, None)
    },
    "school_sharing:request-forward": {"POST": lambda i: ({}, {"to": i.profile})},
    "sharing:remind": {
        "GET": lambda i: ({"request": i.group_request, "tab": "pending"}, None),
        "POST": lambda i: ({}, {"request": i.group_request, "tab": "pending"}),
    },
    "sharing:withdraw": {
        "GET": lambda i: ({"request": i.group_request, "tab": "pending"}, None),
        "POST": lambda i: ({}, {"request": i.group_request, "tab": "pending"}),
    },
    "staff:list": {"GET": lambda i: ({"q": i.people_search}, None)},
    "staff:roles": {"POST": lambda i: ({}, {f"role_{i.role}": "on"})},
    "staff:associations-all": {"POST": lambda i: ({}, {"all_schools": "yes"})},
    "staff:associations-add-schools": {"POST": lambda i: ({}, {"schools": i.urn})},
    "staff:associations-clusters": {"POST": lambda i: ({}, {"clusters": i.cluster})},
    "audit:events": {"GET": lambda i: ({"person": i.audit_search}, None)},
    "mis:register": {"POST": lambda i: ({}, {f"mark-{i.pupil}": "/"})},
    "mis:pupil-add": {"POST": lambda i: ({}, _pupil_form(i))},
    "mis:pupil-edit": {"POST": lambda i: ({}, _pupil_form(i))},
    "mis:registration-groups": {"POST": lambda i: ({}, {"name": "Probe", "teachers": i.profile})},
    "mis:registration-group": {"POST": lambda i: ({}, {"name": "Probe", "teachers": i.profile})},
    "api:register": {"POST": lambda i: ({}, {"marks": [{"pupil": i.pupil, "code": "/"}]})},
    "api:pupils": {"POST": lambda i: ({}, _pupil_body(i))},
    "api:pupil": {"PUT": lambda i: ({}, _pupil_body(i))},
    "api:registration-groups": {"POST": lambda i: ({}, {"name": "Probe", "teachers": [i.profile]})},
    "api:registration-group": {"PUT": lambda i: ({}, {"name": "Probe", "teachers": [i.profile]})},
    "roles:check-access": {"GET": lambda i: ({"url": "/staff/", "person": i.profile}, None)},
    "roles:rename": {"POST": lambda i: ({}, {"name": "Probe renamed role"})},
    "roles:detail": {"POST": lambda i: ({}, {"grant:institution.details": "view"})},
    "api:access-check": {"GET": lambda i: ({"url": "/staff/", "person": i.profile}, None)},
    "api:role-detail": {"PATCH": lambda i: ({}, {"name": "Probe renamed role"})},
    "api:role-grants": {"PUT": lambda i: ({}, {"grants": {"institution.details": "view"}})},
    "hop:choose": {
        "GET": lambda i: ({"school": i.urn}, None),
        "POST": lambda i: ({}, {"school": i.urn}),
    },
    "hop:redeem": {"POST": lambda i: ({}, {"token": i.hop_token})},
    "hop:continue": {"POST": lambda i: ({}, {"token": i.hop_token})},
    "accounts:sign-in": {
        "POST": lambda i: ({}, {"username": i.email, "password": i.password}),
    },
    "accounts:password-reset": {"POST": lambda i: ({}, {"email": i.email})},
    "school_sharing:request-decline": {"POST": lambda i: ({}, {"reason": "Probe"})},
    "api:institutions": {"GET": lambda i: ({"cluster": i.cluster}, None)},
    "api:cluster": {"PATCH": lambda i: ({}, {"name": "Probe renamed"})},
    "api:cluster-schools": {"PUT": lambda i: ({}, {"urns": _list(i.urn)})},
    "api:audit-events": {"GET": lambda i: ({"person": i.audit_search}, None)},
    "api:staff-list": {"GET": lambda i: ({"q": i.people_search}, None)},
    "api:staff-roles": {"PUT": lambda i: ({}, {"assignments": [{"role": i.role}]})},
    "api:associations-detail": {
        "PUT": lambda i: (
            {},
            {"all_schools": False, "school_urns": [i.urn], "cluster_ids": [i.cluster]},
        )
    },
    "api:hop-start": {"POST": lambda i: ({}, {"school_urn": i.urn})},
    "mis:ctf-export": {"POST": lambda i: ({}, {"pupil": i.pupil})},
    "api:ctf-export": {"POST": lambda i: ({}, {"pupils": [i.pupil]})},
    "mis:arrival": {"POST": lambda i: ({}, {"decision": "accept", "enrolled_on": "2026-12-08"})},
    "api:arrival-accept": {"POST": lambda i: ({}, {"enrolled_on": "2026-12-08"})},
    "api:arrival-reject": {"POST": lambda i: ({}, {"reason": "Probe"})},
    "mis:pupil-off-roll": {
        "POST": lambda i: ({}, {"left_on": "2026-12-08", "reason": "home"}),
    },
    "api:pupil-off-roll": {"POST": lambda i: ({}, {"left_on": "2026-12-08", "reason": "home"})},
    "api:hop-redeem": {"POST": lambda i: ({}, {"token": i.hop_token})},
    "api:agreements-list": {"GET": lambda i: ({"cluster": i.cluster, "tab": "pending"}, None)},
    "api:agreements-requests-send": {
        "POST": lambda i: (
            {},
            {"level": 1, "sender": i.profile, "roles": ["Head Teacher"], "schools": [i.urn]},
        )
    },
    "api:agreements-requests-preview": {
        "GET": lambda i: ({"schools": i.urn, "roles": "Head Teacher"}, None)
    },
    "api:agreements-requests-recipients": {
        "GET": lambda i: ({"schools": i.urn, "name": i.people_search}, None)
    },
    "api:school-sharing-request-forward": {"POST": lambda i: ({}, {"to": i.profile})},
    "api:agreements-requests-remind": {"POST": lambda i: ({}, {"requests": [i.group_request]})},
    "api:agreements-requests-withdraw": {"POST": lambda i: ({}, {"requests": [i.group_request]})},
    "api:school-sharing-request-decline": {"POST": lambda i: ({}, {"reason": "Probe"})},
    "platform accounts:sign-in": {
        "POST": lambda i: ({}, {"username": i.email, "password": i.password}),
    },
    # The admin's own login page, tried with a platform superuser's real password: it must
    # sign nobody in (the platform's sign-in, with lock-out and two-factor, is the door).
    "platform admin:login": {
        "POST": lambda i: ({}, {"username": PLATFORM_STAFF_EMAIL, "password": TEST_PASSWORD}),
    },
}
# Bodies without identifiers: enough to pass validation, so that only the permission
# check stands between the request and a write.
PLAIN_BODIES: dict[str, dict[str, dict]] = {
    "institutions:cluster-create": {"POST": {"name": "Probe new cluster"}},
    "api:clusters": {"POST": {"name": "Probe new cluster"}},
    "accounts:security": {"POST": {"require_two_factor": "on"}},
    "accounts:security-sign-in-provider": {"POST": {"provider": "", "domains": ""}},
    "api:security-sign-in-provider": {
        "PUT": {"provider": "", "domains": [], "accept_provider_mfa": False}
    },
    "roles:create": {"POST": {"name": "Probe new role"}},
    "api:roles-list": {"POST": {"name": "Probe new role"}},
}

# Routes probed on purpose with no identifiers at all are listed nowhere: every route is.
# These are left out of the matrix, each for a reason printed in the summary.
SKIPPED = {
    "api-schema": "the OpenAPI schema: public by design, describes routes not data",
    "api-docs": "Swagger UI over the schema: public by design, no data",
    "healthz": "liveness probe: no identifiers, no data, no session",
    "platform healthz": "liveness probe: no identifiers, no data, no session",
    "readyz": "readiness probe: no identifiers, no data, no session",
    "platform readyz": "readiness probe: no identifiers, no data, no session",
    "platform metrics": (
        "Prometheus metrics: no identifiers, no session; 404 outside "
        "MATMIS_METRICS_ALLOWED_NETWORKS (tests/foundation/test_metrics.py)"
    ),
    "platform mail:list": (
        "development-only mail page (no sign-in by design, DESIGN 'demo mail is readable'); "
        "404 in production, asserted by test_mail_pages_do_not_exist_in_production"
    ),
    "platform mail:detail": "as mail:list",
}

# Routes whose answer depends on the agreement level with the school they name: the
# "level too low" role also probes them with its own level-1 school.
LEVEL_GATED = {
    "hop:choose",
    "api:hop-start",
    "api:hop-targets",
    "institutions:detail",
    "api:institution",
    "analytics:school",
    "api:analytics-school",
}
# Where the level-1 school must not be offered (the hop's targets).
HOP_TARGET_LISTS = {("hop:choose", "GET"), ("api:hop-targets", "GET")}


# --- Roles ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    hosts: tuple[str, ...]
    # Hosts where the role may use the site (its own identifiers would be authorised):
    # there it is probed with foreign and missing identifiers, and only GET elsewhere.
    inside: tuple[str, ...] = ()
    # Inside, it holds the permissions the routes need: a foreign object is then a 404.
    full: tuple[str, ...] = ()


ROLES = (
    Role("anonymous", "no session", (TRUST_A, SCHOOL_A1, PLATFORM)),
    Role(
        "other_trust",
        "trust B's administrator (every permission there), signed in at the target host",
        (TRUST_A, SCHOOL_A1, PLATFORM),
    ),
    Role(
        "other_school",
        "school B1's head teacher (every school permission there), signed in at the target",
        (TRUST_A, SCHOOL_A1, PLATFORM),
    ),
    Role(
        "no_permission",
        "trust A staff holding no role (and no platform access)",
        (TRUST_A, PLATFORM),
        inside=(TRUST_A,),
    ),
    Role(
        "level_too_low",
        "trust A's administrator (every permission, associated to all) against school A3, "
        "whose agreement is at level 1, and foreign identifiers",
        (TRUST_A,),
        inside=(TRUST_A,),
        full=(TRUST_A,),
    ),
    Role(
        "hop",
        "a hop session into school A2, replayed at school A1's host; and inside A2 with "
        "foreign identifiers",
        (SCHOOL_A1, SCHOOL_A2),
        inside=(SCHOOL_A2,),
    ),
    Role(
        "no_pupil_permission",
        "school A1 staff whose role grants none of Students, Attendance, Behaviour",
        (SCHOOL_A1,),
        inside=(SCHOOL_A1,),
    ),
    Role(
        "hop_no_pupil_grants",
        "a hop into school A2 by trust A staff whose group role's in-school set is empty",
        (SCHOOL_A2,),
        inside=(SCHOOL_A2,),
    ),
    Role(
        "signed_out",
        "a session cookie reused after signing out (trust A admin, A1 head, platform staff)",
        (TRUST_A, SCHOOL_A1, PLATFORM),
    ),
    Role(
        "platform_staff",
        "platform support staff signed in at a site's host (no staff profile there)",
        (TRUST_A, SCHOOL_A1),
    ),
    Role(
        "platform_unverified",
        "a platform superuser with an authenticator, whose session never gave a code",
        (PLATFORM,),
    ),
    Role(
        "platform_no_two_factor",
        "a platform superuser who has not set up two-factor sign-in, signed in by password",
        (PLATFORM,),
    ),
    Role(
        "app_client",
        "a third-party app authorised at school A1 for every scope, calling with its access "
        "token (no session), against school B1's and missing identifiers",
        (PLATFORM,),
        inside=(PLATFORM,),
    ),
)
# The app API (thirdparty.app_api): a URN is a public identifier there. Another school's
# public facts are anyone's (Public School Data); its records are refused with 403
# scope_not_authorised, and an app's ask opens a request at that school (its own write).
APP_API_PREFIX = "platform apps_api:"
APP_PUBLIC_ROUTE = "platform apps_api:school"
APP_ASK_ROUTE = "platform apps_api:access-request"


# Roles that hold none of the pupil-data permissions where they are (issue 13): no pupil's
# name or UPN may reach them, nor the audit trail.
PUPIL_BLIND_ROLES = frozenset({"no_pupil_permission", "hop_no_pupil_grants"})


# --- Hops whose right has gone (issue 12): every request on them ends them ----------------

REVOKED_HOP_ROLES = tuple(
    Role(
        revoked.role,
        f"a hop session into {revoked.host} after {revoked.what}: every route must end it, "
        "sign the person out there and say why",
        (revoked.host,),
    )
    for revoked in REVOKED_HOPS
)
ROLES += REVOKED_HOP_ROLES
REVOKED_BY_ROLE = {revoked.role: revoked for revoked in REVOKED_HOPS}
HOP_ENDED_PAGE = "Your Log in to MIS session has ended"


def hop_ended_problems(revoked: RevokedHop, route: "Route", response, session_alive: bool):
    """What is wrong with the answer to a request on a hop whose right has gone: anything
    but the hop's end (403, the reason) on the API's error shape or the page, or a session
    still alive afterwards."""
    problems = []
    if session_alive:
        problems.append("the hop's session is still alive")
    if response.status_code != 403:
        return [*problems, f"answered {response.status_code}, not the hop's end (403)"]
    if route.is_api:
        try:
            error = json.loads(response.content)["error"]
        except (ValueError, KeyError, TypeError):
            return [*problems, "no API error body"]
        said = error.get("message", "") if error.get("code") == "hop_ended" else ""
    else:
        said = html.unescape(response.content.decode("utf-8", "replace"))
        if HOP_ENDED_PAGE not in said:
            said = ""
    if revoked.reason not in said:
        problems.append(f"did not end the hop saying {revoked.reason!r}")
    return problems


# --- Allowed writes -------------------------------------------------------------------------


@dataclass(frozen=True)
class Allowance:
    """A write a refused request may legitimately make, and why."""

    routes: frozenset[str]
    methods: frozenset[str]
    tables: frozenset[str]
    audit_actions: frozenset[str]
    why: str
    roles: frozenset[str] | None = None  # None: any
    hosts: frozenset[str] | None = None


ALLOWANCES = (
    Allowance(
        routes=frozenset({"accounts:sign-in", "platform accounts:sign-in"}),
        methods=frozenset({"POST"}),
        tables=frozenset({"accounts_signinfailure", "accounts_auditevent"}),
        audit_actions=frozenset({"sign_in_failed"}),
        why="a refused sign-in is recorded (throttling and the audit trail)",
    ),
    Allowance(
        routes=frozenset({"accounts:password-reset"}),
        methods=frozenset({"POST"}),
        tables=frozenset({"notifications_emaildelivery"}),
        audit_actions=frozenset(),
        why=(
            "a password reset request queues its email in the outbox, to the address asked "
            "about only when its owner works at the host's site"
        ),
    ),
    Allowance(
        routes=frozenset({"accounts:sign-out", "platform accounts:sign-out", "hop:return"}),
        methods=frozenset({"POST"}),
        tables=frozenset({"accounts_auditevent"}),
        audit_actions=frozenset({"sign_out", "hop_ended"}),
        why="signing out, and returning from a hop (which ends it), are in the audit trail",
    ),
    Allowance(
        routes=frozenset({"*"}),
        methods=frozenset({"POST", "PUT", "PATCH", "DELETE"}),
        tables=frozenset({"accounts_auditevent"}),
        audit_actions=frozenset({"hop_write"}),
        roles=frozenset({"hop", "hop_no_pupil_grants"}),
        hosts=frozenset({SCHOOL_A2}),
        why="every write attempted during a hop is audited at both sites (DESIGN)",
    ),
)
ALLOWANCES += (
    Allowance(
        routes=frozenset({"*"}),
        methods=frozenset({"GET", "POST"}),
        tables=frozenset({"thirdparty_appcall", "thirdparty_dataaccessrequest"}),
        audit_actions=frozenset(),
        roles=frozenset({"app_client"}),
        why=(
            "an app's call naming a school is in that school's access log, and an app's "
            "ask opens a request at the school it names"
        ),
    ),
)
# Pages and endpoints that show pupil-level data: a read of them from outside the school
# (a hop) is recorded for the school (mis.outside_reads).
PUPIL_LEVEL_READS = frozenset(
    {
        "mis:students",
        "mis:pupil",
        "mis:students-export-csv",
        "mis:students-export-xlsx",
        "api:pupils",
        "api:pupil",
        "api:pupils-export",
        "mis:arrivals",
        "mis:arrival",
        "mis:ctf-imports",
        "mis:ctf-import",
        "api:arrivals",
        "api:arrival",
        "api:ctf-imports",
        "api:ctf-import",
        "mis:register",
        "mis:registration-group",
        "api:register",
        "api:registration-group",
    }
)
ALLOWANCES += (
    Allowance(
        routes=PUPIL_LEVEL_READS,
        methods=frozenset({"GET"}),
        tables=frozenset({"mis_outsideread"}),
        audit_actions=frozenset(),
        roles=frozenset({"hop"}),
        hosts=frozenset({SCHOOL_A2}),
        why="a read of pupil-level data from outside the school is recorded for the school",
    ),
    Allowance(
        routes=frozenset({"*"}),
        methods=frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"}),
        tables=frozenset({"accounts_auditevent"}),
        audit_actions=frozenset({"hop_ended"}),
        roles=frozenset(REVOKED_BY_ROLE),
        why="a hop whose right has gone ends on its next request, audited at both sites",
    ),
)


# --- Running a probe ------------------------------------------------------------------------


@dataclass
class Outcome:
    route: str
    role: str
    host: str
    method: str
    mode: str
    path: str
    status: int
    problems: list[str] = field(default_factory=list)


@dataclass
class Results:
    probes: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    routes: set = field(default_factory=set)
    roles: set = field(default_factory=set)
    modes: set = field(default_factory=set)
    skipped: dict = field(default_factory=dict)
    statuses: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    route_seconds: Counter = field(default_factory=Counter)
    allowed: Counter = field(default_factory=Counter)  # allowance -> probes it excused
    mails: int = 0  # messages the probes caused (each checked for foreign addresses)

    @property
    def leaks(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.problems]

    def summary(self) -> str:
        kinds = [mode for mode in ("own", "foreign", "missing") if mode in self.modes]
        return (
            f"probe matrix: {len(self.routes)} routes x {len(self.roles)} roles x "
            f"{len(kinds)} identifiers ({'/'.join(kinds)}; routes without any: once) = "
            f"{self.probes:,} probes, {len(self.leaks)} leaks"
        )


RESULTS = Results()


def _tables() -> list[str]:
    tables = set(connection.introspection.table_names())
    tables.discard("django_session")  # sessions are per-request state, restored by rollback
    return sorted(tables)


def _fingerprint_sql(tables: list[str]) -> str:
    return " UNION ALL ".join(
        f"SELECT '{table}', count(*)::text || ':' || "  # noqa: S608
        f"coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM \"{table}\" x"
        for table in tables
    )


class Prober:
    """Runs probes against one world, inside the module's transaction."""

    def __init__(self, world: World):
        self.world = world
        self.tables = _tables()
        self.sql = _fingerprint_sql(self.tables)
        self.baseline = self.fingerprint()
        assert self.fingerprint() == self.baseline
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM accounts_auditevent")
            self.audit_max = cursor.fetchone()[0]
            cursor.execute("SELECT coalesce(max(id), 0) FROM notifications_emaildelivery")
            self.delivery_max = cursor.fetchone()[0]
        self.markers = world.markers
        self.client = Client(raise_request_exception=True)

    def fingerprint(self) -> dict[str, str]:
        # As the tables' owner: Row-Level Security would hide every site's pupil rows from
        # the application's role here, and with them any write a probe made to them.
        with owner_role(), connection.cursor() as cursor:
            cursor.execute(self.sql)
            return dict(cursor.fetchall())

    # --- what must not show -------------------------------------------------------------------

    def forbidden(self, role: Role, host: str, route: Route, method: str) -> list[str]:
        texts = []
        inside = host in role.inside
        person = self.world.people.get((role.name, host))
        own = {person.full_name, person.email} if person is not None else set()
        if role.name in REVOKED_BY_ROLE:
            own.add(self.world.ta.name)  # their own trust, named in the reason and the way back
        for marker in self.markers:
            if marker.text in own:
                continue  # the signed-in person's own name and address, in the header
            if (
                role.name == "app_client"
                and route.key == APP_PUBLIC_ROUTE
                and marker.kind.startswith("school:")
            ):
                continue  # a school's register facts: Public School Data, anyone's
            if marker.side == "B":
                texts.append(marker.text)
            elif not inside:
                if host not in marker.public_on:
                    texts.append(marker.text)
            elif marker.kind == "unshared-live":
                texts.append(marker.text)  # live figures of a school at level 1: nowhere
            elif marker.kind.startswith("pupil:") and marker.kind != f"pupil:{host}":
                texts.append(marker.text)  # a pupil's record: only on its own school's host
            elif role.name == "no_permission" and marker.kind == "audit":
                texts.append(marker.text)  # the audit trail needs User Details
            elif role.name in PUPIL_BLIND_ROLES and (
                marker.kind.startswith("pupil:") or marker.kind == "audit"
            ):
                texts.append(marker.text)  # no pupil-data permission here, nor User Details
            elif (
                role.name == "hop_no_pupil_grants"
                and (
                    marker.kind == "cluster"
                    or (marker.kind.startswith("staff:") and marker.kind != f"staff:{host}")
                )
            ) or (
                role.name == "hop"
                and (
                    marker.kind in {"audit", "cluster"}
                    or (marker.kind.startswith("staff:") and marker.kind != f"staff:{host}")
                )
            ):
                texts.append(marker.text)  # inside one school: nothing of the others
        if role.name == "level_too_low" and (route.key, method) in HOP_TARGET_LISTS:
            # Never offered as a hop target: on the page, never an option of its form (the
            # page lists it apart, saying why not); in the API's targets, not at all.
            a3 = self.world.a3
            texts.append(f'value="{a3.urn}"' if route.key == "hop:choose" else a3.name)
        return texts

    @staticmethod
    def _found(text: str, haystack: str) -> bool:
        """``text`` as a whole word (a URN as a whole number): a five-letter name can occur
        by chance inside a random token (a CSRF token was seen holding "aphra"), which is
        no leak; a name or address shown on a page is delimited."""
        pattern = rf"(?<![0-9a-z]){re.escape(text.lower())}(?![0-9a-z])"
        return re.search(pattern, haystack) is not None

    # --- one request ----------------------------------------------------------------------------

    def request(self, route, role, host, method, mode, ids) -> Outcome:
        path = build_path(route, path_values(route, ids or self.world.missing))
        query, body = {}, None
        extra = EXTRAS.get(route.key, {}).get(method)
        if extra is not None and ids is not None:
            query, body = extra(ids)
        elif route.key in PLAIN_BODIES:
            body = PLAIN_BODIES[route.key].get(method)
        client = self.client  # one client: its handler (and middleware) load only once
        client.cookies = SimpleCookie()
        key = self.world.sessions.get((role.name, host))
        if key is not None:
            client.cookies[settings.SESSION_COOKIE_NAME] = key
        client.defaults.pop("HTTP_AUTHORIZATION", None)
        if role.name == "app_client":
            client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {self.world.app_token}"
        http_host = settings.BASE_DOMAIN if host == PLATFORM else f"{host}.{settings.BASE_DOMAIN}"
        sent = (path + json.dumps(query) + json.dumps(body or {})).lower()
        outcome = Outcome(route.key, role.name, host, method, mode, path, 0)
        mail_before = len(mail.outbox)
        with transaction.atomic():
            try:
                response = self._send(client, route, method, path, query, body, http_host)
            except Exception as error:  # the test client re-raises the view's exception
                outcome.status = 500
                outcome.problems.append(f"server error: {type(error).__name__}: {error}")
                transaction.set_rollback(True)
                return outcome
            outcome.status = response.status_code
            after = self.fingerprint()  # before the rollback: it would hide the write
            queued = self._queued_addresses()  # emails queued in the outbox, unsent here
            if role.name in REVOKED_BY_ROLE:
                outcome.problems += hop_ended_problems(
                    REVOKED_BY_ROLE[role.name],
                    route,
                    response,
                    Session.objects.filter(
                        session_key=key, expire_date__gt=timezone.now()
                    ).exists(),
                )
            transaction.set_rollback(True)
        if outcome.status >= 500:
            outcome.problems.append(f"server error {outcome.status}")
        if route.platform_staff_only and host not in role.inside and outcome.status < 300:
            outcome.problems.append(
                f"answered {outcome.status}: only verified platform staff may use this page"
            )
        content = b"".join(response.streaming_content) if response.streaming else response.content
        haystack = (
            content.decode("utf-8", "replace")
            + "\n"
            + "\n".join(f"{name}: {value}" for name, value in response.headers.items())
        ).lower()
        for text in self.forbidden(role, host, route, method):
            if text.lower() not in sent and self._found(text, haystack):
                match = re.search(rf"(?<![0-9a-z]){re.escape(text.lower())}", haystack)
                at = match.start() if match else -1
                context = haystack[max(at - 40, 0) : at + len(text) + 40] if at >= 0 else ""
                outcome.problems.append(f"shows {text!r} in …{context!r}…")
        changed = [table for table in self.tables if after[table] != self.baseline[table]]
        if changed:
            problem = self._unallowed_write(route, role, host, method, changed, after)
            if problem:
                outcome.problems.append(problem)
        RESULTS.mails += len(mail.outbox) - mail_before
        for message in mail.outbox[mail_before:]:
            text = " ".join([*message.to, *message.cc, *message.bcc, message.body]).lower()
            for marker in self.markers:
                if marker.side == "B" and marker.text.lower() in text:
                    outcome.problems.append(f"sent mail about {marker.text!r}")
        del mail.outbox[mail_before:]
        RESULTS.mails += len(queued)
        for address in queued:
            for marker in self.markers:
                if marker.side == "B" and marker.text.lower() in address.lower():
                    outcome.problems.append(f"queued mail to {marker.text!r}")
        return outcome

    def get_as_verified_platform_staff(self, route: Route) -> tuple[str, object]:
        """GET a platform page with its own identifiers as a platform superuser whose session
        gave a code (rolled back like a probe): the one person the platform pages are for."""
        path = build_path(route, path_values(route, self.world.ids_for(PLATFORM, "own")))
        client = self.client
        client.cookies = SimpleCookie()
        client.cookies[settings.SESSION_COOKIE_NAME] = self.world.platform_staff_session
        with transaction.atomic():
            response = client.get(path, HTTP_HOST=settings.BASE_DOMAIN)
            transaction.set_rollback(True)
        return path, response

    def _queued_addresses(self) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT address FROM notifications_emaildelivery WHERE id > %s",
                [self.delivery_max],
            )
            return [row[0] for row in cursor.fetchall()]

    @staticmethod
    def _send(client, route, method, path, query, body, http_host):
        if method == "GET":
            return client.get(path, query, HTTP_HOST=http_host)
        if route.is_api:
            return client.generic(
                method,
                path + ("?" + urlencode(query, doseq=True) if query else ""),
                json.dumps(body or {}),
                content_type="application/json",
                HTTP_HOST=http_host,
            )
        if method == "POST":
            return client.post(path, body or {}, HTTP_HOST=http_host)
        return client.generic(method, path, HTTP_HOST=http_host)

    def _unallowed_write(self, route, role, host, method, changed, after) -> str | None:
        for allowance in ALLOWANCES:
            applies = (
                ("*" in allowance.routes or route.key in allowance.routes)
                and method in allowance.methods
                and (allowance.roles is None or role.name in allowance.roles)
                and (allowance.hosts is None or host in allowance.hosts)
                and set(changed) <= allowance.tables
            )
            if applies and (
                "accounts_auditevent" not in changed
                or self._audit_appended_only(allowance.audit_actions)
            ):
                RESULTS.allowed[allowance.why] += 1
                return None
        counts = ", ".join(
            f"{t} {self.baseline[t].split(':')[0]}->{after[t].split(':')[0]} rows" for t in changed
        )
        return f"database changed: {counts}"

    def _audit_appended_only(self, actions: frozenset[str]) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT action FROM accounts_auditevent WHERE id > %s", [self.audit_max])
            added = {row[0] for row in cursor.fetchall()}
            cursor.execute(
                "SELECT count(*)::text || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY "
                "x::text)), '') FROM accounts_auditevent x WHERE id <= %s",
                [self.audit_max],
            )
            unchanged = cursor.fetchone()[0] == self.baseline["accounts_auditevent"]
        return unchanged and added <= actions

    # --- every probe of one route ---------------------------------------------------------------

    def probe_route(self, route: Route) -> list[Outcome]:
        started = time.perf_counter()
        hosts = (PLATFORM,) if route.urlconf == PLATFORM_URLCONF else SITE_HOSTS
        takes_ids = bool(set(route.params) - set(FIXED_PARAMS)) or route.key in EXTRAS
        outcomes = []
        for role in ROLES:
            for host in role.hosts:
                if host not in hosts:
                    continue
                for method in route.methods:
                    for mode, ids in self._modes(route, role, host, method, takes_ids):
                        outcome = self.request(route, role, host, method, mode, ids)
                        outcomes.append(outcome)
                        RESULTS.roles.add(role.name)
                        RESULTS.modes.add(mode)
                        RESULTS.statuses[outcome.status] += 1
        self._compare(route, outcomes)
        RESULTS.probes += len(outcomes)
        RESULTS.routes.add(route.key)
        RESULTS.outcomes += outcomes
        RESULTS.seconds += time.perf_counter() - started
        RESULTS.route_seconds[route.key] += time.perf_counter() - started
        return outcomes

    def _modes(self, route, role, host, method, takes_ids):
        world = self.world
        if role.name in REVOKED_BY_ROLE:
            # The hop ends before any view reads an identifier: once per route and method,
            # with the identifiers the hop could reach while it held.
            return [("own" if takes_ids else "none", world.ids_for(host, "own"))]
        if not takes_ids:
            if host in role.inside and method != "GET":
                return []  # an authorised person's own write: not a probe
            return [("none", world.ids_for(host, "own") if host != PLATFORM else None)]
        modes = []
        if host not in role.inside:
            modes.append(("own", world.ids_for(host, "own")))
        elif role.name == "level_too_low" and route.key in LEVEL_GATED:
            modes.append(("own", world.low_level_ids))
        modes.append(("foreign", world.ids_for(host, "foreign")))
        modes.append(("missing", world.missing))
        return modes

    def _compare(self, route: Route, outcomes: list[Outcome]) -> None:
        """Foreign identifiers are answered exactly like missing ones, never with success,
        and with a 404 (not a 403) where the person may otherwise act."""
        by_probe = defaultdict(dict)
        for outcome in outcomes:
            by_probe[(outcome.role, outcome.host, outcome.method)][outcome.mode] = outcome
        object_path = bool(set(route.params) & OBJECT_PARAMS)
        roles = {role.name: role for role in ROLES}
        for (role_name, host, _method), modes in by_probe.items():
            foreign, missing = modes.get("foreign"), modes.get("missing")
            if foreign is None or missing is None:
                continue
            if role_name == "app_client" and route.key.startswith(APP_API_PREFIX):
                allowed = {APP_PUBLIC_ROUTE: 200, APP_ASK_ROUTE: 201}.get(route.key, 403)
                if foreign.status not in (allowed, 404) or missing.status != 404:
                    foreign.problems.append(
                        f"an app answered {foreign.status} for another school's identifiers "
                        f"and {missing.status} for missing ones"
                    )
                continue
            if foreign.status != missing.status:
                foreign.problems.append(
                    f"answered {foreign.status} for a foreign identifier but "
                    f"{missing.status} for a missing one"
                )
            if object_path and 200 <= foreign.status < 300:
                foreign.problems.append(f"answered {foreign.status} for a foreign object")
            if object_path and host in roles[role_name].full and foreign.status == 403:
                foreign.problems.append("answered 403 (not 404) for a foreign object")


def expected_identifier_params() -> set[str]:
    return OBJECT_PARAMS | OTHER_ID_PARAMS | set(FIXED_PARAMS)


def admin_model_known(label: str) -> bool:
    try:
        apps.get_model(label)
    except LookupError:
        return False
    return True
