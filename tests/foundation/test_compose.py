import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_file_is_valid():
    command = compose_command()
    if command is None:
        pytest.skip("neither 'docker compose' nor 'docker-compose' is installed")
    result = subprocess.run(
        [*command, "config", "--services"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {
        "postgres",
        "redis",
        "mail",
        "migrate",
        "web",
        "worker",
        "beat",
    }


# --- Read without docker: who logs in to the database ------------------------------------

_DEFAULTED = re.compile(r"\$\{[A-Z_]+:-([^}]*)\}")


def compose_services() -> dict:
    """The services of docker-compose.yml, anchors merged and ${NAME:-default} read as
    its default (what `docker compose config` gives with nothing set)."""
    text = _DEFAULTED.sub(lambda match: match.group(1), (ROOT / "docker-compose.yml").read_text())
    return yaml.safe_load(text)["services"]


def database_login(url: str) -> str:
    parsed = urlsplit(url)
    assert parsed.scheme == "postgres", url
    return parsed.username


def test_the_compose_services_are_the_stack():
    assert set(compose_services()) == {
        "postgres",
        "redis",
        "mail",
        "migrate",
        "web",
        "worker",
        "beat",
    }


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_the_application_logs_in_as_its_own_role_without_the_owners_login(name):
    environment = compose_services()[name]["environment"]
    assert database_login(environment["DATABASE_URL"]) == "matmis_app"
    assert "DATABASE_OWNER_URL" not in environment
    assert not environment.get("DATABASE_APP_ROLE")  # no SET ROLE switch
    assert environment["MATMIS_ENV"] == "production"
    depends_on = compose_services()[name]["depends_on"]
    assert depends_on["migrate"] == {"condition": "service_completed_successfully"}


def test_migrations_run_once_as_the_tables_owner():
    services = compose_services()
    migrate = services["migrate"]
    owner = services["postgres"]["environment"]["POSTGRES_USER"]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--no-input"]
    assert database_login(migrate["environment"]["DATABASE_OWNER_URL"]) == owner
    assert database_login(migrate["environment"]["DATABASE_URL"]) == "matmis_app"
    assert owner != "matmis_app"
    # Nothing else migrates (the web server used to, as the owner).
    for name in ("web", "worker", "beat"):
        assert "migrate" not in " ".join(services[name]["command"])
