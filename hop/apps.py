from django.apps import AppConfig


class HopConfig(AppConfig):
    name = "hop"
    verbose_name = "Log in to MIS"

    def ready(self):
        # Imported here: receivers import models, which are not ready when this module loads.
        from django.contrib.auth.signals import user_logged_out

        # Imported here too: the staff services import models.
        from accounts.staff.onboarding import staff_sessions_ended

        from .receivers import hop_end_on_sign_out, hops_end_with_staff_sessions

        user_logged_out.connect(hop_end_on_sign_out, dispatch_uid="hop_end_on_sign_out")
        staff_sessions_ended.connect(
            hops_end_with_staff_sessions, dispatch_uid="hops_end_with_staff_sessions"
        )
