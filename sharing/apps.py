from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "Data sharing"

    def ready(self) -> None:
        # Imported here, once the apps' models are loaded: registers the message builder of
        # the request and reminder emails, and of the decision receipts, with the outbox
        # (notifications.builders).
        from . import emails, receipts  # noqa: F401
