"""Security headers on every kind of response, and transport security in production mode.

tests/foundation/test_layout.py checks one signed-in page; tests/foundation/test_settings.py
runs ``check --deploy --fail-level WARNING`` in production mode. This file covers the other
response types (API JSON, the schema, error pages, the bare domain, refused hosts) and what
production actually sends (HSTS, secure cookies, the HTTPS redirect).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import host_of
from tests.factories import InstitutionFactory, StaffProfileFactory, TrustFactory

ROOT = Path(__file__).resolve().parents[2]
TRUST_HOST = "oak-ridge-trust.localhost"


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def assert_secure_headers(response) -> None:
    policy = response["Content-Security-Policy"]
    csp = directives(policy)
    for unsafe in ("unsafe-inline", "unsafe-eval", "unsafe-hashes", "strict-dynamic"):
        assert unsafe not in policy, policy
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert "form-action" in csp
    assert not any(
        source in ("*", "http:", "https:") for sources in csp.values() for source in sources
    )
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.fixture
def trust_client(db):
    trust = TrustFactory(name="Oak Ridge Trust", slug="oak-ridge-trust")
    client = Client(HTTP_HOST=host_of(trust))
    client.force_login(StaffProfileFactory(site=trust).user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),  # an HTML page
        ("/institutions/clusters/new/", 403),  # the permission 403 page
        ("/no-such-page/", 404),  # the 404 page
        ("/api/v1/site/", 200),  # API JSON
        ("/api/v1/no-such-endpoint/", 404),  # API 404 in the error shape
        ("/api/v1/clusters/999999/", 404),
        ("/api/schema/", 200),  # the OpenAPI schema
        ("/api/docs/", 200),  # Swagger UI
        ("/healthz", 200),
    ],
)
def test_every_kind_of_site_response_carries_the_security_headers(trust_client, path, status):
    response = trust_client.get(path)
    assert response.status_code == status
    assert_secure_headers(response)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("host", "path", "status"),
    [
        ("localhost", "/", 200),  # the bare domain
        ("localhost", "/sign-in/", 200),
        ("localhost", "/no-such-page/", 404),
        ("no-such-site.localhost", "/", 404),  # the unknown-site page
        ("evil.com", "/", 400),  # a refused host
        ("evil.com", "/api/v1/site/", 400),
    ],
)
def test_the_platform_unknown_sites_and_refused_hosts_carry_them_too(host, path, status):
    response = Client().get(path, HTTP_HOST=host)
    assert response.status_code == status
    assert_secure_headers(response)


@pytest.mark.django_db
def test_the_csrf_failure_403_and_the_school_sites_carry_them_too():
    school = InstitutionFactory(slug="fenwick")
    client = Client(enforce_csrf_checks=True, HTTP_HOST=host_of(school))
    client.force_login(StaffProfileFactory(site=school).user)
    assert_secure_headers(client.get("/"))
    refused = client.post("/accounts/sign-out/")
    assert refused.status_code == 403
    assert_secure_headers(refused)


# --- Production mode ------------------------------------------------------------------------

PRODUCTION_PROBE = """
import json
from django.test import Client
from django.test.utils import override_settings
from django.conf import settings

out = {"settings": {name: getattr(settings, name) for name in (
    "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_HTTPONLY", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "DEBUG")}}
# Static files are not collected here: the manifest storage would fail on {% static %}.
storages = {**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
with override_settings(STORAGES=storages):
    plain = Client().get("/sign-in/", HTTP_HOST="matmis.example")
    secure = Client().get("/sign-in/", HTTP_HOST="matmis.example", secure=True)
    forwarded = Client().get(
        "/sign-in/", HTTP_HOST="matmis.example", HTTP_X_FORWARDED_PROTO="https")
    evil = Client().get("/", HTTP_HOST="evil.com", secure=True)
out["plain"] = {"status": plain.status_code, "location": plain.get("Location", "")}
for name, response in (("secure", secure), ("forwarded", forwarded), ("evil", evil)):
    out[name] = {
        "status": response.status_code,
        "headers": dict(response.headers),
        "cookies": {key: {attr: morsel[attr] for attr in ("secure", "httponly", "samesite")}
                    for key, morsel in response.cookies.items()},
    }
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def production():
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SECRET_KEY", "MATMIS_ENV"}}
    env.update(
        DJANGO_SETTINGS_MODULE="matmis.settings.base",
        MATMIS_ENV="production",
        DJANGO_SECRET_KEY="a-long-random-production-secret-" + "9f3k2l1m0n8b7v6c5x4z" * 3,
        BASE_DOMAIN="matmis.example",
        EMAIL_HOST="mail.matmis.example",
        # Behind the deployment's one proxy: X-Forwarded-Proto is believed only then
        # (tests/foundation/test_deploy_settings.py checks it is not without a proxy).
        MATMIS_TRUSTED_PROXIES="1",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PRODUCTION_PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_settings_turn_on_transport_security(production):
    assert production["settings"] == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "DEBUG": False,
    }


def test_production_redirects_plain_http_to_https_on_the_same_host(production):
    assert production["plain"]["status"] == 301
    assert production["plain"]["location"] == "https://matmis.example/sign-in/"


@pytest.mark.parametrize("request_kind", ["secure", "forwarded"])
def test_production_sends_hsts_with_subdomains_and_preload_and_secure_cookies(
    production, request_kind
):
    response = production[request_kind]
    assert response["status"] == 200
    headers = response["headers"]
    hsts = [part.strip() for part in headers["Strict-Transport-Security"].split(";")]
    assert hsts == ["max-age=31536000", "includeSubDomains", "preload"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    # Forms are posted only over HTTPS to matmis hosts.
    form_action = directives(headers["Content-Security-Policy"])["form-action"]
    assert form_action == ["'self'", "https://*.matmis.example:*"]
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    csrf = response["cookies"]["csrftoken"]
    assert csrf == {"secure": True, "httponly": True, "samesite": "Lax"}


def test_production_refuses_a_foreign_host_with_the_headers_still_on(production):
    assert production["evil"]["status"] == 400
    assert "Strict-Transport-Security" in production["evil"]["headers"]
    assert "frame-ancestors 'none'" in production["evil"]["headers"]["Content-Security-Policy"]
