import pytest

from tests.conftest import SITE_SCOPE_QUERIES
from tests.factories import InstitutionFactory, StaffProfileFactory, TrustFactory

pytestmark = pytest.mark.django_db


def assert_error_shape(response, status: int, code: str) -> None:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert isinstance(body["error"]["fields"], dict)


class TestCurrentSitePermissionLadder:
    url = "/api/v1/site/"

    def test_anonymous(self, site_client, trust):
        assert_error_shape(site_client(trust).get(self.url), 403, "not_authenticated")

    def test_staff_of_another_site(self, site_client, trust):
        outsider = StaffProfileFactory(site=TrustFactory()).user
        response = site_client(trust, outsider).get(self.url)
        assert_error_shape(response, 403, "permission_denied")
        assert trust.name not in response.content.decode()

    def test_staff_of_this_site(self, site_client, trust, trust_staff, django_assert_num_queries):
        client = site_client(trust, trust_staff)
        client.get(self.url)
        with django_assert_num_queries(4 + SITE_SCOPE_QUERIES):  # site, session, user, profile
            response = client.get(self.url)
        assert response.status_code == 200
        assert response.json() == {
            "slug": "oak-ridge-trust",
            "name": "Oak Ridge Trust",
            "kind": "trust",
            "kind_label": "Trust",
            "url": "http://oak-ridge-trust.localhost/",
        }

    def test_a_school_site_answers_for_itself(self, site_client):
        school = InstitutionFactory(name="Fenwick Primary", slug="fenwick")
        head = StaffProfileFactory(site=school).user
        assert site_client(school, head).get(self.url).json()["kind"] == "school"


def test_api_root_links_to_resources(site_client, trust, trust_staff):
    body = site_client(trust, trust_staff).get("/api/v1/").json()
    assert body["site"] == "http://oak-ridge-trust.localhost/api/v1/site/"
    assert body["schema"].endswith("/api/schema/")


def test_unknown_api_route_uses_the_error_format(site_client, trust, trust_staff):
    assert_error_shape(
        site_client(trust, trust_staff).get("/api/v1/nothing-here/"), 404, "not_found"
    )


def test_write_without_csrf_token_is_refused_in_the_error_format(site_client, trust, trust_staff):
    from django.test import Client

    client = Client(enforce_csrf_checks=True, HTTP_HOST="oak-ridge-trust.localhost")
    client.force_login(trust_staff)
    response = client.post("/api/v1/site/", {})
    assert_error_shape(response, 403, "permission_denied")
    assert "CSRF" in response.json()["error"]["message"]


def test_method_not_allowed_uses_the_error_format(site_client, trust, trust_staff):
    assert_error_shape(
        site_client(trust, trust_staff).delete("/api/v1/site/"), 405, "method_not_allowed"
    )


def test_openapi_schema_describes_the_api(site_client, trust):
    response = site_client(trust).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/site/" in schema["paths"]
    assert "ErrorBody" in schema["components"]["schemas"]


def test_api_docs_page_loads_without_inline_script(site_client, trust):
    response = site_client(trust).get("/api/docs/")
    assert response.status_code == 200
    assert b"<script>" not in response.content


def test_the_500_page_needs_no_database(trust):
    """During a database outage the page that says so must not need the database: reading
    the signed-in user (the menu's context) would raise again and leave the visitor the
    server's bare error text (found by ``bench/run fault_postgres_restart``)."""
    from django.db import OperationalError
    from django.test import RequestFactory
    from django.utils.functional import SimpleLazyObject

    from matmis.views import server_error

    def outage():
        raise OperationalError("the database system is starting up")

    request = RequestFactory().get("/healthz", HTTP_HOST=f"{trust.slug}.localhost")
    request.site = trust
    request.user = SimpleLazyObject(outage)  # as AuthenticationMiddleware leaves it
    response = server_error(request)
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.content.decode()
