"""scripts/backup and scripts/restore, round trip: a seeded database and its uploaded files
are backed up, restored into a fresh database, and found there the same (row counts of
every table, checksums of a few tables' contents, the files), with the application's role
granted again; a restore over a database that has tables is refused without --force.

The seed is made through the factories rather than ``seed_demo`` (about a minute): every
kind of row the demo has that matters here (sites, staff, pupils under Row-Level Security
with marks and exclusions, an agreement, audit events, email deliveries, an upload).
"""

import datetime
import hashlib
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from psycopg import sql

from accounts.models import AuditAction, AuditEvent
from matmis.db_roles import app_role
from notifications.models import DeliveryStatus, EmailDelivery
from sharing.models import AccessLevel, Agreement
from tests.factories import TrustFactory, UserFactory
from tests.institutions.factories import add_school
from tests.mis.factories import PupilFactory, mark_days, school_days, suspend
from tests.security.test_database_roles import application_login  # noqa: F401 - a fixture

ROOT = Path(settings.BASE_DIR)
WEEK = school_days(datetime.date(2026, 11, 16), datetime.date(2026, 11, 20))
CHECKSUMMED_TABLES = (
    "institutions_institution",
    "accounts_user",
    "accounts_auditevent",
    "mis_pupil",
    "mis_attendancemark",
    "sharing_agreement",
)

pytestmark = pytest.mark.skipif(
    shutil.which("pg_dump") is None and not list(Path("/usr/lib/postgresql").glob("*/bin")),
    reason="the PostgreSQL client programs are not installed",
)


def _url(dbname: str) -> str:
    s = connection.settings_dict
    login = quote(s["USER"] or "", safe="")
    if s["PASSWORD"]:
        login += ":" + quote(s["PASSWORD"], safe="")
    return f"postgres://{login}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{dbname}"


def _connect(dbname: str) -> psycopg.Connection:
    return psycopg.connect(_url(dbname), autocommit=True)


def _run(script: str, *args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "scripts" / script), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _snapshot(dbname: str) -> dict:
    """Row counts of every table, and a checksum of the contents of a few, as the owner."""
    with _connect(dbname) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1"
        )
        tables = [name for (name,) in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            counts[table] = cursor.fetchone()[0]
        checksums = {}
        for table in CHECKSUMMED_TABLES:
            cursor.execute(
                sql.SQL(
                    "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t"
                ).format(sql.Identifier(table))
            )
            checksums[table] = cursor.fetchone()[0]
    return {"counts": counts, "checksums": checksums}


def _files(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _seed() -> None:
    trust = TrustFactory()
    schools = [add_school(trust), add_school(trust)]
    UserFactory.create_batch(3)
    for school in schools:
        for _ in range(3):
            pupil = PupilFactory(site=school)
            mark_days(pupil, WEEK, ["/", "\\"] * 5)
        suspend(pupil, datetime.date(2026, 10, 1))
    Agreement.objects.create(
        group=trust,
        school=schools[0],
        level=AccessLevel.DFE_AND_MIS_DATA,
        approved_at=timezone.now(),
    )
    for action in (AuditAction.SIGN_IN, AuditAction.SIGN_OUT):
        AuditEvent.objects.create(site=trust, actor_email="someone@example.test", action=action)
    EmailDelivery.objects.create(
        site=trust,
        address="head@example.test",
        kind="test",
        topic="test:1",
        dedupe_key=f"test:{uuid.uuid4().hex}",
        builder="test",
        status=DeliveryStatus.SENT,
    )


@pytest.fixture
def restored_name():
    name = f"{connection.settings_dict['NAME']}_restored_{uuid.uuid4().hex[:8]}"
    yield name
    with _connect("postgres") as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_into_a_fresh_database_with_the_same_rows_and_files(
    tmp_path, restored_name
):
    _seed()
    media = tmp_path / "media"
    (media / "register_imports" / "2026").mkdir(parents=True)
    (media / "register_imports" / "2026" / "register.csv").write_text("URN,Name\n100001,A\n")
    (media / "logo.png").write_bytes(bytes(range(256)) * 10)
    source = connection.settings_dict["NAME"]
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_OWNER_URL", "BACKUP_DATABASE_URL", "AWS_STORAGE_BUCKET_NAME"}
    }
    env |= {"DATABASE_URL": _url(source), "DATABASE_APP_ROLE": app_role(), "MEDIA_ROOT": ""}

    backed_up = _run(
        "backup", "--output", str(tmp_path / "backups"), "--media-dir", str(media), env=env
    )
    assert backed_up.returncode == 0, backed_up.stderr
    backup = Path(backed_up.stdout.strip().splitlines()[-1])
    assert backup.parent == tmp_path / "backups" and backup.name.startswith("matmis-")
    manifest = (backup / "manifest.json").read_text()
    assert '"database.dump"' in manifest and '"media.tar.gz"' in manifest
    assert '"media_files": 2' in manifest
    assert "postgres://" not in manifest  # no login details in the manifest

    restored_media = tmp_path / "restored-media"
    restored = _run(
        "restore",
        str(backup),
        "--database",
        restored_name,
        "--media-dir",
        str(restored_media),
        env=env,
    )
    assert restored.returncode == 0, restored.stderr

    before, after = _snapshot(source), _snapshot(restored_name)
    assert after == before
    assert before["counts"]["mis_attendancemark"] == 60  # the seed is there to compare
    assert before["counts"]["accounts_auditevent"] >= 2
    assert _files(restored_media) == _files(media)

    # The application's role is granted again, exactly as migrate grants it.
    role = app_role()
    with _connect(restored_name) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT has_table_privilege(%s, 'mis_pupil', 'SELECT'), "
            "has_table_privilege(%s, 'accounts_auditevent', 'DELETE'), "
            "has_function_privilege(%s, "
            "'accounts_auditevent_delete_older_than(timestamptz)', 'EXECUTE'), "
            "has_function_privilege('public', "
            "'accounts_auditevent_delete_older_than(timestamptz)', 'EXECUTE'), "
            "(SELECT relforcerowsecurity FROM pg_class WHERE relname = 'mis_pupil')",
            [role, role, role],
        )
        assert cursor.fetchone() == (True, False, True, False, True)

    # Over a database that has tables: refused without --force, and nothing changes.
    with _connect(restored_name) as conn:
        conn.execute(  # a change of its own: a person nobody refers to is deleted
            "DELETE FROM accounts_user WHERE id = (SELECT min(u.id) FROM accounts_user u "
            "WHERE NOT EXISTS (SELECT 1 FROM accounts_auditevent WHERE actor_id = u.id) "
            "AND NOT EXISTS (SELECT 1 FROM accounts_staffprofile WHERE user_id = u.id))"
        )
    changed = _snapshot(restored_name)
    again = _run(
        "restore",
        str(backup),
        "--database",
        restored_name,
        "--media-dir",
        str(tmp_path / "m2"),
        env=env,
    )
    assert again.returncode != 0
    assert f"database {restored_name} is not empty" in again.stderr
    assert _snapshot(restored_name) == changed != before
    # With --force: the backup's rows again.
    forced = _run(
        "restore",
        str(backup),
        "--database",
        restored_name,
        "--media-dir",
        str(tmp_path / "m3"),
        "--force",
        env=env,
    )
    assert forced.returncode == 0, forced.stderr
    assert _snapshot(restored_name) == before


@pytest.mark.django_db
def test_a_damaged_backup_is_refused_before_anything_is_restored(tmp_path, restored_name):
    backup = tmp_path / "matmis-x"
    backup.mkdir()
    (backup / "database.dump").write_bytes(b"not what was dumped")
    (backup / "SHA256SUMS").write_text(f"{'0' * 64}  database.dump\n")
    env = {**os.environ, "DATABASE_URL": _url(connection.settings_dict["NAME"])}
    result = _run("restore", str(backup), "--database", restored_name, env=env)
    assert result.returncode != 0
    assert "checksums do not match" in result.stderr
    with _connect("postgres") as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s", [restored_name]
        ).fetchone() == (0,)


@pytest.mark.django_db
def test_a_backup_by_a_login_that_cannot_read_every_row_is_refused(
    tmp_path,
    application_login,  # noqa: F811 - the fixture imported above
):
    role, password = application_login
    s = connection.settings_dict
    url = f"postgres://{role}:{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    env = {key: v for key, v in os.environ.items() if key != "DATABASE_OWNER_URL"}
    env |= {"DATABASE_URL": url, "BACKUP_DATABASE_URL": ""}
    result = _run("backup", "--output", str(tmp_path), env=env)
    assert result.returncode != 0
    assert "may not read every row (it needs BYPASSRLS or superuser)" in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.django_db
def test_a_restore_in_the_production_arrangement_grants_the_applications_own_login(
    tmp_path,
    application_login,  # noqa: F811 - the fixture imported above
    restored_name,
):
    role, password = application_login
    s = connection.settings_dict
    server = f"{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
    env = {key: v for key, v in os.environ.items() if key not in {"BACKUP_DATABASE_URL"}}
    env |= {"DATABASE_URL": _url(s["NAME"]), "DATABASE_OWNER_URL": "", "MEDIA_ROOT": ""}
    backed_up = _run(
        "backup", "--output", str(tmp_path), "--media-dir", str(tmp_path / "m"), env=env
    )
    assert backed_up.returncode == 0, backed_up.stderr
    backup = backed_up.stdout.strip().splitlines()[-1]
    # DATABASE_URL is the application's own login, DATABASE_OWNER_URL the owner's.
    env |= {
        "DATABASE_URL": f"postgres://{role}:{password}@{server}/{s['NAME']}",
        "DATABASE_OWNER_URL": _url(s["NAME"]),
        "DATABASE_APP_ROLE": "",
    }
    restored = _run(
        "restore", backup, "--database", restored_name, "--media-dir", str(tmp_path / "r"), env=env
    )
    assert restored.returncode == 0, restored.stderr
    app_url = f"postgres://{role}:{password}@{server}/{restored_name}"
    with psycopg.connect(app_url, autocommit=True) as app, app.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations")  # SELECT granted
        (migrations,) = cursor.fetchone()
        assert migrations == _snapshot(s["NAME"])["counts"]["django_migrations"] > 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            cursor.execute("DELETE FROM accounts_auditevent")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            cursor.execute("TRUNCATE mis_pupil")
