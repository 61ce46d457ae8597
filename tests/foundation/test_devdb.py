"""scripts/devdb: the project's own PostgreSQL server, driven in a scratch folder.

These tests start real servers on random free ports with their own data folders; they
never touch .data/postgres nor use Django's database fixtures.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

REPO = Path(__file__).resolve().parents[2]
DEVDB = REPO / "scripts" / "devdb"
DB_NAME = "devdb_test"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DevDB:
    """scripts/devdb with MATMIS_PG_DIR and MATMIS_PG_PORT of its own."""

    def __init__(self, data_dir: Path, port: int):
        self.data_dir = data_dir
        self.port = port
        self.env = {
            **os.environ,
            "MATMIS_PG_DIR": str(data_dir),
            "MATMIS_PG_PORT": str(port),
            "MATMIS_DB_NAME": DB_NAME,
        }

    def run(self, command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(DEVDB), command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def ok(self, command: str) -> subprocess.CompletedProcess:
        result = self.run(command)
        assert result.returncode == 0, (
            f"devdb {command} exited {result.returncode}\n{result.stdout}{result.stderr}"
        )
        return result

    def url(self) -> str:
        return self.ok("url").stdout.strip()

    def postmaster_pid(self) -> int:
        return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])

    def select_one(self) -> int:
        with psycopg.connect(self.url(), connect_timeout=10) as conn:
            return conn.execute("select 1").fetchone()[0]


def is_alive(pid: int) -> bool:
    """A zombie counts as dead: PID 1 in a container may never reap it."""
    if not Path("/proc/self").exists():  # macOS
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def wait_until_dead(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while is_alive(pid):
        assert time.monotonic() < deadline, f"process {pid} alive {timeout}s after SIGKILL"
        time.sleep(0.05)


@pytest.fixture
def scratch():
    """A folder the server user can reach even when the tests run as root.

    pytest's tmp_path lives under 0700 folders, which the "postgres" user cannot pass
    through, so use a folder of our own under /var/tmp.
    """
    base = "/var/tmp" if os.path.isdir("/var/tmp") else None  # noqa: S108
    path = Path(tempfile.mkdtemp(prefix="matmis-devdb-test-", dir=base))
    path.chmod(0o755)
    servers: list[DevDB] = []

    def make(name: str = "postgres", parent: Path = path) -> DevDB:
        server = DevDB(parent / name, free_port())
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.run("destroy")
    shutil.rmtree(path, ignore_errors=True)


def test_lifecycle_and_crash_recovery(scratch):
    devdb = scratch()
    # A half-finished initdb: the folder exists without PG_VERSION. It is redone.
    (devdb.data_dir / "base").mkdir(parents=True)
    (devdb.data_dir / "global").mkdir()

    started = time.monotonic()
    result = devdb.ok("start")
    cold = time.monotonic() - started
    assert result.stdout == ""
    assert (devdb.data_dir / "PG_VERSION").is_file()
    devdb.ok("status")
    assert devdb.url() == f"postgres://matmis@127.0.0.1:{devdb.port}/{DB_NAME}"
    assert devdb.select_one() == 1

    # Idempotent, and fast when already running.
    pid = devdb.postmaster_pid()
    started = time.monotonic()
    result = devdb.ok("start")
    warm = time.monotonic() - started
    assert (result.stdout, result.stderr) == ("", "")
    assert devdb.postmaster_pid() == pid
    assert warm < 1.0, f"warm start took {warm:.2f}s (cold: {cold:.2f}s)"

    # kill -9 leaves postmaster.pid and shared memory behind; start recovers.
    os.kill(pid, signal.SIGKILL)
    wait_until_dead(pid)
    assert devdb.run("status").returncode != 0
    devdb.ok("start")
    assert devdb.postmaster_pid() != pid
    devdb.ok("status")
    assert devdb.select_one() == 1

    devdb.ok("stop")
    assert devdb.run("status").returncode != 0
    assert not (devdb.data_dir / "postmaster.pid").exists()
    devdb.ok("stop")  # stopping a stopped server is fine

    devdb.ok("destroy")
    assert not devdb.data_dir.exists()


def test_port_taken_by_another_program(scratch):
    devdb = scratch()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", devdb.port))
        busy.listen()
        result = devdb.run("start")
    assert result.returncode != 0
    assert str(devdb.port) in result.stderr
    assert "MATMIS_PG_PORT" in result.stderr
    assert not devdb.data_dir.exists(), "it should fail before creating the cluster"


@pytest.mark.skipif(os.geteuid() != 0, reason="the /var/tmp fallback is for root only")
def test_root_falls_back_to_var_tmp_when_the_server_user_cannot_reach(scratch):
    # mkdtemp makes a 0700 folder: the server user cannot pass through it.
    private = Path(tempfile.mkdtemp(prefix="matmis-devdb-private-"))
    devdb = scratch(".data/postgres", parent=private)
    try:
        devdb.ok("start")
        assert devdb.data_dir.is_symlink()
        real = devdb.data_dir.resolve()
        assert real.parent.name.startswith("matmis-pg-")
        assert str(real).startswith("/var/tmp/")  # noqa: S108
        assert devdb.select_one() == 1
        assert private.stat().st_mode & 0o777 == 0o700, "it must not chmod our folders"

        devdb.ok("destroy")
        assert not devdb.data_dir.is_symlink()
        assert not devdb.data_dir.exists()
        assert not real.exists()
    finally:
        devdb.run("destroy")  # before the symlink to /var/tmp goes with the folder
        shutil.rmtree(private, ignore_errors=True)
