"""The browser and the journey's world, shared by every browser test."""

from tests.e2e.test_sharing_journey import browser, journey  # noqa: F401 - fixtures
