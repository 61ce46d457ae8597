"""Setting up an authenticator app: the secret offered to the person, kept in their session
until they confirm it with a code (``services.two_factor_enrol``), shown as text and as a QR
code."""

import io
from urllib.parse import quote, urlencode

import segno
from django.http import HttpRequest
from django_otp.util import random_hex

from accounts.models import User

from .codes import TOTP_DIGITS, TOTP_STEP

ISSUER = "matmis"
ENROLMENT_KEY_SESSION = "_matmis_two_factor_new_key"


def enrolment_key(request: HttpRequest) -> str:
    """The secret offered to this session's person while they set up their app (hex).

    Kept in the session until confirmed, so looking at the page changes nothing stored and
    reloading it shows the same QR code.
    """
    key = request.session.get(ENROLMENT_KEY_SESSION)
    if not key:
        key = random_hex(20)
        request.session[ENROLMENT_KEY_SESSION] = key
    return key


def enrolment_key_peek(request: HttpRequest) -> str | None:
    return request.session.get(ENROLMENT_KEY_SESSION) or None


def secret_for_display(key_hex: str) -> str:
    """The base32 secret in groups of four, for typing into an app by hand."""
    from base64 import b32encode

    secret = b32encode(bytes.fromhex(key_hex)).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def enrolment_config_url(*, user: User, key_hex: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    from base64 import b32encode

    label = quote(f"{ISSUER}:{user.email}")
    params = urlencode(
        {
            "secret": b32encode(bytes.fromhex(key_hex)).decode().rstrip("="),
            "issuer": ISSUER,
            "algorithm": "SHA1",
            "digits": TOTP_DIGITS,
            "period": TOTP_STEP,
        }
    )
    return f"otpauth://totp/{label}?{params}"


def qr_code_svg(*, content: str, title: str) -> bytes:
    """A QR code as a standalone SVG document that scales to any size."""
    buffer = io.BytesIO()
    segno.make(content, error="m", micro=False).save(
        buffer,
        kind="svg",
        scale=1,
        border=4,
        dark="#0b0c0c",
        light="#ffffff",
        omitsize=True,
        title=title,
        svgclass=None,
        lineclass=None,
    )
    return buffer.getvalue()
