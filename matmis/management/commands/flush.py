"""``flush`` as the tables' owner (the test suite runs it after every transactional test).

Emptying tables takes TRUNCATE, which the application's role may not do
(``matmis.db_roles``), and the tables whose rows must never go (agreements, the audit trail)
refuse TRUNCATE in a trigger, whoever asks. ``flush`` is the one deliberate exception: it
works as the owner and lifts those guards for its own transaction only, so no other
connection ever sees a table unguarded.
"""

from django.core.management.commands.flush import Command as DjangoFlush
from django.db import connections, transaction

from matmis.db_roles import owner_role, truncate_guards_lifted


class Command(DjangoFlush):
    def handle(self, **options):
        database = options["database"]
        with (
            owner_role(database),
            transaction.atomic(using=database),
            connections[database].cursor() as cursor,
            truncate_guards_lifted(cursor),
        ):
            super().handle(**options)
