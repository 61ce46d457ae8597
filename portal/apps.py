from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The roof: pages, URL modules and demo data that compose several apps."""

    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        # Imported here, once the apps' models are loaded: joins the password reset request
        # (accounts) to the outbox (notifications) and registers its message builder.
        from . import password_reset_emails  # noqa: F401
