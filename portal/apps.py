from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalConfig(AppConfig):
    """The roof: pages, URL modules and demo data that compose several apps."""

    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        # Imported here, once the apps' models are loaded: joins the password reset request
        # and the staff invitations and notices (accounts) to the outbox (notifications) and
        # registers their message builders.
        from . import password_reset_emails, staff_emails  # noqa: F401


class SupportAdminConfig(admin_apps.AdminConfig):
    """Django's admin, whose ``admin.site`` (where every app registers its models) is the
    support admin behind the platform's sign-in and site check (``portal.admin_site``).
    Named in INSTALLED_APPS in place of ``django.contrib.admin``."""

    default = False  # not the configuration of the portal app itself
    default_site = "portal.admin_site.SupportAdminSite"
