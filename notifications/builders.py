"""Message builders: how an app says what its emails contain, without the outbox knowing
anything about it.

An app registers a builder under a name, once, from its ``AppConfig.ready()``::

    @register_builder("sharing.agreement-request")
    def agreement_request_emails(deliveries):
        return {delivery.pk: EmailContent(subject=..., text=..., html=...) for ...}

and queues deliveries naming it, with the ids it needs in ``params``
(``notifications.services.deliveries_enqueue``). When the deliveries are sent, the builder
is given those it made, a claimed batch at a time (at most ``CLAIM_CHUNK``), so it can load
what they need in one query, and returns each one's content by delivery id. A delivery it
leaves out (what the email was about is gone) cannot be sent: it is recorded as FAILED,
with the reason, and never tried again. So is a delivery whose builder is not registered
(renamed, or its app removed). The outbox adds the recipient, the sender, the Message-ID
and the other headers (``notifications.emails``).
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from .models import EmailDelivery


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str = ""


MessageBuilder = Callable[[Sequence[EmailDelivery]], Mapping[int, EmailContent]]

_builders: dict[str, MessageBuilder] = {}


class UnknownBuilder(LookupError):
    """No message builder is registered under the name a delivery gives."""


def register_builder(name: str) -> Callable[[MessageBuilder], MessageBuilder]:
    """Register the decorated function as the message builder ``name``. A name belongs
    to one function: registering another under it is a configuration error."""
    if not name or len(name) > 100:
        raise ImproperlyConfigured(
            f"A message builder needs a name of 1 to 100 characters: {name!r}"
        )

    def register(builder: MessageBuilder) -> MessageBuilder:
        known = _builders.get(name)
        if known is not None and _qualified(known) != _qualified(builder):
            raise ImproperlyConfigured(
                f"The message builder {name!r} is {_qualified(known)} already; "
                f"{_qualified(builder)} cannot take its name."
            )
        _builders[name] = builder
        return builder

    return register


def builder_for(name: str) -> MessageBuilder:
    """The builder registered as ``name``; UnknownBuilder, naming those there are, if none."""
    try:
        return _builders[name]
    except KeyError:
        known = ", ".join(sorted(_builders)) or "none"
        raise UnknownBuilder(
            f"No message builder is registered as {name!r} (registered: {known})."
        ) from None


def _qualified(builder: MessageBuilder) -> str:
    return f"{builder.__module__}.{builder.__qualname__}"
