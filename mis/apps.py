from django.apps import AppConfig


class MisConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mis"
    verbose_name = "School MIS data"
