"""``migrate`` as the tables' owner: the application's connections work as the app role
(``matmis.db_roles``), which may not change the schema; afterwards the app role is granted
exactly what ``APP_PRIVILEGES`` says on every table, new ones included, and nothing else."""

from django.core.management.commands.migrate import Command as DjangoMigrate

from matmis.db_roles import grant_app_role, owner_role


class Command(DjangoMigrate):
    def handle(self, *args, **options):
        with owner_role(options["database"]):
            result = super().handle(*args, **options)
            grant_app_role(options["database"])
        return result
