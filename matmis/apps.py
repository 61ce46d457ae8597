from django.apps import AppConfig


class MatmisConfig(AppConfig):
    name = "matmis"
    verbose_name = "matmis platform"

    def ready(self):
        from django.db.backends.signals import connection_created

        from . import checks  # noqa: F401 - registers the deployment checks
        from .db_roles import use_app_role

        connection_created.connect(use_app_role, dispatch_uid="matmis.use_app_role")
