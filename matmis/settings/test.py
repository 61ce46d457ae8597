"""Test settings: the base settings with fast password hashing and mail kept in memory."""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
CELERY_BROKER_URL = "memory://"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
SITE_PORT = ""
LIST_SITES_ON_BASE_DOMAIN = True
# Each test process keeps its own cache, cleared before every test (tests/conftest.py), even
# with REDIS_URL set: clearing a Redis cache flushes its whole database, which the broker
# and the other test process may be using.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Suites that call the API hundreds of times as one person (schemathesis) are not rate
# limited; tests/foundation/test_api_throttles.py sets the limits it tests.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {
        "user": "100000/minute",
        "client": "100000/minute",
        "app": "100000/minute",
    },
}
