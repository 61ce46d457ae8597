"""Sign-in CSRF through the hop's redemption (issue 12, item 5): a page elsewhere must not
be able to post someone's own fresh token to a school's ``/hop/`` from another person's
browser and so sign that browser in as themselves. The redemption must come from the
group's site, and a session signed in as someone else is not replaced without asking."""

from html import unescape

import pytest
from django.conf import settings

from accounts.models import AuditAction, AuditEvent, HopToken
from hop.services import site_origin
from tests.conftest import SiteClient
from tests.factories import StaffProfileFactory

pytestmark = pytest.mark.django_db

NOT_FROM_THE_GROUP = "did not come from your group's site"
EVIL_ORIGIN = "https://attacker.example"


@pytest.fixture
def head(world):
    return StaffProfileFactory(site=world.school, user__full_name="Helen Head").user


@pytest.fixture
def head_client(world, head):
    client = SiteClient(world.school)
    client.force_login(head)
    return client


def from_group(world) -> dict:
    return {"HTTP_ORIGIN": site_origin(world.trust), "HTTP_SEC_FETCH_SITE": "same-site"}


# --- Refused when it does not come from the group's site ------------------------------------


def test_a_cross_site_post_does_not_replace_the_heads_session(world, head, head_client):
    _, token = world.start()  # the attacker's own, fresh token
    response = head_client.post(
        "/hop/", {"token": token}, HTTP_ORIGIN=EVIL_ORIGIN, HTTP_SEC_FETCH_SITE="cross-site"
    )
    assert response.status_code == 403
    assert NOT_FROM_THE_GROUP in unescape(response.content.decode())
    assert head_client.get("/").wsgi_request.user == head
    assert not AuditEvent.objects.filter(action=AuditAction.HOP_STARTED).exists()


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_SEC_FETCH_SITE": "cross-site"},
        {"HTTP_ORIGIN": EVIL_ORIGIN},
        {"HTTP_ORIGIN": "null"},  # a sandboxed frame, a redirect across sites
        {"HTTP_ORIGIN": "http://fenwick.localhost:8000"},  # the school's own host
        {"HTTP_ORIGIN": "http://oak-ridge-trust.localhost:9999"},  # another port
    ],
    ids=["sec-fetch-site cross-site", "foreign origin", "null origin", "school", "port"],
)
def test_a_redemption_from_anywhere_but_the_group_is_refused_and_spends_the_token(world, headers):
    _, token = world.start()
    client = SiteClient(world.school)
    response = client.post("/hop/", {"token": token}, **headers)
    assert response.status_code == 403
    assert NOT_FROM_THE_GROUP in unescape(response.content.decode())
    assert client.get("/").status_code == 302  # not signed in
    assert HopToken.objects.get().used_at is not None


@pytest.mark.parametrize("fetch_site", ["same-site", "cross-site", None])
def test_from_the_groups_site_the_hop_starts(world, fetch_site):
    """The group's origin decides: ``<slug>.localhost`` hosts are cross-site to one
    another (``localhost`` is a suffix of its own), and so are any two sites under a base
    domain that is one."""
    _, token = world.start()
    client = SiteClient(world.school)
    headers = {"HTTP_ORIGIN": site_origin(world.trust)}
    if fetch_site:
        headers["HTTP_SEC_FETCH_SITE"] = fetch_site
    response = client.post("/hop/", {"token": token}, **headers)
    assert response.status_code == 302
    assert client.get("/").wsgi_request.hop_group == world.trust


def test_the_api_refuses_a_cross_site_redemption(world):
    _, token = world.start()
    client = SiteClient(world.school)
    response = client.post(
        "/api/v1/hop/redeem/", {"token": token}, HTTP_ORIGIN=EVIL_ORIGIN
    )  # a form post: no preflight to stop it
    assert response.status_code == 403
    assert NOT_FROM_THE_GROUP in response.json()["error"]["message"]
    assert settings.SESSION_COOKIE_NAME not in client.cookies


# --- Someone else signed in here: ask first -------------------------------------------------


def test_someone_else_signed_in_here_is_asked_first(world, head, head_client):
    _, token = world.start()
    response = head_client.post("/hop/", {"token": token}, **from_group(world))
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert "You are signed in here as Helen Head" in html
    assert f"Continue as {world.user.full_name}" in html
    assert 'action="/hop/continue/"' in html
    assert head_client.get("/").wsgi_request.user == head  # nothing replaced yet
    assert HopToken.objects.get().used_at is None


def test_continuing_on_this_hosts_form_replaces_them_and_records_it(world, head):
    client = SiteClient(world.school, enforce_csrf_checks=True)
    client.force_login(head)
    _, token = world.start()
    asked = client.post("/hop/", {"token": token}, **from_group(world))
    csrf = asked.context["csrf_token"]
    response = client.post("/hop/continue/", {"token": token, "csrfmiddlewaretoken": csrf})
    assert response.status_code == 302
    home = client.get("/")
    assert home.wsgi_request.user == world.user
    assert home.wsgi_request.hop_group == world.trust
    signed_out = AuditEvent.objects.filter(action=AuditAction.SIGN_OUT, site=world.school)
    assert signed_out.get().actor == head


def test_the_confirmation_needs_this_hosts_csrf_token(world, head):
    client = SiteClient(world.school, enforce_csrf_checks=True)
    client.force_login(head)
    _, token = world.start()
    response = client.post("/hop/continue/", {"token": token})
    assert response.status_code == 403
    assert client.get("/").wsgi_request.user == head
    assert HopToken.objects.get().used_at is None


def test_the_confirmation_is_refused_from_another_origin(world, head, head_client):
    _, token = world.start()
    response = head_client.post(
        "/hop/continue/", {"token": token}, HTTP_ORIGIN=site_origin(world.trust)
    )
    assert response.status_code == 403
    assert head_client.get("/").wsgi_request.user == head


def test_the_api_does_not_replace_someone_else(world, head, head_client):
    _, token = world.start()
    response = head_client.post(
        "/api/v1/hop/redeem/", {"token": token}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "Someone else is signed in" in response.json()["error"]["message"]
    assert head_client.get("/").wsgi_request.user == head


def test_the_same_person_is_not_asked(world):
    school_client = world.hop_in()
    _, token = world.start()
    response = school_client.post("/hop/", {"token": token}, **from_group(world))
    assert response.status_code == 302
    assert school_client.get("/").wsgi_request.hop_group == world.trust


def test_the_groups_form_names_its_origin_to_the_school(world):
    """The site's "same-origin" referrer policy would make the browser send ``Origin:
    null`` with the group's form to the school's host (test_hop_browser shows it)."""
    response, _ = world.start()
    assert response["Referrer-Policy"] == "strict-origin"
    assert world.group_client().get("/")["Referrer-Policy"] == "same-origin"  # elsewhere
