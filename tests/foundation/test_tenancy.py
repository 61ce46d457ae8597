import pytest
from django.test import override_settings

from tests.conftest import SITE_SCOPE_QUERIES, SiteClient
from tests.factories import TEST_PASSWORD, InstitutionFactory, StaffProfileFactory, TrustFactory

pytestmark = pytest.mark.django_db


def test_known_site_host_serves_that_site(site_client, trust, trust_staff):
    response = site_client(trust, trust_staff).get("/")
    assert response.status_code == 200
    assert response.wsgi_request.site == trust
    assert b"Oak Ridge Trust" in response.content


def test_known_site_with_port_and_capitals_resolves(trust, trust_staff):
    client = SiteClient(trust)
    client.force_login(trust_staff)
    response = client.get("/", HTTP_HOST="Oak-Ridge-Trust.LOCALHOST:8000")
    assert response.status_code == 200
    assert response.wsgi_request.site == trust


def test_anonymous_visitor_is_sent_to_the_sites_sign_in(site_client, trust):
    response = site_client(trust).get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/sign-in/")


@pytest.mark.parametrize(
    "host",
    [
        "no-such-trust.localhost",
        "no-such-trust.localhost:8000",
        "deep.oak-ridge-trust.localhost",
        "-bad-.localhost",
    ],
)
def test_unknown_host_under_base_domain_is_a_404_revealing_nothing(client, trust, host):
    response = client.get("/", HTTP_HOST=host)
    assert response.status_code == 404
    assert b"No site at this address" in response.content
    assert b"Oak Ridge Trust" not in response.content
    assert "site" not in response.wsgi_request.session


@pytest.mark.parametrize(
    "host", ["evil.example.com", "localhost.evil.example", "oak-ridge-trust.localhost@evil"]
)
def test_host_outside_the_base_domain_is_refused(client, trust, host):
    response = client.get("/", HTTP_HOST=host)
    assert response.status_code == 400


@pytest.mark.parametrize("host", ["localhost", "localhost:8000"])
def test_bare_base_domain_lists_sites_in_development(client, host):
    school = InstitutionFactory(name="Fenwick Primary", slug="fenwick")
    TrustFactory(name="Oak Ridge Trust", slug="oak-ridge-trust")
    response = client.get("/", HTTP_HOST=host)
    assert response.status_code == 200
    assert response.wsgi_request.site is None
    assert b"Oak Ridge Trust" in response.content
    assert school.url.encode() in response.content


@override_settings(LIST_SITES_ON_BASE_DOMAIN=False)
def test_bare_base_domain_lists_no_sites_outside_development(client, trust):
    response = client.get("/", HTTP_HOST="localhost")
    assert response.status_code == 200
    assert b"Oak Ridge Trust" not in response.content
    assert trust.slug.encode() not in response.content


def test_site_pages_are_not_served_on_the_bare_domain(client):
    assert client.get("/api/v1/site/", HTTP_HOST="localhost").status_code == 404


def test_platform_admin_is_not_served_on_a_site_host(site_client, trust):
    assert site_client(trust).get("/support/").status_code == 404


class TestSessionsArePerHost:
    def test_a_session_from_one_site_is_worthless_on_another(self, trust, trust_staff):
        other_trust = TrustFactory()
        # Even a user with access to both sites must sign in at each separately.
        StaffProfileFactory(site=other_trust, user=trust_staff)
        client = SiteClient(trust)
        client.force_login(trust_staff)
        assert client.get("/").status_code == 200

        # Browsers keep host-only cookies apart; an attacker replays the cookie by hand.
        attacker = SiteClient(other_trust)
        attacker.cookies["sessionid"] = client.cookies["sessionid"].value
        replayed = attacker.get("/")
        assert replayed.status_code == 302
        assert not replayed.wsgi_request.user.is_authenticated
        # ...and replaying it elsewhere did not sign the user out where it belongs.
        assert client.get("/").status_code == 200

    def test_a_session_cookie_carries_no_domain(self, trust, trust_staff):
        client = SiteClient(trust)
        response = client.post(
            "/accounts/sign-in/", {"username": trust_staff.email, "password": TEST_PASSWORD}
        )
        assert response.status_code == 302
        cookie = response.cookies["sessionid"]
        assert cookie["domain"] == ""
        assert cookie["httponly"]

    def test_sign_in_at_a_site_needs_a_profile_there(self, trust, trust_staff):
        other_trust = TrustFactory()
        wrong_site = SiteClient(other_trust).post(
            "/accounts/sign-in/", {"username": trust_staff.email, "password": TEST_PASSWORD}
        )
        wrong_password = SiteClient(trust).post(
            "/accounts/sign-in/", {"username": trust_staff.email, "password": "not-it-at-all"}
        )
        assert wrong_site.status_code == wrong_password.status_code == 200
        message = "The email address or password is not right for this site."
        assert message in wrong_site.content.decode()
        assert message in wrong_password.content.decode()
        assert not wrong_site.wsgi_request.user.is_authenticated

    def test_signed_in_user_without_access_to_this_site_gets_not_found(self, trust):
        outsider = StaffProfileFactory(site=TrustFactory()).user
        client = SiteClient(trust)
        client.force_login(outsider)
        assert client.get("/").status_code == 404


def test_site_resolution_costs_one_query(
    site_client, trust, trust_staff, django_assert_num_queries
):
    client = site_client(trust, trust_staff)
    client.get("/")  # warm the session
    # site lookup, session, user, profile check, the person's permissions (the menu shows
    # only what they may open), the page's own count
    with django_assert_num_queries(6 + SITE_SCOPE_QUERIES):
        client.get("/")
