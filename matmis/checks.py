"""System checks of the deployment that need the database (``check --deploy``)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

# The login role of the connection (session_user: what SET ROLE cannot change) and what it
# can do whatever role it switches to.
_LOGIN_ROLE_SQL = """
SELECT r.rolname, r.rolsuper, r.rolbypassrls,
       (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
          AND pg_has_role(r.oid, c.relowner, 'USAGE'))
FROM pg_roles r WHERE r.rolname = session_user
"""


@register(Tags.security, deploy=True)  # not Tags.database: check --deploy runs it
def check_application_login_role(app_configs=None, **kwargs) -> list[Warning]:
    """In production the application must log in as a role that owns no table and cannot
    bypass Row-Level Security: a SET ROLE switch from the owner is undone by ``RESET ROLE``
    (``matmis.db_roles``)."""
    if not settings.PRODUCTION:
        return []
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with connection.cursor() as cursor:
            cursor.execute(_LOGIN_ROLE_SQL)
            login, superuser, bypass, owned = cursor.fetchone()
    except DatabaseError as error:
        return [
            Warning(
                "Could not ask the database about the application's login role: "
                f"{str(error).strip()}",
                hint="Run check --deploy where the database is reachable.",
                id="matmis.W002",
            )
        ]
    problems = []
    if superuser:
        problems.append("is a superuser")
    if bypass:
        problems.append("bypasses Row-Level Security (BYPASSRLS)")
    if owned:
        problems.append(f"owns {owned} tables (or is a member of their owner)")
    if not problems:
        return []
    return [
        Warning(
            f"The application logs in to the database as {login!r}, which "
            + " and ".join(problems)
            + ": a RESET ROLE in injected SQL would give it everything.",
            hint=(
                "Log in as the application's own role (DATABASE_URL; it owns no table and "
                "cannot bypass Row-Level Security) with DATABASE_APP_ROLE empty, and give "
                "migrations the owner's login in DATABASE_OWNER_URL. See README, "
                "'Production database'."
            ),
            id="matmis.W001",
        )
    ]
