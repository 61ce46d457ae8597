"""Apps, their tokens and the schools' grants, for tests."""

import datetime
import itertools

from django.utils import timezone
from oauth2_provider.models import AccessToken

from accounts.audit import Actor, system_actor
from tests.conftest import SiteClient
from thirdparty.models import RequestOrigin
from thirdparty.services import access_request_open, app_register, request_authorise

_serial = itertools.count(1)


def make_app(*, required=("students",), optional=(), vendor="Classroom Co", name=None):
    """An app with its credentials: (app, credentials)."""
    return app_register(
        vendor=vendor,
        name=name or f"App {next(_serial)}",
        purpose="Helps teachers plan lessons.",
        website="https://app.example.test/",
        privacy_notice_url="https://app.example.test/privacy",
        support_email="support@app.example.test",
        required_scopes=list(required),
        optional_scopes=list(optional),
        actor=system_actor(),
    )


def token_for(app, *, expires_in=600) -> str:
    """An access token of ``app``, as the token endpoint issues (a past expiry: expired)."""
    value = f"test-token-{next(_serial)}-{app.pk}"
    AccessToken.objects.create(
        application=app.oauth_client,
        token=value,
        expires=timezone.now() + datetime.timedelta(seconds=expires_in),
        scope="apps",
    )
    return value


def app_client(token: str | None) -> SiteClient:
    """A client on the platform host sending ``token`` as its bearer token."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return SiteClient(None, **headers)


def authorise(app, school, *, optional=(), user=None):
    """``school`` authorises ``app`` with its required scopes and ``optional``."""
    outcome = access_request_open(app=app, school=school, origin=RequestOrigin.APP)
    actor = system_actor(site=school) if user is None else _actor(user, school)
    return request_authorise(
        request=outcome.request,
        required_scopes=list(app.required_scopes),
        optional_scopes=list(optional),
        actor=actor,
    )


def _actor(user, school):
    return Actor(user=user, site=school)
