"""``flush`` as the tables' owner (the test suite runs it after every transactional test).

Emptying tables takes TRUNCATE, which the application's role may not do
(``matmis.db_roles``), and the tables whose rows must never go (agreements, the audit trail)
refuse TRUNCATE in a trigger, whoever asks. ``flush`` is the one deliberate exception: it
works as the owner and switches those guards off for its own transaction only, so no other
connection ever sees a table unguarded.
"""

from django.core.management.commands.flush import Command as DjangoFlush
from django.db import connections, transaction
from psycopg import sql

from matmis.db_roles import owner_role

# Triggers that fire on TRUNCATE (pg_trigger.tgtype bit 5), other than PostgreSQL's own.
_TRUNCATE_GUARDS_SQL = """
SELECT c.relname, t.tgname FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND NOT t.tgisinternal AND t.tgtype & 32 <> 0 AND t.tgenabled <> 'D'
ORDER BY c.relname, t.tgname
"""


class Command(DjangoFlush):
    def handle(self, **options):
        database = options["database"]
        with owner_role(database), transaction.atomic(using=database):
            with connections[database].cursor() as cursor:
                cursor.execute(_TRUNCATE_GUARDS_SQL)
                guards = cursor.fetchall()
                _switch(cursor, guards, "DISABLE")
            super().handle(**options)
            with connections[database].cursor() as cursor:
                _switch(cursor, guards, "ENABLE")


def _switch(cursor, guards, state: str) -> None:
    for table, trigger in guards:
        cursor.execute(
            sql.SQL("ALTER TABLE {} {} TRIGGER {}").format(
                sql.Identifier(table), sql.SQL(state), sql.Identifier(trigger)
            )
        )
