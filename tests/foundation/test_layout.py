import pytest

pytestmark = pytest.mark.django_db


def test_pages_carry_a_strict_content_security_policy(site_client, trust, trust_staff):
    response = site_client(trust, trust_staff).get("/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_base_layout_shows_site_kind_user_and_navigation(site_client, trust, trust_staff):
    html = site_client(trust, trust_staff).get("/").content.decode()
    header = html[html.index('<header class="mm-header">') : html.index("</header>")]
    assert '<a class="mm-header__site-name" href="/">Oak Ridge Trust</a>' in header
    assert '<strong class="mm-kind-tag mm-kind-tag--trust">Trust</strong>' in header
    assert trust_staff.display_name in html
    assert 'href="/"' in html
    assert "Sign out" in html
    assert "<script>" not in html
    assert ' style="' not in html


def test_sign_in_page_renders_for_anonymous_visitors(site_client, trust):
    response = site_client(trust).get("/accounts/sign-in/")
    assert response.status_code == 200
    assert b"Email address" in response.content


def test_sign_out_is_a_post_and_ends_the_session(site_client, trust, trust_staff):
    client = site_client(trust, trust_staff)
    assert client.get("/accounts/sign-out/").status_code == 405
    assert client.post("/accounts/sign-out/").status_code == 302
    assert client.get("/").status_code == 302


def test_healthz_reports_database_reachable(site_client, trust):
    response = site_client(trust).get("/healthz")
    assert response.json() == {"status": "ok"}
