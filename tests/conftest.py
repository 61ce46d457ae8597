import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import StaffProfileFactory, TrustFactory

# Every request to a site's host runs in one transaction bound to its site
# (``matmis.tenancy.SiteMiddleware``): set_config and its restore, and, inside a test's own
# transaction, the SAVEPOINT and RELEASE around them. Query counts of site pages add these.
SITE_SCOPE_QUERIES = 4


def host_of(site) -> str:
    return f"{site.slug}.{settings.BASE_DOMAIN}"


class SiteClient(Client):
    """A test client that sends every request to one site's host."""

    def __init__(self, site=None, **defaults):
        host = host_of(site) if site is not None else settings.BASE_DOMAIN
        super().__init__(HTTP_HOST=host, **defaults)
        self.site = site


def sign_in_verified(client: Client, user) -> Client:
    """Sign ``user`` in on ``client`` with a session past two-factor sign-in, as after the
    code step (a confirmed authenticator is made for them if they have none). What the
    platform requires of its staff."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts with an empty cache: rate limits (API throttles, password reset)
    count nothing from the tests before it."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def site_client():
    """``site_client(site, user=None)``: a client on ``site``'s host, signed in if given."""

    def make(site=None, user=None) -> SiteClient:
        client = SiteClient(site)
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def trust(db):
    return TrustFactory(name="Oak Ridge Trust", slug="oak-ridge-trust")


@pytest.fixture
def trust_staff(trust):
    return StaffProfileFactory(site=trust).user
