"""The database role the application works as, apart from the role that owns the tables.

Row-Level Security only binds a role that neither owns a table nor has BYPASSRLS (nor is a
superuser). So the application works as ``DATABASE_APP_ROLE`` (default ``matmis_app``: no
login, no superuser, no BYPASSRLS, owns nothing), while migrations run as the role that
logs in (the owner of every table):

- every application connection switches to the app role as it opens (``use_app_role``,
  on ``connection_created``); the ``migrate`` command switches back to the owner for its
  run (``owner_role``) and grants the app role what it needs on every table afterwards
  (``grant_app_role``);
- the role is created when missing, if the login role may create roles (a development
  server or CI); in production create it once, or log in as it directly with
  ``DATABASE_APP_ROLE`` empty and run migrations with the owner's URL.

The switch is per connection and the same for every request, so it carries nothing from
one tenant to the next; the tenant itself (``matmis.tenancy.site_scope``) is set per
transaction, never per connection.
"""

import re
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections
from django.db.backends.base.base import NO_DB_ALIAS
from psycopg import sql

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def app_role() -> str:
    role = getattr(settings, "DATABASE_APP_ROLE", "")
    if role and not _ROLE_NAME.match(role):
        raise ImproperlyConfigured(f"DATABASE_APP_ROLE must be a plain role name, not {role!r}.")
    return role


def _ensure_role(cursor, role: str) -> None:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    if cursor.fetchone() is None:
        cursor.execute(
            sql.SQL(
                "CREATE ROLE {} NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT NOCREATEDB NOCREATEROLE"
            ).format(sql.Identifier(role))
        )


def use_app_role(sender, connection, **kwargs) -> None:
    """``connection_created``: work as the app role from the first query on."""
    role = app_role()
    if not role or connection.alias == NO_DB_ALIAS or connection.vendor != "postgresql":
        return
    if getattr(connection, "_matmis_owner", False):
        return
    with connection.cursor() as cursor:
        try:
            _set_role(cursor, role)  # one statement per new connection, as a rule
        except DatabaseError:  # the role is not there yet: a new database server
            _ensure_role(cursor, role)
            _set_role(cursor, role)


def _set_role(cursor, role: str) -> None:
    cursor.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))


@contextmanager
def owner_role(alias: str = "default"):
    """Work as the login role (the tables' owner) for the block: for migrations only."""
    connection = connections[alias]
    role = app_role()
    connection._matmis_owner = True
    try:
        if role and connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute("RESET ROLE")
        yield
    finally:
        connection._matmis_owner = False
        if role and connection.connection is not None:
            with connection.cursor() as cursor:
                _ensure_role(cursor, role)
                _set_role(cursor, role)


def grant_app_role(using: str = "default") -> None:
    """After ``migrate``: the app role may read and write every table and sequence (Row-Level
    Security still decides which rows of the personal-data tables), and change nothing in
    the schema."""
    role = app_role()
    connection = connections[using]
    if not role or connection.vendor != "postgresql":
        return
    identifier = sql.Identifier(role)
    with connection.cursor() as cursor:
        _ensure_role(cursor, role)
        cursor.execute(
            sql.SQL("GRANT {} TO CURRENT_USER").format(identifier)
        )  # so the login role may SET ROLE to it without being a superuser
        cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(identifier))
        cursor.execute(
            sql.SQL(
                "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES "
                "ON ALL TABLES IN SCHEMA public TO {}"
            ).format(identifier)
        )
        cursor.execute(
            sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}").format(
                identifier
            )
        )
