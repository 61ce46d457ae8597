"""API rate limits (``DEFAULT_THROTTLE_CLASSES``), counted in the shared cache (Redis when
``REDIS_URL`` is set, so every process counts together; ``CACHES`` in the settings).

Two limits apply to every request, each a 429 in the API's error shape with
``Retry-After`` once it is reached:

- ``SignedInUserThrottle``: per signed-in person, ``API_RATE_PER_USER`` (scope ``user``);
- ``ClientAddressThrottle``: per client address (``matmis.client_address``, so behind a
  proxy each client counts on its own), signed in or not, ``API_RATE_PER_CLIENT`` (scope
  ``client``): higher, since a school's staff may share one address.

Rates are read from the settings on every request (``REST_FRAMEWORK``'s
``DEFAULT_THROTTLE_RATES``), so a change of settings applies at once. Kept apart from
``matmis.api`` because DRF imports its default classes while ``rest_framework.views`` is
still loading."""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .client_address import client_address


class _SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class SignedInUserThrottle(_SettingsRateThrottle):
    scope = "user"

    def get_cache_key(self, request, view):
        if not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class ClientAddressThrottle(_SettingsRateThrottle):
    scope = "client"

    def get_cache_key(self, request, view):
        address = client_address(request)
        if address is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": address}
