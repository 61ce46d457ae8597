"""``python -m bench [scenario ...]``: run the benchmarks and print each goal line.

Run it through ``bench/run``, which provides the virtualenv and a PostgreSQL server
(``DATABASE_URL``). The bench works in a database of its own: ``BENCH_DATABASE_URL`` when
set, otherwise ``<name>_bench`` beside the one ``DATABASE_URL`` names; it is created when
missing and migrated (settings ``matmis.settings.base``). Exits 0 when every scenario ran,
whether or not it met its goal; 1 when a scenario failed; 2 when the bench cannot start.
"""

import argparse
import os
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from bench.harness import DATA_DIR, Bench


def bench_database_url(database_url: str) -> str:
    """The URL of ``<name>_bench`` on the server ``database_url`` points at."""
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not name:
        raise ValueError("DATABASE_URL names no database.")
    if not name.endswith("_bench"):
        name = f"{name}_bench"
    return urlunsplit(parts._replace(path=f"/{name}"))


def ensure_database(url: str, *, maintenance_urls: list[str]) -> bool:
    """Create the database ``url`` names unless it exists; True when it was created."""
    name = urlsplit(url).path.lstrip("/")
    try:
        with psycopg.connect(url, connect_timeout=10):
            return False
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    last_error: Exception | None = None
    for maintenance in maintenance_urls:
        try:
            with psycopg.connect(maintenance, autocommit=True, connect_timeout=10) as connection:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                return True
        except psycopg.OperationalError as exc:
            last_error = exc
    raise last_error or RuntimeError("no server to create the bench database on")


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "matmis.settings.base"
    # Measure what production runs: no query log, no debug pages.
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", help="scenario or goal names (default: all)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and stop")
    parser.add_argument(
        "--reps",
        type=int,
        default=3,
        help="repetitions of the expensive steps, e.g. whole imports (default 3)",
    )
    args = parser.parse_args(argv)

    # Importing the scenarios imports no Django model: they do that when they run.
    from bench.scenarios import SCENARIOS

    if args.list:
        for scenario in SCENARIOS:
            goals = ", ".join(f"{name} ({goal})" for name, goal in scenario.goals.items())
            print(f"{scenario.name}: {scenario.description}\n    {goals}")
        return 0
    wanted = set(args.scenarios)
    chosen = [s for s in SCENARIOS if not wanted or s.name in wanted or wanted & set(s.goals)]
    known = {s.name for s in SCENARIOS} | {g for s in SCENARIOS for g in s.goals}
    if unknown := wanted - known:
        print(
            f"bench: no scenario named {', '.join(sorted(unknown))} (see --list)", file=sys.stderr
        )
        return 2

    database_url = os.environ.get("DATABASE_URL", "").strip()
    url = os.environ.get("BENCH_DATABASE_URL", "").strip()
    if not (url or database_url):
        print("bench: DATABASE_URL is not set; run bench/run, which sets it.", file=sys.stderr)
        return 2
    try:
        url = url or bench_database_url(database_url)
        maintenance = [u for u in (database_url, _database(url, "postgres")) if u]
        if ensure_database(url, maintenance_urls=maintenance):
            print(f"  .. created the bench database {urlsplit(url).path[1:]}", file=sys.stderr)
        setup_django(url)
    except Exception as exc:
        print(f"bench: cannot prepare the bench database: {exc}", file=sys.stderr)
        return 2

    summary = Bench(database_url=url, data_dir=DATA_DIR, reps=args.reps).run(chosen)
    return 1 if summary.errors else 0


def _database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


if __name__ == "__main__":
    sys.exit(main())
