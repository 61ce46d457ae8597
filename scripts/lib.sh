# Shared steps of scripts/run and scripts/test. Source it; do not run it.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

python_is_312_or_newer() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

# Print a Python 3.12+ interpreter: $MATMIS_PYTHON, pyenv's version from .python-version,
# any pyenv 3.12+, python3.12, python3.13, python3.
find_python() {
  local wanted candidates=()
  wanted="$(cat "$ROOT/.python-version" 2>/dev/null || true)"
  [ -n "${MATMIS_PYTHON:-}" ] && candidates+=("$MATMIS_PYTHON")
  local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
  [ -n "$wanted" ] && candidates+=("$pyenv_root/versions/$wanted/bin/python")
  local dir
  for dir in "$pyenv_root"/versions/3.1[2-9]*; do
    [ -x "$dir/bin/python" ] && candidates+=("$dir/bin/python")
  done
  local name
  for name in python3.12 python3.13 python3.14 python3; do
    command -v "$name" >/dev/null 2>&1 && candidates+=("$(command -v "$name")")
  done
  local candidate
  for candidate in "${candidates[@]}"; do
    if [ -x "$candidate" ] && python_is_312_or_newer "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# pip's output as progress lines: each package as it is fetched, then the install step;
# warnings as they are, and from the first error on, everything.
pip_progress() {
  local line failing=0
  while IFS= read -r line; do
    [[ "$line" == ERROR* ]] && failing=1
    if [ "$failing" = 1 ]; then printf '%s\n' "$line"; continue; fi  # errors in full
    case "$line" in
      "Collecting "*) printf '    fetching %s\n' "${line#Collecting }" ;;
      "Installing collected packages:"*) printf '    installing the packages into .venv\n' ;;
      "Successfully installed"*) printf '    installed\n' ;;
      "WARNING: Location"* | "Requirement already satisfied"* | "  "* | "Using cached"* | "Downloading"* | "Obtaining"*) ;;
      *) printf '%s\n' "$line" ;;
    esac
  done
}

# Create .venv with Python 3.12+ and install the locked dependencies (the dev lock: the
# application's and the tools' for tests) when the lock changed. The Docker image installs
# the production lock, requirements.lock, instead (scripts/lock compiles both).
LOCK="$ROOT/requirements-dev.lock"
ensure_venv() {
  if [ ! -x "$PY" ] || ! python_is_312_or_newer "$PY"; then
    local base
    base="$(find_python)" || die "Python 3.12 or newer is needed. Install it (or pyenv \
install $(cat "$ROOT/.python-version")), or set MATMIS_PYTHON to its path."
    say "Creating .venv with $("$base" --version)"
    rm -rf "$VENV"
    "$base" -m venv "$VENV" || die "could not create a virtual environment (Debian: apt-get install python3-venv)"
  fi
  local want have
  want="$(sha256sum "$LOCK" | cut -d' ' -f1)"
  have="$(cat "$VENV/.lock-sha256" 2>/dev/null || true)"
  if [ "$want" != "$have" ]; then
    say "Installing locked dependencies into .venv (a minute or two the first time)"
    "$PY" -m pip install --disable-pip-version-check --require-hashes --progress-bar off \
      -r "$LOCK" 2>&1 | pip_progress || true
    "$PY" -c 'import django, celery, rest_framework, psycopg' \
      || die "dependencies did not install; see the pip output above"
    echo "$want" >"$VENV/.lock-sha256"
  fi
}

# Use DATABASE_URL when set; otherwise start the project's own PostgreSQL (scripts/devdb)
# and export its URL. Sets STARTED_DEVDB=1 when this call started it.
STARTED_DEVDB=0
ensure_database() {
  if [ -n "${DATABASE_URL:-}" ]; then
    say "Using DATABASE_URL"
    return 0
  fi
  if ! "$ROOT/scripts/devdb" status >/dev/null 2>&1; then
    say "Starting the project's PostgreSQL (.data/postgres)"
    "$ROOT/scripts/devdb" start
    STARTED_DEVDB=1
  fi
  DATABASE_URL="$("$ROOT/scripts/devdb" url)"
  export DATABASE_URL
}

stop_database_if_started() {
  if [ "$STARTED_DEVDB" = 1 ]; then
    "$ROOT/scripts/devdb" stop >/dev/null 2>&1 || true
  fi
}

ensure_assets() {
  "$ROOT/scripts/build-assets"
}

load_dotenv() {
  if [ -f "$ROOT/.env" ]; then
    set -a
    # shellcheck disable=SC1091
    . "$ROOT/.env"
    set +a
  fi
}

# Does a Redis answer PING at 127.0.0.1:6379?
redis_answers() {
  (
    exec 3<>/dev/tcp/127.0.0.1/6379 || exit 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 line <&3 || exit 1
    [[ "$line" == +PONG* ]]
  ) 2>/dev/null
}

# apt-get install, when we are root on Debian; quiet, one update per run.
APT_UPDATED=0
apt_install() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
  if [ "$APT_UPDATED" = 0 ]; then
    apt-get update -qq >/dev/null 2>&1 || return 1
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}

# A Redis at 127.0.0.1:6379 for the test against a real Celery worker: start one when none
# answers (installing redis-server first when we can). Without one that test skips.
ensure_redis() {
  redis_answers && return 0
  if ! command -v redis-server >/dev/null 2>&1; then
    say "Installing redis-server"
    apt_install redis-server || {
      echo "No Redis at 127.0.0.1:6379 and redis-server could not be installed: the Celery worker test will skip."
      return 0
    }
  fi
  say "Starting Redis on 127.0.0.1:6379"
  redis-server --port 6379 --bind 127.0.0.1 --daemonize yes --save "" --appendonly no >/dev/null || true
  local _
  for _ in $(seq 50); do
    redis_answers && return 0
    sleep 0.1
  done
  echo "Redis did not answer at 127.0.0.1:6379: the Celery worker test will skip."
}

# Chromium at /usr/bin/chromium for the browser tests (tests/e2e), installed when we can.
# Without it those tests skip.
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  say "Installing chromium"
  apt_install chromium || echo "Chromium could not be installed: the browser tests will skip."
}

# PostgreSQL client programs for scripts/backup and scripts/restore: sets PG_DUMP,
# PG_RESTORE and PSQL to the newest found (a newer pg_dump reads an older server, a newer
# pg_restore reads an older dump). Looks where scripts/devdb looks: pg_config --bindir,
# /usr/lib/postgresql/*/bin (Debian), /usr/pgsql-*/bin (RHEL), then PATH.
find_pg_clients() {
  local dir dirs=() candidates=()
  if command -v pg_config >/dev/null 2>&1; then
    dir="$(pg_config --bindir 2>/dev/null)" && candidates+=("$dir")
  fi
  for dir in /usr/lib/postgresql/*/bin /usr/pgsql-*/bin; do
    [ -d "$dir" ] && dirs+=("$dir")
  done
  if [ "${#dirs[@]}" -gt 0 ]; then
    while IFS= read -r dir; do candidates+=("$dir"); done < <(printf '%s\n' "${dirs[@]}" | sort -rV)
  fi
  if dir="$(command -v pg_dump 2>/dev/null)"; then candidates+=("$(dirname -- "$dir")"); fi
  local newest="" newest_major=0 major
  for dir in "${candidates[@]}"; do
    [ -x "$dir/pg_dump" ] && [ -x "$dir/pg_restore" ] && [ -x "$dir/psql" ] || continue
    major="$("$dir/pg_dump" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)?.*/\1/')"
    if [ "${major:-0}" -gt "$newest_major" ] 2>/dev/null; then
      newest="$dir"
      newest_major="$major"
    fi
  done
  [ -n "$newest" ] || die "pg_dump, pg_restore and psql not found; install the PostgreSQL client (e.g. the 'postgresql-client' package)"
  PG_DUMP="$newest/pg_dump"
  PG_RESTORE="$newest/pg_restore"
  PSQL="$newest/psql"
}

# Caddy for the reverse proxy's test (tests/foundation/test_proxy.py runs deploy/Caddyfile),
# installed when we can. Without it that test skips.
ensure_caddy() {
  command -v caddy >/dev/null 2>&1 && return 0
  say "Installing caddy"
  apt_install caddy || echo "Caddy could not be installed: the proxy test will skip."
}
