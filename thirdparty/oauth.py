"""OAuth2 client credentials for third-party apps (``django-oauth-toolkit``).

Each ``App`` has one confidential client whose only grant is client credentials; its
secret is stored hashed (the toolkit's default) and shown once. A suspended app gets no
token, and the tokens it holds stop working at once: both checks ask ``client_may_call``
on every token request and every call, so nothing waits for a token to expire."""

import hashlib
from collections import OrderedDict

from oauth2_provider.models import AccessToken
from oauth2_provider.oauth2_validators import OAuth2Validator

from .models import App, AppStatus


def client_app(application) -> App | None:
    """The app that ``application`` (an OAuth2 client) belongs to, or None."""
    try:
        return application.matmis_app
    except App.DoesNotExist:
        return None


def client_may_call(application) -> bool:
    app = client_app(application)
    return app is not None and app.status == AppStatus.ACTIVE


class AppOAuth2Validator(OAuth2Validator):
    def _load_application(self, client_id, request):
        application = super()._load_application(client_id, request)
        if application is not None and not client_may_call(application):
            request.client = None
            return None
        return application

    def _load_access_token(self, token):
        # One query for the token, its client and the app (the app's status is asked on
        # every call).
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        return (
            AccessToken.objects.select_related("application__matmis_app")
            .filter(token_checksum=checksum)
            .first()
        )

    def validate_bearer_token(self, token, scopes, request):
        if not super().validate_bearer_token(token, scopes, request):
            return False
        if not client_may_call(request.client):
            request.oauth2_error = OrderedDict(
                [("error", "invalid_token"), ("error_description", "This app is suspended.")]
            )
            return False
        return True
