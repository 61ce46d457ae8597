"""``migrate`` as the tables' owner: the application's connections work as the app role
(``matmis.db_roles``), which may not change the schema; afterwards the app role is granted
exactly what ``APP_PRIVILEGES`` says on every table, new ones included, and nothing else.

With ``DATABASE_OWNER_URL`` the whole command (its system checks included) logs in as the
owner, and the application's own login role (``DATABASE_URL``) is created when missing."""

from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import DEFAULT_DB_ALIAS

from matmis.db_roles import grant_app_role, owner_role


class Command(DjangoMigrate):
    def execute(self, *args, **options):
        with owner_role(options.get("database") or DEFAULT_DB_ALIAS):
            return super().execute(*args, **options)

    def handle(self, *args, **options):
        result = super().handle(*args, **options)
        grant_app_role(options["database"])
        return result
