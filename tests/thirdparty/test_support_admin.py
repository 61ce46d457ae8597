"""Platform support registers an app, sees its secret once, rotates it and suspends it."""

import re

import pytest
from django.contrib.messages import get_messages

from tests.conftest import SiteClient, sign_in_verified
from tests.factories import UserFactory
from thirdparty.models import App, AppStatus

pytestmark = pytest.mark.django_db

FORM = {
    "vendor": "Classroom Co",
    "name": "Reading Stars",
    "purpose": "Reading records.",
    "website": "https://stars.test/",
    "privacy_notice_url": "https://stars.test/privacy",
    "support_email": "help@stars.test",
    "required_scopes": ["students"],
    "optional_scopes": ["attendance"],
}


@pytest.fixture
def support_client():
    support = UserFactory(is_staff=True, is_superuser=True)
    return sign_in_verified(SiteClient(), support)


def test_register_an_app_its_secret_shown_once(support_client):
    response = support_client.post("/support/thirdparty/app/add/", FORM)
    assert response.status_code == 302, response.content.decode()[:3000]
    app = App.objects.get()
    assert (app.required_scopes, app.optional_scopes) == (["students"], ["attendance"])
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    secret = re.search(r"client secret (\S+)\.", text).group(1)
    assert secret not in app.oauth_client.client_secret  # stored hashed
    token = SiteClient().post(
        "/api/apps/v1/oauth/token/",
        {
            "grant_type": "client_credentials",
            "client_id": app.oauth_client.client_id,
            "client_secret": secret,
        },
    )
    assert token.status_code == 200


def test_a_scope_both_required_and_optional_is_refused(support_client):
    response = support_client.post(
        "/support/thirdparty/app/add/", {**FORM, "optional_scopes": ["students"]}
    )
    assert response.status_code == 200
    assert "cannot be both required and optional" in response.content.decode()
    assert not App.objects.exists()


def test_suspend_from_the_list(support_client):
    support_client.post("/support/thirdparty/app/add/", FORM)
    app = App.objects.get()
    support_client.post(
        "/support/thirdparty/app/", {"action": "suspend", "_selected_action": [app.pk]}
    )
    app.refresh_from_db()
    assert app.status == AppStatus.SUSPENDED
