"""The password reset email: asking for it, and what it says.

Every email goes through the outbox (``notifications``), which sits above accounts and is
not imported here. Asking for links (``password_reset_request``) is announced with the
signal ``password_reset_requested``; its receiver (``portal.password_reset_emails``, the
roof joining accounts to the outbox) queues one delivery per person in the request's
transaction, and the message builder it registers calls
``password_reset_email`` when the delivery is sent. So the link's token is made when the
email is, and is never stored; and a person who no longer may reset their password here
by then (left the site, switched off, their address changed) is sent nothing.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ImproperlyConfigured
from django.dispatch import Signal
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.timesince import timeuntil

from accounts.models import User
from institutions.models import Institution

from .sign_in import password_reset_recipients

# Sent with ``users`` (list of User) and ``site`` (Institution): queue each a reset email.
password_reset_requested = Signal()


def password_reset_request(*, users: Sequence[User], site: Institution) -> None:
    """Have a reset link sent to each of ``users`` (the recipients of
    ``password_reset_recipients``) for ``site``, through the outbox."""
    if not users:
        return
    if not password_reset_requested.receivers:
        raise ImproperlyConfigured(
            "Nothing sends password reset emails: the portal app connects "
            "password_reset_requested to the outbox when it is installed."
        )
    password_reset_requested.send(sender=User, users=list(users), site=site)


@dataclass(frozen=True)
class ResetEmail:
    subject: str
    text: str
    html: str


def _reset_link_lifetime() -> str:
    now = timezone.now()
    return timeuntil(now + datetime.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT), now)


def password_reset_email(*, user: User, address: str, site: Institution) -> ResetEmail | None:
    """The email with a fresh reset link for ``user`` at ``site``, to ``address``; None
    when they may no longer be sent one (see the module's docstring)."""
    still = password_reset_recipients(email=user.email, site=site).filter(pk=user.pk)
    if user.email.lower() != address.lower() or not still.exists():
        return None
    context = {
        "user": user,
        "site": site,
        "site_name": site.name,
        "base_url": site.url.rstrip("/"),  # from the settings, never a request's Host
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
        "valid_for": _reset_link_lifetime(),
    }
    subject = render_to_string("accounts/email/password_reset_subject.txt", context)
    return ResetEmail(
        subject=" ".join(subject.split()),
        text=render_to_string("accounts/email/password_reset.txt", context),
        html=render_to_string("accounts/email/password_reset.html", context),
    )
