"""Error tracking with Sentry, turned on by settings only when ``SENTRY_DSN`` is set.

Errors of the web (Django) and of the worker (Celery) are reported; no personal data is
sent with them (``send_default_pii=False``: no user, cookies, client address or request
body), and the environment and release come from the environment
(``SENTRY_ENVIRONMENT``, ``SENTRY_RELEASE``).
"""

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration


def sentry_init(*, dsn: str, environment: str, release: str, traces_sample_rate: float) -> None:
    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        environment=environment,
        release=release or None,
        traces_sample_rate=traces_sample_rate,
    )
