"""The database role the application works as, apart from the role that owns the tables.

Row-Level Security only binds a role that neither owns a table nor has BYPASSRLS (nor is a
superuser), and only the privileges a role holds limit what an injected statement can do.
So the application works as a role that owns nothing and may do, table by table, only what
the application needs (``APP_PRIVILEGES``); the tables' owner runs migrations and the
maintenance commands. Two ways to set that up:

- **production**: the application logs in as its role (``DATABASE_URL``, with
  ``DATABASE_APP_ROLE`` empty) and the owner has a login of its own
  (``DATABASE_OWNER_URL``), used only by ``migrate``, ``flush`` and ``import_gias``
  (``owner_role`` reconnects as the owner for their run). Nothing the application's
  connection can say makes it the owner.
- **development and tests** (``DATABASE_APP_ROLE``, default ``matmis_app``): the
  application logs in as the owner and switches to the app role as each connection opens
  (``use_app_role``, ``SET ROLE``); ``owner_role`` switches back. ``RESET ROLE`` undoes the
  switch, so this is not a boundary against injected SQL: ``manage.py check --deploy``
  warns in production when the login role owns tables or bypasses Row-Level Security
  (``matmis.checks``). The no-login role is created when missing, if the login role may
  create roles.

After every ``migrate``, ``grant_app_role`` revokes everything the app role holds on the
schema's tables and sequences and grants what ``APP_PRIVILEGES`` says, so a privilege that
an earlier deployment granted (TRUNCATE, REFERENCES, TRIGGER) goes. A model without an
entry stops ``migrate``: a new table gets a deliberate decision, never a default.

The switch is per connection and the same for every request, so it carries nothing from
one tenant to the next; the tenant itself (``matmis.tenancy.site_scope``) is set per
transaction, never per connection.
"""

import re
from contextlib import contextmanager

import dj_database_url
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections
from django.db.backends.base.base import NO_DB_ALIAS
from psycopg import sql

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# --- What the application may do, table by table -----------------------------------------
#
# SELECT where it reads, INSERT and UPDATE where it writes, DELETE where it deletes or where
# Django's cascade from a deletion it makes reaches (the support admin deletes users and
# institutions, see the notes). Never TRUNCATE (Row-Level Security does not apply to it),
# REFERENCES or TRIGGER. Row-Level Security still decides which rows of the personal-data
# tables (matmis.personal_data) any of these reach.
READ = ("SELECT",)
APPEND = ("SELECT", "INSERT")  # rows are added, never changed or removed
WRITE = ("SELECT", "INSERT", "UPDATE")  # rows are added and changed, never removed
FULL = ("SELECT", "INSERT", "UPDATE", "DELETE")

# Keyed by model label ("app_label.ModelName", many-to-many tables included); a model
# missing here stops ``migrate`` (``grant_app_role``) and fails
# tests/security/test_database_roles.py.
APP_PRIVILEGES: dict[str, tuple[str, ...]] = {
    # Django and django-otp
    "admin.LogEntry": ("SELECT", "INSERT", "DELETE"),  # the admin's history; goes with a user
    "auth.Permission": READ,  # written by migrate (post_migrate), as the owner
    "auth.Group": FULL,  # the support admin manages groups
    "auth.Group_permissions": FULL,
    "contenttypes.ContentType": READ,  # written by migrate (post_migrate), as the owner
    "sessions.Session": FULL,  # sign-out and key cycling delete; so does clearsessions
    "otp_totp.TOTPDevice": FULL,  # two-factor set-up and reset replace devices
    "otp_static.StaticDevice": FULL,
    "otp_static.StaticToken": FULL,  # a backup code is deleted when used
    # accounts
    "accounts.User": FULL,  # the support admin may delete a person who never acted
    "accounts.User_groups": FULL,
    "accounts.User_user_permissions": FULL,
    "accounts.StaffProfile": FULL,  # cascades: user, site (support admin)
    "accounts.BusinessRole": FULL,
    "accounts.RoleGrant": FULL,
    "accounts.RoleAssignment": FULL,  # a role is taken away
    "accounts.SiteSecurityPolicy": FULL,  # cascade: site
    "accounts.StaffAssociation": FULL,
    "accounts.AssociatedSchool": FULL,  # associations change
    "accounts.AssociatedCluster": FULL,
    "accounts.SignInFailure": FULL,  # pruned by prune_sign_in_failures, the app's own counters
    "accounts.HopToken": FULL,  # cascades: user, site
    "accounts.ProviderSignIn": FULL,  # cascades: user, site
    "accounts.StaffInvitation": FULL,  # cascades: profile, site (kept otherwise)
    "accounts.UsedBackupCode": FULL,  # forgotten when new backup codes are made
    # The audit trail: the application only ever adds to it. Retention deletes through
    # accounts_auditevent_delete_older_than (APP_FUNCTIONS), never a DELETE of its own.
    "accounts.AuditEvent": APPEND,
    # institutions
    "institutions.Institution": FULL,  # the support admin may delete a site that has no history
    "institutions.GroupMembership": FULL,  # the support admin's membership inline
    "institutions.Cluster": FULL,  # a group deletes its clusters
    "institutions.ClusterMembership": FULL,
    "institutions.RegisterImport": WRITE,  # uploads are kept
    # sharing: agreements only rise (and the database refuses lowering, deleting, emptying)
    "sharing.Agreement": WRITE,
    "sharing.AgreementRequest": WRITE,
    "sharing.RequestRecipient": APPEND,
    "sharing.RequestReminder": APPEND,
    # notifications
    "notifications.EmailDelivery": FULL,  # cascade: site
    # mis: a school's own records, each write bound to its site by Row-Level Security (the
    # MIS generator of the demo replaces a school's records); the roll-ups are rebuilt
    "mis.Pupil": FULL,
    "mis.AttendanceMark": FULL,
    "mis.Exclusion": FULL,
    "mis.RollupState": FULL,
    "mis.AttendanceRollup": FULL,
    "mis.WeeklyAttendance": FULL,  # a school's weeks are recounted, and go with the school
    # The marks' changes since the last refresh (written by the marks' triggers, as the
    # writer) and the pupils' weekly totals the refresh keeps from them: Row-Level Security.
    "mis.AttendanceChange": FULL,  # taken (deleted) by the refresh
    "mis.PupilWeekAttendance": FULL,  # weeks that fall to zero are removed
    # Registration groups are renamed and their teachers change (a teacher row goes when
    # taken off the group); a group itself is never deleted by the application.
    "mis.RegistrationGroup": WRITE,
    "mis.RegistrationGroupTeacher": FULL,
    # A register amendment is a record: the application only adds to it; DELETE only for
    # the MIS generator of the demo and the bench, which replaces a school's records
    # (bench.mis), as it does the marks.
    "mis.MarkAmendment": FULL,
    "mis.RegisterSettings": WRITE,  # a school sets when its registers close
    # Reads of pupil data from outside the school: a record, only ever added to.
    "mis.OutsideRead": APPEND,
    # A pupil's transferable record (CTF): replaced when a CTF or a transfer brings it anew.
    "mis.PupilAddress": FULL,
    "mis.FsmPeriod": FULL,
    "mis.SenPeriod": FULL,
    "mis.PriorAttendance": FULL,
    "mis.CtfImport": WRITE,  # previewed, then marked imported; the file kept as evidence
    "mis.PupilArrival": WRITE,  # written by the source's off-roll, decided by the destination
    # analytics
    "analytics.PublishedFigures": FULL,  # cascade: site
    # networks: staff resources and what they are shared through. Owners delete resources
    # and end shares; groups lose members and whitelist entries; networks stay as history
    # (withdrawn, never deleted), their rows go only with a deleted site's cascade.
    "networks.Resource": FULL,
    "networks.ResourceShare": FULL,
    "networks.Network": WRITE,
    "networks.NetworkOrganisation": WRITE,
    "networks.NetworkMember": FULL,
    "networks.ShareGroup": FULL,
    "networks.ShareGroupMember": FULL,
    "networks.GroupWhitelistEntry": FULL,
    # OAuth2 clients of third-party apps (django-oauth-toolkit): tokens are issued, revoked
    # (deleted) when an app is suspended or its secret rotated, and cleared when expired.
    "oauth2_provider.Application": WRITE,  # a secret is rotated; apps are suspended, kept
    "oauth2_provider.AccessToken": FULL,
    "oauth2_provider.RefreshToken": FULL,  # client credentials issue none; cascades
    "oauth2_provider.Grant": FULL,  # not used (no authorisation-code flow); cascades
    "oauth2_provider.IDToken": FULL,  # not used (no OpenID Connect); cascades
    "oauth2_provider.DeviceGrant": FULL,  # not used (no device flow); cascades
    # thirdparty: apps and the schools' decisions are kept as history
    "thirdparty.App": WRITE,
    "thirdparty.DataAccessRequest": WRITE,
    "thirdparty.AppAuthorisation": WRITE,
    "thirdparty.AppDecision": APPEND,
    "thirdparty.AppCall": APPEND,  # the school's access log, only ever added to
    # Kept by triggers on the pupil tables (as whoever writes them), never deleted.
    "thirdparty.RecordChange": WRITE,
}

# Functions the application may call (EXECUTE), by signature. Each is SECURITY DEFINER,
# created in a migration and owned by the tables' owner, and does one narrow thing the
# application's own privileges do not allow.
APP_FUNCTIONS: dict[str, str] = {
    # Audit retention: deletes events older than a cut-off at least 365 days back
    # (accounts.retention.audit_events_prune); a recent event cannot be deleted.
    "accounts_auditevent_delete_older_than(timestamptz)": "audit retention",
    # The next academic year's partition of the attendance marks, made ahead of time
    # (mis.partitions): creates partitions only, over a bounded span of years.
    "mis_attendancemark_partitions_ensure(date, date)": "attendance partitions",
}

# Tables without a model.
APP_PRIVILEGES_OTHER_TABLES: dict[str, tuple[str, ...]] = {
    "django_migrations": READ,  # runserver reads which migrations are applied
}


def app_table_privileges() -> dict[str, tuple[str, ...]]:
    """Table name -> the privileges of the application there, for every installed model.

    Raises ImproperlyConfigured naming each model with no entry in ``APP_PRIVILEGES``.
    """
    privileges = dict(APP_PRIVILEGES_OTHER_TABLES)
    missing = []
    for model in apps.get_models(include_auto_created=True):
        if not model._meta.managed or model._meta.proxy:
            continue
        label = model._meta.label
        if label not in APP_PRIVILEGES:
            missing.append(f"{label} (table {model._meta.db_table})")
            continue
        privileges[model._meta.db_table] = APP_PRIVILEGES[label]
    if missing:
        raise ImproperlyConfigured(
            "matmis.db_roles.APP_PRIVILEGES says nothing about "
            + ", ".join(missing)
            + ": add an entry with what the application may do there (READ, APPEND, WRITE "
            "or FULL)."
        )
    return privileges


# --- Which role ------------------------------------------------------------------------------


def app_role() -> str:
    """The role the application switches to with SET ROLE ('' in production: no switch)."""
    role = getattr(settings, "DATABASE_APP_ROLE", "")
    if role and not _ROLE_NAME.match(role):
        raise ImproperlyConfigured(f"DATABASE_APP_ROLE must be a plain role name, not {role!r}.")
    return role


def owner_login() -> dict | None:
    """Login settings of the tables' owner (``DATABASE_OWNER_URL``), None when unset."""
    url = getattr(settings, "DATABASE_OWNER_URL", "")
    if not url:
        return None
    owner = dj_database_url.parse(url)
    return {key: owner[key] for key in ("USER", "PASSWORD", "HOST", "PORT")}


def application_role(using: str = "default") -> str:
    """The role the grants are for: ``DATABASE_APP_ROLE``, or the login role of
    ``DATABASE_URL`` when the application logs in as itself; '' when neither (one role
    does everything, nothing to grant)."""
    role = app_role()
    if role:
        return role
    if owner_login() is not None:
        return _application_login(using)["USER"]
    return ""


def _application_login(using: str) -> dict:
    """The database settings of ``DATABASE_URL`` (the connection's own may be the owner's
    for the moment: ``owner_role``)."""
    return connections.settings[using]


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
    """Work as the tables' owner for the block: migrations and maintenance commands only.

    With ``DATABASE_OWNER_URL`` the connection is closed and opened again with the owner's
    login for the block (same database), and closed again after it; otherwise the login
    role is the owner and the block runs without the SET ROLE switch.
    """
    connection = connections[alias]
    owner = owner_login()
    if owner is not None:
        if connection.in_atomic_block:
            raise RuntimeError("owner_role() cannot change the login inside a transaction.")
        application_login = connection.settings_dict
        connection.close()
        connection.settings_dict = {**application_login, **owner}
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict = application_login
        return
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


# --- Grants -----------------------------------------------------------------------------------


def grant_app_role(using: str = "default") -> None:
    """After ``migrate``, as the owner: the application's role gets exactly
    ``APP_PRIVILEGES`` (everything it held before is revoked first) and changes nothing in
    the schema. With the application logging in as itself, its login role is created
    (or its password brought in line with ``DATABASE_URL``) when the owner may."""
    role = application_role(using)
    connection = connections[using]
    if not role or connection.vendor != "postgresql":
        return
    privileges = app_table_privileges()
    with connection.cursor() as cursor:
        if app_role():
            _ensure_role(cursor, role)
            cursor.execute(
                sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(role))
            )  # so the login role may SET ROLE to it without being a superuser
        else:
            _ensure_login_role(cursor, role, _application_login(using).get("PASSWORD") or "")
        app_privileges_grant(cursor, role, privileges)


def app_privileges_grant(cursor, role: str, privileges: dict[str, tuple[str, ...]]) -> None:
    """Revoke all ``role`` holds on the public schema's tables and sequences, then grant
    ``privileges`` (table -> privileges) on the tables that exist, and USAGE on the
    sequences of the tables it may insert into."""
    identifier = sql.Identifier(role)
    cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(identifier))
    cursor.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(identifier))
    cursor.execute(
        sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {}").format(identifier)
    )
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
    )
    existing = {name for (name,) in cursor.fetchall()}
    inserted_into = []
    for table, granted in sorted(privileges.items()):
        if table not in existing:  # a migration not applied yet
            continue
        cursor.execute(
            sql.SQL("GRANT {} ON TABLE {} TO {}").format(
                sql.SQL(", ").join(sql.SQL(p) for p in granted), sql.Identifier(table), identifier
            )
        )
        if "INSERT" in granted:
            inserted_into.append(table)
    # Identity columns need no privilege on their sequence; serial columns do.
    cursor.execute(
        "SELECT DISTINCT s.relname FROM pg_class s "
        "JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid "
        "AND d.deptype = 'a' JOIN pg_class t ON t.oid = d.refobjid "
        "JOIN pg_namespace n ON n.oid = s.relnamespace "
        "WHERE s.relkind = 'S' AND n.nspname = 'public' AND t.relname = ANY(%s)",
        [inserted_into],
    )
    for (sequence,) in cursor.fetchall():
        cursor.execute(
            sql.SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(sql.Identifier(sequence), identifier)
        )
    app_functions_grant(cursor, role)


def app_functions_grant(cursor, role: str) -> None:
    """Revoke EXECUTE on the public schema's functions from ``role``, then grant it on each
    function of ``APP_FUNCTIONS`` that exists (a migration not applied yet: skipped), and
    to nobody else (PUBLIC)."""
    identifier = sql.Identifier(role)
    cursor.execute(
        sql.SQL("REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM {}").format(identifier)
    )
    for signature in APP_FUNCTIONS:
        cursor.execute("SELECT to_regprocedure(%s) IS NOT NULL", [f"public.{signature}"])
        if not cursor.fetchone()[0]:
            continue
        function = sql.SQL(f"public.{signature}")  # a fixed signature from this module
        # PUBLIC may execute a new function; a restore without grants (scripts/restore)
        # brings that back, so it is taken away here every time.
        cursor.execute(sql.SQL("REVOKE ALL ON FUNCTION {} FROM PUBLIC").format(function))
        cursor.execute(sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(function, identifier))


def _ensure_login_role(cursor, role: str, password: str) -> None:
    """The application's own login role, as ``DATABASE_URL`` names it: created when
    missing, its password set to the URL's (sent already hashed), if the owner may manage
    roles; left as it is otherwise."""
    cursor.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
    may_manage_roles = cursor.fetchone()[0]
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    exists = cursor.fetchone() is not None
    if not may_manage_roles:
        if exists:
            return
        raise ImproperlyConfigured(
            f"The database role {role!r} of DATABASE_URL does not exist and the owner of "
            "DATABASE_OWNER_URL may not create roles: create it once as a LOGIN role with "
            "NOSUPERUSER NOBYPASSRLS, then run migrate again."
        )
    if not password:
        raise ImproperlyConfigured(
            "DATABASE_URL has no password for the application's own login role."
        )
    hashed = cursor.connection.pgconn.encrypt_password(
        password.encode(), role.encode(), b"scram-sha-256"
    ).decode()
    statement = (
        "ALTER ROLE {} WITH LOGIN PASSWORD {}"
        if exists
        else (
            "CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOBYPASSRLS NOINHERIT NOCREATEDB "
            "NOCREATEROLE"
        )
    )
    cursor.execute(sql.SQL(statement).format(sql.Identifier(role), sql.Literal(hashed)))


# --- Emptying tables, as the owner ------------------------------------------------------------

# Triggers that fire on TRUNCATE (pg_trigger.tgtype bit 5), other than PostgreSQL's own:
# the guards of the tables whose rows must never go (agreements, the audit trail).
_TRUNCATE_GUARDS_SQL = """
SELECT c.relname, t.tgname FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND NOT t.tgisinternal AND t.tgtype & 32 <> 0 AND t.tgenabled <> 'D'
ORDER BY c.relname, t.tgname
"""


@contextmanager
def truncate_guards_lifted(cursor):
    """As the tables' owner, inside a transaction: the TRUNCATE guards are off for the
    block and on again after it. The switch is part of the transaction, so no other
    connection ever sees a table unguarded, and a rollback puts the guards back too. For
    ``manage.py flush`` and the bench's emptying of its own database only."""
    cursor.execute(_TRUNCATE_GUARDS_SQL)
    guards = cursor.fetchall()
    _switch_triggers(cursor, guards, "DISABLE")
    yield
    _switch_triggers(cursor, guards, "ENABLE")


def _switch_triggers(cursor, triggers, state: str) -> None:
    for table, trigger in triggers:
        cursor.execute(
            sql.SQL("ALTER TABLE {} {} TRIGGER {}").format(
                sql.Identifier(table), sql.SQL(state), sql.Identifier(trigger)
            )
        )
