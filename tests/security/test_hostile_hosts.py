"""Hostile Host headers: refused (400) or the unknown-site 404, never a 500, never another
site's content, never a redirect to the hostile host; and password-reset links are built
from the site's own address, never from the Host header."""

import re

import pytest
from django.core import mail
from django.test import Client, TestCase

from tests.factories import InstitutionFactory, StaffProfileFactory, TrustFactory

pytestmark = pytest.mark.django_db

TRUST_NAME = "Oak Ridge Trust"
TRUST_HOST = "oak-ridge-trust.localhost"
OTHER_NAME = "Beech Lane Primary"

REFUSED = 400  # outside ALLOWED_HOSTS, or not a valid host at all: Django's DisallowedHost
UNKNOWN = 404  # under the base domain but no site there: the tenancy 404
SAME = "same"  # the trust's own host spelled differently: served as the trust, nothing else

HOSTS = {
    "evil.com": REFUSED,
    "EVIL.COM": REFUSED,
    "localhost.evil.com": REFUSED,
    "oak-ridge-trust.localhost.evil.com": REFUSED,
    "oak-ridge-trust.LOCALHOST.evil.com": REFUSED,
    "evil.com:80@localhost": REFUSED,
    "localhost:8000@evil.com": REFUSED,
    "oak-ridge-trust.localhost@evil.com": REFUSED,
    "oak-ridge-trust.localhost/evil.com": REFUSED,
    "oak-ridge-trust.localhost%2eevil.com": REFUSED,
    "oak-ridge-trust.localhost\r\nX-Injected: yes": REFUSED,
    "oak-ridge-trust.localhost\nevil.com": REFUSED,
    "oak-ridge-trust.localhost ": REFUSED,
    " oak-ridge-trust.localhost": REFUSED,
    "оak-ridge-trust.localhost": REFUSED,  # a Cyrillic o: an IDN lookalike
    "oak-ridge-trust.lоcalhost": REFUSED,  # a Cyrillic o in the base domain
    "oak‐ridge‐trust.localhost": REFUSED,  # Unicode hyphens
    "[::1]": REFUSED,
    "[::1]:8000": REFUSED,
    "127.0.0.1": REFUSED,
    "127.0.0.1:8000": REFUSED,
    "2130706433": REFUSED,
    "0x7f.0.0.1": REFUSED,
    "": REFUSED,
    "*.localhost": REFUSED,
    "_oak.localhost": REFUSED,
    "oak-ridge-trust.localhost:abc": REFUSED,
    "oak-ridge-trust.localhost:": REFUSED,
    "oak-ridge-trust.localhost:80:80": REFUSED,
    "oak-ridge-trust.localhost..": REFUSED,
    "<script>.localhost": REFUSED,
    "a" * 300 + ".localhost": UNKNOWN,
    ".".join(["a" * 63] * 8) + ".localhost": UNKNOWN,
    "xn--ak-ridge-trust-xyz.localhost": UNKNOWN,
    "oak-ridge-trust..localhost": UNKNOWN,
    "-oak-ridge-trust.localhost": UNKNOWN,
    "evil.oak-ridge-trust.localhost": UNKNOWN,
    "no-such-site.localhost:99999": UNKNOWN,
    "OAK-RIDGE-TRUST.LOCALHOST": SAME,
    "oak-ridge-trust.localhost.": SAME,
    "oak-ridge-trust.localhost:99999": SAME,
    "oak-ridge-trust.localhost:0": SAME,
}


@pytest.fixture
def sites():
    trust = TrustFactory(name=TRUST_NAME, slug="oak-ridge-trust")
    other = InstitutionFactory(name=OTHER_NAME, slug="beech-lane")
    return trust, other


def assert_no_redirect_elsewhere(response) -> None:
    location = response.get("Location")
    if location is None:
        return
    assert location.startswith("/") and not location.startswith("//"), location
    assert "evil" not in location


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "trust-staff"])
@pytest.mark.parametrize("path", ["/", "/accounts/sign-in/", "/api/v1/site/", "/healthz"])
@pytest.mark.parametrize("host", list(HOSTS), ids=[repr(h)[:40] for h in HOSTS])
def test_a_hostile_host_is_refused_or_unknown_never_an_error_or_a_leak(
    sites, host, path, signed_in
):
    trust, _ = sites
    client = Client()
    if signed_in:
        client.force_login(StaffProfileFactory(site=trust).user)
    response = client.get(path, HTTP_HOST=host)
    expected = HOSTS[host]
    body = response.content.decode(errors="replace")

    assert response.status_code < 500
    assert_no_redirect_elsewhere(response)
    assert OTHER_NAME not in body
    assert "beech-lane" not in body
    if expected == SAME:
        assert response.wsgi_request.site == trust
        return
    assert response.status_code == expected, body[:300]
    assert TRUST_NAME not in body
    assert "oak-ridge-trust.localhost/" not in body
    assert "X-Injected" not in response.headers
    if expected == UNKNOWN:
        assert response.wsgi_request.site is None
        assert "No site at this address" in body  # on /api/ paths too


@pytest.mark.parametrize("host", ["evil.com", "localhost.evil.com", "[::1]", ""])
def test_a_hostile_host_cannot_post_either(sites, host):
    response = Client().post(
        "/accounts/sign-in/", {"username": "x", "password": "y"}, HTTP_HOST=host
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "host",
    [
        "OAK-RIDGE-TRUST.LOCALHOST",
        "Oak-Ridge-Trust.LocalHost:8443",
        "oak-ridge-trust.localhost.",
        "oak-ridge-trust.localhost:99999",
    ],
)
@pytest.mark.parametrize("forwarded", [None, "evil.com"])
def test_password_reset_links_use_the_sites_own_address_whatever_the_host_says(
    sites, host, forwarded
):
    trust, _ = sites
    staff = StaffProfileFactory(site=trust).user
    headers = {"HTTP_HOST": host}
    if forwarded:
        headers |= {"HTTP_X_FORWARDED_HOST": forwarded, "HTTP_FORWARDED": f"host={forwarded}"}
    with TestCase.captureOnCommitCallbacks(execute=True):  # the outbox sends on commit
        response = Client().post("/accounts/password-reset/", {"email": staff.email}, **headers)

    assert response.status_code == 302
    assert_no_redirect_elsewhere(response)
    [message] = mail.outbox
    bodies = [message.body, *(content for content, _ in message.alternatives)]
    for body in bodies:
        links = re.findall(r"https?://[^\s\"'<>]+", body)
        assert links, body
        for link in links:
            assert link.startswith(f"http://{TRUST_HOST}/"), link
        assert host not in body or host == TRUST_HOST
        assert "evil" not in body
