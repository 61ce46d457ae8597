from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "Data sharing"

    def ready(self) -> None:
        # Imported here, once the apps' models are loaded: registers the message builder of
        # the request and reminder emails, and of the decision receipts, with the outbox
        # (notifications.builders); and connects the end of agreements to a school leaving
        # its group, in the same transaction (sharing.services.endings).
        from institutions.signals import memberships_ended

        from . import emails, receipts  # noqa: F401
        from .services.endings import agreements_end_on_memberships_ended

        memberships_ended.connect(
            agreements_end_on_memberships_ended, dispatch_uid="sharing_agreements_end"
        )
