from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "Data sharing"

    def ready(self) -> None:
        # Imported here, once the apps' models are loaded: registers the message builder of
        # the request and reminder emails with the outbox (notifications.builders).
        from . import emails  # noqa: F401
