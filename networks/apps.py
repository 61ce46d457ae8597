from django.apps import AppConfig


class NetworksConfig(AppConfig):
    name = "networks"
    verbose_name = "Staff sharing networks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported here: the receivers import models, not ready when this module loads.
        from accounts.staff.onboarding import staff_deactivated

        from .receivers import cross_organisation_shares_end_with_staff

        staff_deactivated.connect(
            cross_organisation_shares_end_with_staff,
            dispatch_uid="cross_organisation_shares_end_with_staff",
        )
