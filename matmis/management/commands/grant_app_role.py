"""``grant_app_role``: as the tables' owner, give the application's role exactly what
``matmis.db_roles`` says (tables, sequences, functions), as ``migrate`` does after its run,
without migrating. ``scripts/restore`` runs it on a restored database, whose dump carries
no grants (the roles of the server it came from need not exist here)."""

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS

from matmis.db_roles import application_role, grant_app_role, owner_role


class Command(BaseCommand):
    help = "Grant the application's database role what matmis.db_roles says, as the owner."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, **options):
        with owner_role(options["database"]):
            grant_app_role(options["database"])
            role = application_role(options["database"])
        self.stdout.write(f"Granted the application's role {role or '(none)'} its privileges.")
