import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import dj_database_url
import psycopg
import pytest
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]


def run_django(args: list[str], **env_overrides: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SECRET_KEY", "MATMIS_ENV", "DATABASE_OWNER_URL", "DATABASE_APP_ROLE"}
    }
    env.update({"DJANGO_SETTINGS_MODULE": "matmis.settings.base", **env_overrides})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_django(["check"], MATMIS_ENV="production", BASE_DOMAIN="matmis.example")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_production_refuses_debug():
    result = run_django(
        ["check"],
        MATMIS_ENV="production",
        DJANGO_DEBUG="true",
        DJANGO_SECRET_KEY="k" * 60,
    )
    assert result.returncode != 0
    assert "DJANGO_DEBUG cannot be on" in result.stderr


PRODUCTION = {
    "MATMIS_ENV": "production",
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-" + "9f3k2l1m0n8b7v6c5x4z" * 3,
    "BASE_DOMAIN": "matmis.example",
    "EMAIL_HOST": "mail.matmis.example",
}


def database_url(*, user: str, password: str = "") -> str:
    """The suite's DATABASE_URL (the tables' owner) with another login."""
    url = urlsplit(os.environ["DATABASE_URL"])
    login = quote(user) + (f":{quote(password)}" if password else "")
    return urlunsplit(url._replace(netloc=f"{login}@{url.hostname}:{url.port or 5432}"))


@pytest.fixture
def application_login():
    """A LOGIN role of its own on the suite's database cluster, as production's application
    role is (owns nothing, not a superuser, no BYPASSRLS): (name, password); dropped after."""
    owner = dj_database_url.parse(os.environ["DATABASE_URL"])
    role, password = f"matmis_test_login_{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
    params = {
        "host": owner["HOST"] or None,
        "port": owner["PORT"] or None,
        "user": owner["USER"] or None,
        "password": owner["PASSWORD"] or None,
        "dbname": owner["NAME"],
        "autocommit": True,
    }
    with psycopg.connect(**params) as connection:
        connection.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOBYPASSRLS").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
    try:
        yield role, password
    finally:
        with psycopg.connect(**params) as connection:
            connection.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_deploy_checks_pass_in_production_mode(application_login):
    # Production's database logins: the application as its own role, the owner apart.
    role, password = application_login
    result = run_django(
        ["check", "--deploy", "--fail-level", "WARNING"],
        **PRODUCTION,
        DATABASE_URL=database_url(user=role, password=password),
        DATABASE_OWNER_URL=os.environ["DATABASE_URL"],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_checks_warn_when_the_application_logs_in_as_the_owner():
    # Development's arrangement (log in as the owner, SET ROLE to the app role) in production.
    result = run_django(["check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode != 0
    assert "matmis.W001" in result.stderr
    owner = dj_database_url.parse(os.environ["DATABASE_URL"])["USER"]
    assert f"logs in to the database as {owner!r}" in result.stderr
    assert "RESET ROLE" in result.stderr


def test_the_login_role_check_warns_when_it_cannot_ask_the_database(settings, monkeypatch):
    from django.db import DatabaseError, connections

    from matmis.checks import check_application_login_role

    def no_cursor():
        raise DatabaseError("permission denied for table pg_class")

    settings.PRODUCTION = True
    monkeypatch.setattr(connections["default"], "cursor", no_cursor)
    [warning] = check_application_login_role()
    assert warning.id == "matmis.W002"
    assert "permission denied for table pg_class" in warning.msg


def test_the_login_role_check_is_for_production_only(settings):
    from matmis.checks import check_application_login_role

    settings.PRODUCTION = False
    assert check_application_login_role() == []


def test_the_owner_url_must_name_the_same_database_and_another_role():
    other_database = run_django(
        ["check"],
        DATABASE_URL="postgres://matmis_app:secret@127.0.0.1:5432/matmis",
        DATABASE_OWNER_URL="postgres://owner:secret@127.0.0.1:5432/elsewhere",
    )
    assert other_database.returncode != 0
    assert "DATABASE_OWNER_URL must name the same database as DATABASE_URL" in (
        other_database.stderr
    )
    same_role = run_django(
        ["check"],
        DATABASE_URL="postgres://owner:secret@127.0.0.1:5432/matmis",
        DATABASE_OWNER_URL="postgres://owner:secret@127.0.0.1:5432/matmis",
    )
    assert same_role.returncode != 0
    assert "log in as the same role" in same_role.stderr


def test_with_an_owner_login_the_application_switches_to_no_role():
    both = run_django(
        ["check"],
        DATABASE_URL="postgres://matmis_app:secret@127.0.0.1:5432/matmis",
        DATABASE_OWNER_URL="postgres://owner:secret@127.0.0.1:5432/matmis",
        DATABASE_APP_ROLE="matmis_app",
    )
    assert both.returncode != 0
    assert "DATABASE_APP_ROLE must be empty when DATABASE_OWNER_URL is set" in both.stderr


def test_sqlite_is_refused():
    result = run_django(["check"], DATABASE_URL="sqlite:///tmp/x.db")
    assert result.returncode != 0
    assert "PostgreSQL only" in result.stderr


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_malformed_boolean_setting_names_the_variable(value):
    result = run_django(["check"], DJANGO_DEBUG=value)
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be true or false" in result.stderr
