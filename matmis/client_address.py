"""The one answer to "which address is this client at?", for sign-in lock-out, API
throttles, password-reset limits and the audit trail alike.

Without a proxy (``MATMIS_TRUSTED_PROXIES = 0``, the default) it is ``REMOTE_ADDR`` and
``X-Forwarded-For`` is ignored: anyone can write that header. Behind N proxies that each
append the address they were connected from, the last N entries of ``X-Forwarded-For``
were written by proxies we run; the client is the Nth from the right. Anything to the left
of it was written by the client and is never believed. A request with fewer entries than
there are proxies did not come through them all (or the proxies are set up differently):
it is answered with ``REMOTE_ADDR``, never with an address the client chose.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(text: str | None) -> str | None:
    """``text`` as a normalised IP address, or None when it is not one."""
    text = (text or "").strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address, trusting exactly ``MATMIS_TRUSTED_PROXIES`` proxies."""
    remote = _address(request.META.get("REMOTE_ADDR"))
    proxies = settings.MATMIS_TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    forwarded = [
        part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
    ]
    if len(forwarded) < proxies:
        return remote
    return _address(forwarded[-proxies]) or remote
