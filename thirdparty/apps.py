from django.apps import AppConfig


class ThirdPartyConfig(AppConfig):
    name = "thirdparty"
    verbose_name = "Third-party apps"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import receipts  # noqa: F401  (registers the receipt email's builder)
