"""What the application's database role may do, tried rather than read.

The application works as a role that owns nothing, cannot bypass Row-Level Security and
holds only the privileges in ``matmis.db_roles.APP_PRIVILEGES`` (never TRUNCATE, to which
Row-Level Security does not apply). Agreements and the audit trail also refuse TRUNCATE in
a trigger, whoever asks. In production the application logs in as that role itself, so no
``RESET ROLE`` gives it more.
"""

import datetime
import os
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from psycopg import errors, sql

from accounts.models import AuditAction, AuditEvent
from matmis import db_roles
from matmis.db_roles import (
    APP_PRIVILEGES,
    app_privileges_grant,
    app_role,
    app_table_privileges,
    grant_app_role,
    owner_role,
    truncate_guards_lifted,
)
from mis.models import AttendanceMark, Exclusion, Pupil
from sharing.models import AccessLevel, Agreement
from tests.factories import TrustFactory, UserFactory
from tests.institutions.factories import SchoolFactory, add_school
from tests.mis.factories import PupilFactory, in_site, mark_days, school_days, suspend

TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
PUPIL_TABLES = ("mis_pupil", "mis_attendancemark", "mis_exclusion")
WEEK = school_days(datetime.date(2026, 11, 16), datetime.date(2026, 11, 20))


# --- The table of privileges ------------------------------------------------------------------


def test_every_model_has_an_entry_in_the_table_of_privileges():
    from django.apps import apps

    labels = {
        model._meta.label
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    }
    missing = sorted(labels - set(APP_PRIVILEGES))
    assert not missing, f"say what the application may do on {missing} (db_roles.APP_PRIVILEGES)"
    stale = sorted(set(APP_PRIVILEGES) - labels)
    assert not stale, f"APP_PRIVILEGES names models that do not exist: {stale}"
    for label, privileges in APP_PRIVILEGES.items():
        assert "SELECT" in privileges, label
        assert set(privileges) <= {"SELECT", "INSERT", "UPDATE", "DELETE"}, label


def test_a_model_without_an_entry_stops_the_grants(monkeypatch):
    table = dict(APP_PRIVILEGES)
    del table["sharing.Agreement"]
    monkeypatch.setattr(db_roles, "APP_PRIVILEGES", table)
    with pytest.raises(
        ImproperlyConfigured, match=r"sharing\.Agreement \(table sharing_agreement\)"
    ):
        app_table_privileges()


def test_the_audit_trail_is_append_only_and_agreements_are_never_deleted():
    privileges = app_table_privileges()
    assert privileges["accounts_auditevent"] == ("SELECT", "INSERT")
    assert privileges["sharing_agreement"] == ("SELECT", "INSERT", "UPDATE")
    assert privileges["django_migrations"] == ("SELECT",)


def _held(role: str) -> dict[str, set[str]]:
    """Table -> the privileges ``role`` holds there, for every table of the schema."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, p.privilege FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "CROSS JOIN unnest(%s::text[]) AS p(privilege) "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') "
            "AND has_table_privilege(%s, c.oid, p.privilege)",
            [list(TABLE_PRIVILEGES), role],
        )
        held: dict[str, set[str]] = {}
        for table, privilege in cursor.fetchall():
            held.setdefault(table, set()).add(privilege)
    return held


@pytest.mark.django_db
def test_the_app_role_holds_exactly_the_privileges_in_the_table():
    expected = {table: set(p) for table, p in app_table_privileges().items()}
    held = _held(app_role())
    assert {t: p for t, p in held.items() if t in expected} == expected
    assert not set(held) - set(expected), "the app role holds privileges on unlisted tables"


@pytest.mark.django_db
def test_migrate_revokes_what_an_earlier_deployment_granted():
    role = sql.Identifier(app_role())
    with owner_role(), connection.cursor() as cursor:
        cursor.execute(  # what grant_app_role granted before
            sql.SQL(
                "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER "
                "ON ALL TABLES IN SCHEMA public TO {}"
            ).format(role)
        )
        assert "TRUNCATE" in _held(app_role())["mis_pupil"]
        grant_app_role()
    held = _held(app_role())
    assert not any({"TRUNCATE", "REFERENCES", "TRIGGER"} & p for p in held.values())
    assert held["accounts_auditevent"] == {"SELECT", "INSERT"}


@pytest.mark.django_db
def test_a_person_who_acted_is_never_deleted_from_under_their_events():
    # Deleting them would rewrite their events (actor set to NULL): the trail is append-only.
    user = UserFactory()
    event = AuditEvent.objects.create(
        actor=user, actor_email=user.email, action=AuditAction.SIGN_IN
    )
    with pytest.raises(ProtectedError), transaction.atomic():
        user.delete()
    event.refresh_from_db()
    assert event.actor_id == user.pk


# --- As the application, through the SET ROLE switch (development and tests) ------------------


@contextmanager
def refused(*, match: str):
    with pytest.raises(DatabaseError, match=match), transaction.atomic():
        yield


def _execute(statement: str, params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


@pytest.fixture
def records():
    """Two schools' pupils, marks and exclusions; an agreement; an audit event."""
    trust = TrustFactory()
    a, b = add_school(trust), SchoolFactory()
    for school in (a, b):
        pupil = PupilFactory(site=school)
        mark_days(pupil, WEEK, ["/", "\\"] * 5)
        suspend(pupil, datetime.date(2026, 10, 1))
    agreement = Agreement.objects.create(
        group=trust, school=a, level=AccessLevel.DFE_AND_MIS_DATA, approved_at=timezone.now()
    )
    event = AuditEvent.objects.create(
        site=trust, actor_email="someone@example.test", action=AuditAction.SIGN_IN
    )
    return {"schools": (a, b), "agreement": agreement, "event": event}


def _counts(schools) -> dict:
    counts = {"agreements": Agreement.objects.count(), "events": AuditEvent.objects.count()}
    for school in schools:
        with in_site(school):
            counts[school.pk] = (
                Pupil.objects.count(),
                AttendanceMark.objects.count(),
                Exclusion.objects.count(),
            )
    return counts


@pytest.mark.django_db
def test_the_application_cannot_truncate_delete_or_rewrite_what_it_must_keep(records):
    before = _counts(records["schools"])
    _execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks of this test's own rows
    for table in (*PUPIL_TABLES, "sharing_agreement", "accounts_auditevent"):
        with refused(match="permission denied"):
            _execute(f"TRUNCATE {table} CASCADE")
    with refused(match="permission denied"):
        _execute("TRUNCATE mis_attendancemark, mis_exclusion")
    with refused(match="permission denied"):
        _execute("DELETE FROM sharing_agreement")
    with refused(match="permission denied"):
        _execute("DELETE FROM accounts_auditevent")
    with refused(match="permission denied"):
        _execute("UPDATE accounts_auditevent SET action = 'sign_out'")
    with refused(match="cannot be lowered"):
        _execute("UPDATE sharing_agreement SET level = 1")
    # No site bound: Row-Level Security shows the pupil tables' writes no row at all.
    for table in PUPIL_TABLES:
        assert _execute(f"DELETE FROM {table}") == 0  # noqa: S608 - fixed names
        assert _execute(f"UPDATE {table} SET site_id = site_id") == 0  # noqa: S608
    assert _counts(records["schools"]) == before


@pytest.mark.django_db
def test_agreements_and_the_audit_trail_refuse_truncate_even_from_their_owner(records):
    _execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks of this test's own rows
    with owner_role():
        with refused(match="Data sharing agreements cannot be emptied"):
            _execute("TRUNCATE sharing_agreement CASCADE")
        with refused(match="The audit trail cannot be emptied"):
            _execute("TRUNCATE accounts_auditevent CASCADE")
    assert Agreement.objects.filter(pk=records["agreement"].pk).exists()
    assert AuditEvent.objects.filter(pk=records["event"].pk).exists()


@pytest.mark.django_db(transaction=True)
def test_flush_empties_every_table_and_leaves_the_truncate_guards_on(records):
    call_command("flush", interactive=False, verbosity=0)
    assert not Agreement.objects.exists()
    assert not AuditEvent.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname LIKE '%%refuse_truncate' AND t.tgenabled = 'O' ORDER BY 1"
        )
        assert [name for (name,) in cursor.fetchall()] == [
            "accounts_auditevent",
            "sharing_agreement",
        ]


@pytest.mark.django_db(transaction=True)
def test_the_owner_lifts_the_truncate_guards_for_one_transaction_only(records):
    # As the bench empties its database: the cascade reaches agreements and the trail.
    with _owner_connection() as owner:
        with owner.transaction(), owner.cursor() as cursor, truncate_guards_lifted(cursor):
            cursor.execute("TRUNCATE institutions_institution RESTART IDENTITY CASCADE")
        assert not Agreement.objects.exists()
        assert not AuditEvent.objects.exists()
        with owner.cursor() as cursor, pytest.raises(errors.IntegrityConstraintViolation):
            cursor.execute("TRUNCATE sharing_agreement")


# --- Production: the application logs in as its own role ----------------------------------


def _owner_connection() -> psycopg.Connection:
    settings_dict = connection.settings_dict
    return psycopg.connect(
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
        user=settings_dict["USER"] or None,
        password=settings_dict["PASSWORD"] or None,
        dbname=settings_dict["NAME"],
        autocommit=True,
    )


@pytest.fixture
def application_login():
    """A LOGIN role with a password on the test database's cluster (a name of this run's
    own), granted like the application's role: (role, password). Dropped afterwards."""
    role = f"matmis_test_login_{uuid.uuid4().hex[:12]}"
    password = uuid.uuid4().hex
    with _owner_connection() as owner, owner.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOBYPASSRLS NOINHERIT NOCREATEDB "
                "NOCREATEROLE"
            ).format(sql.Identifier(role), sql.Literal(password))
        )
    try:
        with _owner_connection() as owner, owner.cursor() as cursor:
            app_privileges_grant(cursor, role, app_table_privileges())
        yield role, password
    finally:
        with _owner_connection() as owner, owner.cursor() as cursor:
            cursor.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            cursor.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _login_as(role: str, password: str) -> psycopg.Connection:
    settings_dict = connection.settings_dict
    return psycopg.connect(
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
        user=role,
        password=password,
        dbname=settings_dict["NAME"],
        autocommit=True,
    )


@pytest.mark.django_db(transaction=True)
def test_in_production_reset_role_leaves_the_application_powerless(records, application_login):
    role, password = application_login
    before = _counts(records["schools"])
    owner = connection.settings_dict["USER"]
    with _login_as(role, password) as app, app.cursor() as cursor:

        def attempt(statement: str, error=errors.InsufficientPrivilege):
            with pytest.raises(error):
                cursor.execute(statement)

        cursor.execute("RESET ROLE")
        cursor.execute("SELECT session_user, current_user")
        assert cursor.fetchone() == (role, role)
        attempt(sql.SQL("SET ROLE {}").format(sql.Identifier(owner)))
        attempt(sql.SQL("SET SESSION AUTHORIZATION {}").format(sql.Identifier(owner)))
        for table in (*PUPIL_TABLES, "sharing_agreement", "accounts_auditevent"):
            attempt(f"TRUNCATE {table} CASCADE")
            attempt(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY", errors.InsufficientPrivilege)
        attempt("TRUNCATE mis_attendancemark, mis_exclusion")
        attempt("DELETE FROM sharing_agreement")
        attempt("UPDATE sharing_agreement SET level = 1", errors.CheckViolation)
        attempt("DELETE FROM accounts_auditevent")
        attempt("UPDATE accounts_auditevent SET action = 'sign_out'")
        attempt("ALTER TABLE sharing_agreement DISABLE TRIGGER USER")
        for table in PUPIL_TABLES:  # no site bound: no row to touch
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
            assert cursor.rowcount == 0
            cursor.execute(f"UPDATE {table} SET site_id = site_id")  # noqa: S608
            assert cursor.rowcount == 0
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = session_user")
        assert cursor.fetchone() == (False, False)
    assert _counts(records["schools"]) == before


# --- Production: migrate and import_gias log in as the owner (DATABASE_OWNER_URL) -------------

ROOT = Path(__file__).resolve().parents[2]


def _url(user: str, password: str = "") -> str:
    settings_dict = connection.settings_dict
    login = user + (f":{password}" if password else "")
    host = settings_dict["HOST"] or "127.0.0.1"
    return f"postgres://{login}@{host}:{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"


def _manage_in_production_arrangement(args: list[str], role: str, password: str):
    """``manage.py`` with the application's own login in DATABASE_URL and the owner's (this
    suite's login) in DATABASE_OWNER_URL, on the test database."""
    owner = connection.settings_dict
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_APP_ROLE", "DATABASE_OWNER_URL", "MATMIS_ENV"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="matmis.settings.base",
        DATABASE_URL=_url(role, password),
        DATABASE_OWNER_URL=_url(owner["USER"], owner["PASSWORD"] or ""),
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def new_login_name():
    """A role name of this run's own, for migrate to create; dropped afterwards."""
    role = f"matmis_test_login_{uuid.uuid4().hex[:12]}"
    yield role
    with _owner_connection() as owner, owner.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone():
            cursor.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            cursor.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.mark.django_db(transaction=True)
def test_migrate_as_the_owner_creates_the_applications_login_and_grants_it(new_login_name):
    role, password = new_login_name, uuid.uuid4().hex
    for _ in range(2):  # creates the role, then finds it and sets its password again
        result = _manage_in_production_arrangement(["migrate", "--no-input"], role, password)
        assert result.returncode == 0, result.stdout + result.stderr
    with _owner_connection() as owner, owner.cursor() as cursor:  # pg_authid: the owner only
        cursor.execute(
            "SELECT rolcanlogin, rolsuper, rolbypassrls, rolpassword LIKE 'SCRAM-SHA-256$%%' "
            "FROM pg_authid WHERE rolname = %s",
            [role],
        )
        assert cursor.fetchone() == (True, False, False, True)
    expected = {table: set(p) for table, p in app_table_privileges().items()}
    assert {t: p for t, p in _held(role).items() if t in expected} == expected
    with (
        _login_as(role, password) as app,
        app.cursor() as cursor,
        pytest.raises(errors.InsufficientPrivilege),
    ):
        cursor.execute("TRUNCATE accounts_auditevent")


@pytest.mark.django_db(transaction=True)
def test_import_gias_works_as_the_owner_through_its_own_login(application_login):
    role, password = application_login
    result = _manage_in_production_arrangement(
        ["import_gias", str(ROOT / "tests" / "data" / "gias-sample.csv")], role, password
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Created: " in result.stdout
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM institutions_institution")
        assert cursor.fetchone()[0] > 0
