"""schemathesis against the OpenAPI schema, in process through the WSGI application.

Every operation of ``/api/schema/`` is called with generated parameters and bodies as a
group admin on the trust's host and as a head teacher on the school's host: no 5xx, and
every response matches the schema (status code, content type, body). Writes run inside
the test's transaction and are rolled back with it. Seeded: the same cases every run.
"""

from collections import Counter
from contextlib import contextmanager

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import load_all_checks, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import StaffProfile
from accounts.permissions import REGISTRY, Access
from tests.conftest import host_of
from tests.factories import TrustFactory, UserFactory, grant_permission
from tests.institutions.factories import ClusterFactory, add_school, put_in_cluster
from tests.sharing.factories import head_teacher, make_request

pytestmark = pytest.mark.django_db

load_all_checks()
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = {"GET": 20, "POST": 12, "PUT": 12, "PATCH": 12, "DELETE": 6}


@contextmanager
def sharing_the_test_connection():
    """Django's WSGI handler closes "old" connections around each request, which would end
    the test's transaction: keep that off while schemathesis calls the application (the
    test client turns it back on after each of its own requests)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _mis_records(trust, school):
    import datetime

    from django.utils import timezone

    from analytics.models import PublishedFigures
    from mis.rollups import rollups_refresh_school
    from sharing.models import Agreement
    from tests.mis.factories import PupilFactory, mark_days, school_days, suspend

    today = timezone.localdate()
    days = school_days(today - datetime.timedelta(days=6), today)
    for n in range(3):
        pupil = PupilFactory(site=school, year_group=3 + n)
        mark_days(pupil, days, ["/", "O"] * len(days))
    suspend(pupil, today)
    Agreement.objects.create(group=trust, school=school, level=2, approved_at=timezone.now())
    rollups_refresh_school(school_id=school.pk, today=today)
    for target in (school, None):
        PublishedFigures.objects.create(
            school=target,
            time_period="202425",
            sessions_possible=1000,
            sessions_overall_absence=60,
            overall_absence_rate="6.00",
            headcount=200,
            suspensions=4,
            suspension_rate="2.00",
        )


def site_admin(site):
    user = UserFactory()
    StaffProfile.objects.create(site=site, user=user)
    for code, permission in REGISTRY.items():
        if site.kind in permission.site_kinds:
            grant_permission(user, site, code, Access.ADMINISTER)
    return user


@pytest.fixture
def sites():
    trust = TrustFactory(slug="oak-ridge-trust")
    school = add_school(trust, slug="fenwick", urn="100001")
    other = add_school(trust, slug="beech", urn="100002")
    cluster = ClusterFactory(group=trust)
    put_in_cluster(cluster, school, other)
    make_request(trust, school)
    # Records behind the MIS and Analytics operations: pupils with marks and a suspension
    # at the school (ids 1..n are likely what schemathesis generates), a level-2 agreement
    # and refreshed figures, and published figures with England's.
    _mis_records(trust, school)
    return {
        "group": (trust, site_admin(trust)),
        "school": (school, head_teacher(school).user),
    }


def signed_in(site, user) -> tuple[dict[str, str], dict[str, str]]:
    """(headers, cookies) of a session signed in at ``site``, with a CSRF token."""
    client = Client(HTTP_HOST=host_of(site))
    client.force_login(user)
    client.get("/api/v1/site/")  # binds the session to the site
    csrf = _get_new_csrf_string()
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    cookies = {django_settings.SESSION_COOKIE_NAME: session, django_settings.CSRF_COOKIE_NAME: csrf}
    return {"X-CSRFToken": csrf}, cookies


@pytest.mark.parametrize("role", ["group", "school"])
def test_every_api_operation_answers_within_its_schema(sites, role):
    site, user = sites[role]
    base_url = f"http://{host_of(site)}"
    headers, cookies = signed_in(site, user)
    with sharing_the_test_connection():
        failures, statuses = run_schemathesis(base_url, headers, cookies)
    assert not failures, "\n\n".join(failures)
    # Signed in for real: most operations answer (2xx), not just refuse.
    assert statuses[2] >= 50, statuses
    assert statuses[5] == 0


def run_schemathesis(
    base_url: str, headers: dict[str, str], cookies: dict[str, str]
) -> tuple[list[str], Counter]:
    """Call every operation with generated cases; the failures found per operation and the
    count of responses by status class (2 for 2xx, ...)."""
    django_app = WSGIHandler()
    cookie_header = "; ".join(f"{name}={value}" for name, value in cookies.items())

    def wsgi_app(environ, start_response):
        # The browser's cookies for this host (schemathesis' WSGI client keeps cookies
        # for "localhost" only, so a site host would never get them).
        environ["HTTP_COOKIE"] = cookie_header
        return django_app(environ, start_response)

    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app, base_url=base_url)
    failures: list[str] = []
    statuses: Counter = Counter()

    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=EXAMPLES.get(operation.method.upper(), 4),
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def call(case):
            response = case.call(app=wsgi_app, base_url=base_url, headers=headers)
            statuses[response.status_code // 100] += 1
            case.validate_response(response, checks=CHECKS)

        try:
            call()
        except (FailureGroup, AssertionError) as failure:
            failures.append(f"{operation.method.upper()} {operation.path}: {failure}"[:1500])

    return failures, statuses
