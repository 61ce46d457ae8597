import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings

from institutions import platform_forms

ROOT = Path(__file__).resolve().parents[2]

# The compose stack: the proxy in front of web, MinIO with its one-shot bucket creation
# (issue 19) beside the database, Redis, the mail catcher and the application's services.
STACK = {
    "proxy",
    "postgres",
    "redis",
    "mail",
    "minio",
    "createbucket",
    "migrate",
    "web",
    "worker",
    "beat",
    # Issue 18: a worker per queue, and the pooler in front of PostgreSQL.
    "worker-email",
    "worker-rollups",
    "worker-imports",
    "pgbouncer",
}
APPLICATION = ["web", "worker", "worker-email", "worker-rollups", "worker-imports", "beat"]


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
    assert set(result.stdout.split()) == STACK


# --- Read without docker: who logs in to the database ------------------------------------

_DEFAULTED = re.compile(r"\$\{[A-Z0-9_]+:-([^}]*)\}")


def compose_services() -> dict:
    """The services of docker-compose.yml, anchors merged, ${NAME:-default} read as its
    default and $$ as $ (what `docker compose config` gives with nothing set)."""
    text = _DEFAULTED.sub(lambda match: match.group(1), (ROOT / "docker-compose.yml").read_text())
    # "$$" is a literal "$" for the container's shell (a health check's ${HOSTNAME}).
    return yaml.safe_load(text.replace("$$", "$"))["services"]


def database_login(url: str) -> str:
    parsed = urlsplit(url)
    assert parsed.scheme == "postgres", url
    return parsed.username


def test_the_compose_services_are_the_stack():
    assert set(compose_services()) == STACK


@pytest.mark.parametrize("name", APPLICATION)
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
    for name in APPLICATION:
        assert "migrate" not in " ".join(services[name]["command"])


# --- Queues and the pooler (issue 18) ---------------------------------------------------------


def test_a_worker_per_queue_and_every_queue_has_one():
    from matmis.queues import QUEUES

    services = compose_services()
    consumed = {}
    for name in APPLICATION:
        command = services[name]["command"]
        if "worker" in command:
            queues = command[command.index("--queues") + 1].split(",")
            for queue in queues:
                consumed.setdefault(queue, []).append(name)
    assert {queue: len(names) for queue, names in consumed.items()} == dict.fromkeys(QUEUES, 1)


@pytest.mark.parametrize("name", APPLICATION)
def test_the_application_reaches_postgres_through_pgbouncer_in_transaction_mode(name):
    environment = compose_services()[name]["environment"]
    assert urlsplit(environment["DATABASE_URL"]).hostname == "pgbouncer"
    assert environment["DATABASE_POOLER"] == "transaction"
    assert compose_services()[name]["depends_on"]["pgbouncer"]


def test_pgbouncer_pools_by_transaction_and_migrations_go_to_postgres_directly():
    services = compose_services()
    pgbouncer = services["pgbouncer"]["environment"]
    assert pgbouncer["POOL_MODE"] == "transaction"
    assert urlsplit(pgbouncer["DATABASE_URL"]).hostname == "postgres"
    assert database_login(pgbouncer["DATABASE_URL"]) == "matmis_app"
    migrate = services["migrate"]["environment"]
    assert urlsplit(migrate["DATABASE_URL"]).hostname == "postgres"
    assert not migrate["DATABASE_POOLER"]


# --- The image: build context, stages, lock (issue 19) ------------------------------------


def dockerignore_patterns() -> set[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return {line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")}


@pytest.mark.parametrize(
    "path",
    [
        ".data",
        ".venv",
        "node_modules",
        ".env",
        ".git",
        "test-artifacts",
        "bench/out",
        ".pytest_cache",
        ".ruff_cache",
        "**/__pycache__",
    ],
)
def test_the_build_context_leaves_out_local_state_secrets_and_caches(path):
    assert path in dockerignore_patterns()


def test_the_build_context_keeps_the_sources():
    # Nothing that the image needs is ignored (a pattern for everything, or for the code).
    for needed in ("*", "matmis", "requirements.lock", "static", "Dockerfile", "deploy"):
        assert needed not in dockerignore_patterns()


def dockerfile_stages() -> list[tuple[str, list[str]]]:
    """(FROM line, instructions) per stage of the Dockerfile, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stages: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append((line, []))
        else:
            stages[-1][1].append(line)
    return stages


NODE_LTS = {22, 24}  # supported Node LTS lines (20 reached its end of life in April 2026)


def test_the_image_is_built_in_stages_with_assets_on_a_supported_node_lts():
    stages = dockerfile_stages()
    assert len(stages) >= 2
    assets_from, assets_steps = stages[0]
    match = re.fullmatch(r"FROM node:(\d+)\.(\d+)\.(\d+)-[a-z-]+ AS assets", assets_from)
    assert match, assets_from  # a full version: pinned, not a moving major tag
    assert int(match.group(1)) in NODE_LTS
    assert any("npm ci" in step for step in assets_steps)
    final_from, final_steps = stages[-1]
    assert re.fullmatch(r"FROM python:3\.12\.\d+-slim-[a-z]+", final_from), final_from
    assert "COPY --from=assets /app/static/build static/build" in final_steps


def test_the_image_installs_the_production_lock_only():
    _, steps = dockerfile_stages()[-1]
    installs = [step for step in steps if "pip install" in step]
    assert installs == ["RUN pip install --no-cache-dir --require-hashes -r requirements.lock"]
    assert "COPY requirements.lock ./" in steps
    assert not any("requirements-dev.lock" in step or "--group" in step for step in steps)
    assert "USER matmis" in steps
    assert not any("migrate" in step for step in steps)  # the migrate service's job


def locked_names(lock: str) -> set[str]:
    return {
        re.split(r"[=\s;]", line, maxsplit=1)[0].lower()
        for line in (ROOT / lock).read_text().splitlines()
        if re.match(r"^[A-Za-z0-9]", line)
    }


def test_the_production_lock_has_no_dev_tools_and_the_dev_lock_has_both():
    production, development = (
        locked_names("requirements.lock"),
        locked_names("requirements-dev.lock"),
    )
    for tool in ("pytest", "pytest-django", "ruff", "playwright", "schemathesis", "hypothesis"):
        assert tool not in production
        assert tool in development
    for package in ("django", "celery", "gunicorn", "django-storages", "boto3"):
        assert package in production
        assert package in development
    for lock in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / lock).read_text()
        assert "--generate-hashes" in text.splitlines()[1]
        assert "--hash=sha256:" in text


def test_development_and_ci_install_the_dev_lock():
    lib = (ROOT / "scripts" / "lib.sh").read_text()
    assert 'LOCK="$ROOT/requirements-dev.lock"' in lib
    assert '-r "$LOCK"' in lib
    lock_script = (ROOT / "scripts" / "lock").read_text()
    assert "compile --group dev -o requirements-dev.lock" in lock_script
    assert "compile -o requirements.lock" in lock_script


# --- The stack: proxy, migrate, health checks, storage, pinned images ---------------------


def test_every_image_is_pinned_to_a_version():
    raw = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    images = [raw["x-app"]["image"]] + [
        service["image"] for service in compose_services().values() if "image" in service
    ]
    assert len(images) >= 8
    for image in images:
        name, _, tag = image.rpartition(":")
        assert name and tag, f"{image} has no tag"
        assert "latest" not in tag, image
        assert re.search(r"\d", tag), f"{image}: a version, not a name"


def test_the_proxy_faces_clients_and_web_publishes_no_port():
    services = compose_services()
    proxy = services["proxy"]
    assert proxy["image"].startswith("caddy:")
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert any(port.endswith(":80") for port in proxy["ports"])
    for name in ("web", "worker", "beat", "migrate"):
        assert "ports" not in services[name], name
    assert services["web"]["command"][:2] == ["gunicorn", "matmis.wsgi:application"]


def caddyfile() -> str:
    return (ROOT / "deploy" / "Caddyfile").read_text()


def test_the_proxy_body_limit_is_the_applications_from_one_value():
    services = compose_services()
    proxy_limit = services["proxy"]["environment"]["MAX_REQUEST_BODY_BYTES"]
    assert services["web"]["environment"]["MAX_REQUEST_BODY_BYTES"] == proxy_limit
    # The compose default is the application's own default.
    assert int(proxy_limit) == settings.MAX_REQUEST_BODY_BYTES == 10 * 1024 * 1024
    assert "max_size {$MAX_REQUEST_BODY_BYTES:10485760}" in caddyfile()
    # Only the register upload on the platform host may send more.
    assert "path /imports/" in caddyfile()
    assert "max_size {$MATMIS_REGISTER_UPLOAD_BODY_BYTES:110100480}" in caddyfile()
    register_limit = services["proxy"]["environment"]["MATMIS_REGISTER_UPLOAD_BODY_BYTES"]
    assert int(register_limit) == 110100480 > platform_forms.MAX_UPLOAD_BYTES
    # A declared length over the limit is refused at once (tests/foundation/test_proxy.py
    # runs this file).
    assert 'respond @declared_too_large "Request body too large" 413' in caddyfile()
    # The two limits never both apply: the general one is for every other request.
    assert "request_body @any_other_request" in caddyfile()
    assert "request_body @register_upload" in caddyfile()


def test_the_proxy_passes_the_client_address_and_the_application_trusts_one_proxy():
    assert "reverse_proxy web:8000" in caddyfile()
    # Caddy trusts nothing in front of it: it replaces X-Forwarded-For with the client's
    # address, one entry; the application reads exactly one proxy's entry.
    assert "trusted_proxies" not in caddyfile()
    for name in ("web", "worker", "beat"):
        assert compose_services()[name]["environment"]["MATMIS_TRUSTED_PROXIES"] == "1"


def test_tls_can_be_turned_on_in_the_proxy():
    services = compose_services()
    assert "{$MATMIS_PROXY_ADDRESS::80}" in caddyfile()
    assert "import /etc/caddy/tls/*.caddy" in caddyfile()
    assert "./deploy/tls:/etc/caddy/tls:ro" in services["proxy"]["volumes"]
    assert any(port.endswith(":443") for port in services["proxy"]["ports"])


def test_migrate_is_a_one_off_that_web_worker_and_beat_wait_for():
    services = compose_services()
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert "restart" not in services[name] or services[name]["restart"] != "no"


def healthcheck(name: str) -> str:
    test = compose_services()[name]["healthcheck"]["test"]
    assert test[0] in {"CMD", "CMD-SHELL"}
    return " ".join(test[1:])


def test_web_is_checked_through_the_proxy_with_the_configured_host():
    check = healthcheck("web")
    assert "http://proxy:8081/healthz" in check
    assert "os.environ['BASE_DOMAIN']" in check
    assert "localhost" not in check
    assert "http://:8081" in caddyfile()  # the proxy's internal listener
    assert ":8081" not in " ".join(compose_services()["proxy"]["ports"])  # never published
    proxy_check = healthcheck("proxy")
    assert '--header "Host: ${BASE_DOMAIN}"' in proxy_check
    assert "127.0.0.1:8081/healthz" in proxy_check


def test_the_worker_answers_a_ping_to_its_own_node():
    worker = compose_services()["worker"]
    assert worker["command"][-2:] == ["--hostname", "worker@%h"]
    check = healthcheck("worker")
    assert "celery -A matmis inspect ping" in check
    assert "--destination worker@${HOSTNAME}" in check


def test_beat_is_checked_by_its_schedule_files_freshness():
    beat = compose_services()["beat"]
    schedule = beat["command"][beat["command"].index("-s") + 1]
    check = healthcheck("beat")
    directory, _, name = schedule.rpartition("/")
    assert f"find {directory} -maxdepth 1 -name '{name}*' -mmin -" in check


def test_uploads_go_to_the_minio_bucket_for_web_and_worker():
    services = compose_services()
    minio = services["minio"]
    assert minio["image"].startswith("minio/minio:RELEASE.")
    assert minio["healthcheck"]["test"] == ["CMD", "mc", "ready", "local"]
    createbucket = services["createbucket"]
    assert createbucket["restart"] == "no"
    assert createbucket["depends_on"] == {"minio": {"condition": "service_healthy"}}
    assert (ROOT / createbucket["command"][1]).is_file()
    for name in ("web", "worker"):
        environment = services[name]["environment"]
        assert environment["AWS_STORAGE_BUCKET_NAME"]
        assert environment["S3_ENDPOINT_URL"] == "http://minio:9000"
        assert environment["AWS_ACCESS_KEY_ID"] == minio["environment"]["MINIO_ROOT_USER"]
        assert environment["AWS_SECRET_ACCESS_KEY"] == minio["environment"]["MINIO_ROOT_PASSWORD"]
        assert services[name]["depends_on"]["createbucket"] == {
            "condition": "service_completed_successfully"
        }
