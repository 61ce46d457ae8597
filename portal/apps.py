from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The roof: pages, URL modules and demo data that compose several apps."""

    name = "portal"
    verbose_name = "Portal"
