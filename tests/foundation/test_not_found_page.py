"""In development (DEBUG on) an unknown address, or a view's own 404, shows the product's
404 page as in production, never Django's technical page listing the URL patterns."""

import pytest

from tests.factories import StaffProfileFactory

pytestmark = pytest.mark.django_db

TECHNICAL_PAGE = ("URLconf", "Django tried these URL patterns", "Raised by:")


@pytest.fixture
def development(settings):
    settings.DEBUG = True


def assert_the_products_404(response):
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert "Error 404" in html
    for text in TECHNICAL_PAGE:
        assert text not in html


def test_an_unknown_address_on_a_site_or_the_platform(development, site_client, trust):
    """Before: Django's technical 404 with every URL pattern of the host."""
    for client in (site_client(trust), site_client(trust, StaffProfileFactory(site=trust).user)):
        assert_the_products_404(client.get("/no-such-page/"))
        assert_the_products_404(client.get("/institutions/no-such-page/"))
    assert_the_products_404(site_client().get("/no-such-page/"))


def test_a_views_own_404(development, site_client, trust):
    """Before: the technical page naming the view and its message."""
    staff = StaffProfileFactory(site=trust).user
    assert_the_products_404(site_client(trust, staff).get("/institutions/999999/"))


def test_the_api_answers_in_its_error_shape(development, site_client, trust):
    response = site_client(trust).get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "not_found", "message": "Not found.", "fields": {}}


def test_a_missing_trailing_slash_still_redirects(development, site_client, trust):
    response = site_client(trust).get("/institutions")
    assert response.status_code == 301
    assert response["Location"] == "/institutions/"


def test_it_is_not_loaded_in_production(site_client, trust):
    """DEBUG off (the tests' default, and production): Django's handler404 answers."""
    assert_the_products_404(site_client(trust).get("/no-such-page/"))
