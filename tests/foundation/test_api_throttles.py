"""API rate limits (matmis.api_throttles): per signed-in person and per client address,
counted in the shared cache, a 429 in the API's error shape with Retry-After."""

import pytest
from django.conf import settings
from django.test import override_settings

from tests.factories import StaffProfileFactory
from tests.foundation.test_api import assert_error_shape

from .test_settings import run_django

pytestmark = pytest.mark.django_db
URL = "/api/v1/site/"


def rates(user: str, client: str):
    return override_settings(
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"user": user, "client": client},
        }
    )


def get(site_client, trust, user, address="203.0.113.4", **extra):
    return site_client(trust, user).get(URL, REMOTE_ADDR=address, **extra)


@rates(user="3/minute", client="100/minute")
def test_one_person_is_limited_and_told_when_to_come_back(site_client, trust, trust_staff):
    for _ in range(3):
        assert get(site_client, trust, trust_staff).status_code == 200
    refused = get(site_client, trust, trust_staff)
    assert_error_shape(refused, 429, "throttled")
    assert 1 <= int(refused["Retry-After"]) <= 60
    # The same person from elsewhere is the same person.
    assert get(site_client, trust, trust_staff, address="198.51.100.1").status_code == 429
    # A colleague at the same address is not held back by them.
    colleague = StaffProfileFactory(site=trust).user
    assert get(site_client, trust, colleague).status_code == 200


@rates(user="100/minute", client="3/minute")
def test_one_address_is_limited_whoever_signs_in(site_client, trust):
    people = [StaffProfileFactory(site=trust).user for _ in range(4)]
    for person in people[:3]:
        assert get(site_client, trust, person).status_code == 200
    assert_error_shape(get(site_client, trust, people[3]), 429, "throttled")
    assert get(site_client, trust, people[3], address="198.51.100.1").status_code == 200


@rates(user="100/minute", client="3/minute")
def test_anonymous_clients_are_counted_too(site_client, trust):
    """The public API documentation: no one is signed in, the address counts."""
    client = site_client(trust)
    for _ in range(3):
        assert client.get("/api/docs/", REMOTE_ADDR="203.0.113.4").status_code == 200
    assert client.get("/api/docs/", REMOTE_ADDR="203.0.113.4").status_code == 429
    assert client.get("/api/docs/", REMOTE_ADDR="198.51.100.1").status_code == 200


@rates(user="100/minute", client="2/minute")
@override_settings(MATMIS_TRUSTED_PROXIES=1)
def test_behind_a_proxy_each_client_counts_on_its_own(site_client, trust, trust_staff):
    proxy = "10.0.0.2"
    for _ in range(2):
        assert (
            get(site_client, trust, trust_staff, proxy, HTTP_X_FORWARDED_FOR="203.0.113.4")
        ).status_code == 200
    assert (
        get(site_client, trust, trust_staff, proxy, HTTP_X_FORWARDED_FOR="203.0.113.4")
    ).status_code == 429
    other = StaffProfileFactory(site=trust).user
    response = get(site_client, trust, other, proxy, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert response.status_code == 200


def test_the_cache_is_shared_through_redis_when_there_is_one():
    show = ["shell", "-c", "from django.conf import settings; print(settings.CACHES)"]
    shared = run_django(show, REDIS_URL="redis://cache.internal:6379/3")
    assert "RedisCache" in shared.stdout, shared.stderr
    assert "redis://cache.internal:6379/3" in shared.stdout
    alone = run_django(show, REDIS_URL="")
    assert "LocMemCache" in alone.stdout, alone.stderr


def test_a_malformed_rate_names_the_variable():
    result = run_django(["check"], API_RATE_PER_USER="lots")
    assert result.returncode != 0
    assert "API_RATE_PER_USER must be a rate such as 300/minute" in result.stderr
