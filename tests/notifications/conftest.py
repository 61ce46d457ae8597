import pytest

from tests.notifications.backends import FlakyBackend
from tests.notifications.factories import make_pair


@pytest.fixture
def pair(db):
    return make_pair()


@pytest.fixture
def flaky_mail(settings):
    """Mail through ``FlakyBackend``: set ``flaky_mail.failures`` to refuse messages."""
    settings.MAILERS = {"default": {"BACKEND": "tests.notifications.backends.FlakyBackend"}}
    FlakyBackend.reset()
    yield FlakyBackend
    FlakyBackend.reset()
