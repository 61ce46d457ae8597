import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_django(args: list[str], **env_overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SECRET_KEY", "MATMIS_ENV"}}
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


def test_deploy_checks_pass_in_production_mode():
    result = run_django(
        ["check", "--deploy", "--fail-level", "WARNING"],
        MATMIS_ENV="production",
        DJANGO_SECRET_KEY="a-long-random-production-secret-" + "9f3k2l1m0n8b7v6c5x4z" * 3,
        BASE_DOMAIN="matmis.example",
        EMAIL_HOST="mail.matmis.example",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_sqlite_is_refused():
    result = run_django(["check"], DATABASE_URL="sqlite:///tmp/x.db")
    assert result.returncode != 0
    assert "PostgreSQL only" in result.stderr


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_malformed_boolean_setting_names_the_variable(value):
    result = run_django(["check"], DJANGO_DEBUG=value)
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be true or false" in result.stderr
