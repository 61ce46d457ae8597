import pytest

from .factories import World


@pytest.fixture
def world():
    return World()
