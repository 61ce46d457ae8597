"""What every scenario uses: its declaration, timing, the data it shares, and the report.

A scenario is a function taking a ``Bench``, declared with ``@scenario(name, goals=...)``
and listed in ``bench/scenarios/__init__.py``; see ``bench/README.md``.
"""

import gc
import hashlib
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from . import register

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".data" / "bench"
# The register every scenario shares: the england profile at national scale.
REGISTER_ESTABLISHMENTS = 50_000
REGISTER_SEED = 1

_OPERATORS = {
    "<=": lambda value, target: value <= target,
    ">=": lambda value, target: value >= target,
    "=": lambda value, target: abs(value - target) < 1e-9,
}


@dataclass(frozen=True)
class Goal:
    """What a ratio must be: ``<= 3``, ``>= 0.8`` or ``= 1.0``."""

    operator: str
    target: float

    @classmethod
    def parse(cls, text: str) -> "Goal":
        operator, _, target = text.strip().partition(" ")
        if operator not in _OPERATORS:
            raise ValueError(f"A goal reads '<= 3', '>= 0.8' or '= 1.0', not {text!r}.")
        return cls(operator, float(target))

    def met_by(self, value: float) -> bool:
        return _OPERATORS[self.operator](value, self.target)

    def __str__(self) -> str:
        return f"goal {self.operator} {self.target:g}"


@dataclass(frozen=True)
class Scenario:
    name: str
    goals: dict[str, Goal]
    run: Callable[["Bench"], None]
    description: str


def scenario(name: str, *, goals: dict[str, str]) -> Callable[[Callable], Scenario]:
    """Declare a scenario and the goal lines it reports (name -> goal, e.g. ``"<= 3"``)."""

    def declare(run: Callable[["Bench"], None]) -> Scenario:
        description = (run.__doc__ or "").strip().splitlines()[0] if run.__doc__ else ""
        parsed = {line: Goal.parse(goal) for line, goal in goals.items()}
        return Scenario(name=name, goals=parsed, run=run, description=description)

    return declare


class Skip(Exception):
    """Raised (through ``Bench.skip``) when a scenario's code is not there yet."""


class MissingData(Exception):
    """Raised (through ``Bench.require``) when the data a scenario measures is not there:
    the scenario fails loudly instead of timing nothing."""


@dataclass(frozen=True)
class Timing:
    """Seconds per repetition, and their median."""

    runs: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def __str__(self) -> str:
        return f"{_seconds(self.median)} (median of {len(self.runs)})"


def _seconds(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def measure(action: Callable[[], object], *, repeat: int = 5, warmup: int = 1) -> Timing:
    """Wall time of ``action`` (time.perf_counter), ``repeat`` times after ``warmup`` runs."""
    for _ in range(warmup):
        action()
    runs = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        action()
        runs.append(time.perf_counter() - start)
    return Timing(tuple(runs))


def median_of(runs: Iterable[float]) -> Timing:
    """A Timing from seconds measured some other way (e.g. inside the database)."""
    return Timing(tuple(runs))


@dataclass
class Summary:
    met: int = 0
    missed: int = 0
    skipped: int = 0
    errors: int = 0
    started: float = field(default_factory=time.perf_counter)

    def line(self) -> str:
        spent = time.perf_counter() - self.started
        return (
            f"summary: {self.met} met, {self.missed} missed, {self.skipped} skipped, "
            f"{self.errors} errors ({spent:.0f} s)"
        )


class Bench:
    """The context a scenario runs in: the bench database, shared data, the report."""

    def __init__(
        self,
        *,
        database_url: str,
        data_dir: Path = DATA_DIR,
        reps: int = 1,
        out=None,
        err=None,
    ):
        self.database_url = database_url
        self.data_dir = data_dir
        self.reps = max(1, reps)
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.summary = Summary()
        self._connection: psycopg.Connection | None = None
        self._scenario: Scenario | None = None
        self._reported: set[str] = set()
        self._vacuumed: list[str] = []

    # -- data ------------------------------------------------------------------------------

    def register_file(
        self,
        *,
        establishments: int = REGISTER_ESTABLISHMENTS,
        seed: int = REGISTER_SEED,
        profile: str = "england",
        encoding: str = "cp1252",
    ) -> Path:
        """The generated register for these arguments, written once into ``.data/bench/``
        (the file name carries the arguments and a digest of the generator's code)."""
        source = b"".join(
            (Path(register.__file__).parent / name).read_bytes()
            for name in ("register.py", "gias_reference.py")
        )
        digest = hashlib.sha256(source).hexdigest()[:10]
        stem = f"register-{profile}-{establishments}-seed{seed}-{encoding}"
        path = self.data_dir / f"{stem}-{digest}.csv"
        if path.exists():
            return path
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.data_dir.glob(f"{stem}-*.csv"):
            stale.unlink()
        self.progress(f"generating {path.name}")
        partial = path.with_suffix(".partial")
        with partial.open("wb") as stream:
            register.write_register(
                stream,
                establishments=establishments,
                seed=seed,
                encoding=encoding,
                profile=profile,
            )
        partial.replace(path)
        return path

    def register_plan(
        self,
        *,
        establishments: int = REGISTER_ESTABLISHMENTS,
        seed: int = REGISTER_SEED,
        profile: str = "england",
    ) -> register.RegisterPlan:
        """Which groups ``register_file`` holds (e.g. ``.largest_local_authority()``)."""
        return register.register_plan(establishments=establishments, seed=seed, profile=profile)

    # -- the database ----------------------------------------------------------------------

    def connection(self) -> psycopg.Connection:
        """A raw psycopg connection to the bench database (autocommit), kept for the run:
        the floor that Django is measured against."""
        if self._connection is None or self._connection.closed:
            self._connection = psycopg.connect(self.database_url, autocommit=True)
        return self._connection

    def state(self, key: str) -> str | None:
        """What the bench database last recorded under ``key`` (see ``set_state``)."""
        with self.connection().cursor() as cursor:
            cursor.execute(_STATE_TABLE_SQL)
            cursor.execute("SELECT value FROM bench_state WHERE key = %s", [key])
            row = cursor.fetchone()
        return row[0] if row else None

    def set_state(self, key: str, value: str | None) -> None:
        """Record what the database holds (e.g. which register is imported), or forget it."""
        with self.connection().cursor() as cursor:
            cursor.execute(_STATE_TABLE_SQL)
            if value is None:
                cursor.execute("DELETE FROM bench_state WHERE key = %s", [key])
            else:
                cursor.execute(
                    "INSERT INTO bench_state (key, value) VALUES (%s, %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [key, value],
                )

    def empty_institutions(self) -> None:
        """Remove every institution and what hangs off them (the bench database only).

        Everything a scenario built hangs off an institution, so every record of what the
        database holds is forgotten with them: the next scenario builds its data again."""
        from matmis.db_roles import truncate_guards_lifted

        with self.connection().cursor() as cursor:
            cursor.execute(_STATE_TABLE_SQL)
            cursor.execute("DELETE FROM bench_state")
        connection = self.connection()
        # The cascade reaches agreements and the audit trail, which refuse TRUNCATE.
        with (
            connection.transaction(),
            connection.cursor() as cursor,
            truncate_guards_lifted(cursor),
        ):
            cursor.execute("TRUNCATE institutions_institution RESTART IDENTITY CASCADE")

    def ensure_register_imported(self, path: Path) -> None:
        """The institutions table holds the register in ``path``, imported by the importer.

        Imports it (untimed) unless the bench database says it already does.
        """
        if self.state(REGISTER_STATE) == path.name:
            return
        register_import = import_register_importer(self)
        self.empty_institutions()
        self.progress(f"importing {path.name}")
        from matmis.db_roles import owner_role

        with path.open("rb") as stream, owner_role():  # as manage.py import_gias runs it
            register_import(stream=stream)
        self.analyze()
        self.set_state(REGISTER_STATE, path.name)

    def analyze(self) -> None:
        with self.connection().cursor() as cursor:
            cursor.execute("VACUUM ANALYZE institutions_institution")
            cursor.execute("VACUUM ANALYZE institutions_groupmembership")

    def vacuum(self, *tables: str) -> None:
        """``VACUUM ANALYZE`` the tables a scenario churns, before timing it, and say so in
        the report: a shared PostgreSQL may run with autovacuum off, and dead rows left by
        earlier runs would slow the next one (the delivery table once held 40 dead rows for
        every live one)."""
        with self.connection().cursor() as cursor:
            for table in tables:
                cursor.execute(f"VACUUM ANALYZE {table}")
        self._vacuumed.extend(tables)

    def require(self, condition: bool, what: str) -> None:
        """Fail the scenario loudly (an ERROR line) unless ``condition``: the data it
        measures is there. ``what`` says what is missing."""
        if not condition:
            raise MissingData(what)

    # -- the report ------------------------------------------------------------------------

    def goal(self, name: str, value: float, *, unit: str = "x", detail: str = "") -> None:
        """Report a goal line ``name: value (goal ...)``, with MISS when it is missed."""
        goal = self._goal_for(name)
        met = goal.met_by(value)
        self._reported.add(name)
        if met:
            self.summary.met += 1
        else:
            self.summary.missed += 1
        self._print(f"{name}: {value:.2f}{unit} ({goal})" + ("" if met else " MISS"))
        if detail:
            self.detail(detail)

    def info(self, name: str, value: str, *, detail: str = "") -> None:
        """Report a figure that has no goal: ``name: value (info)``."""
        self._print(f"{name}: {value} (info)")
        if detail:
            self.detail(detail)

    def detail(self, text: str) -> None:
        """An indented line under the last one: the figures a ratio was made from."""
        for line in text.splitlines():
            self._print(f"    {line}")

    def progress(self, text: str) -> None:
        """What the bench is doing (standard error, so the report stays clean)."""
        print(f"  .. {text}", file=self.err, flush=True)

    def skip(self, reason: str) -> None:
        raise Skip(reason)

    def _goal_for(self, name: str) -> Goal:
        if self._scenario is None or name not in self._scenario.goals:
            raise KeyError(f"{name!r} is not a goal declared by the running scenario.")
        return self._scenario.goals[name]

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    # -- running ---------------------------------------------------------------------------

    def run(self, scenarios: Iterable[Scenario]) -> Summary:
        """Run each scenario; a skip or an error is reported on its goal lines."""
        for current in scenarios:
            self._scenario, self._reported, self._vacuumed = current, set(), []
            self.progress(f"scenario {current.name}")
            try:
                current.run(self)
                if self._vacuumed:
                    self.detail("vacuumed and analysed before timing: " + ", ".join(self._vacuumed))
            except Skip as skip:
                self._unreported("SKIPPED", str(skip))
                self.summary.skipped += len(current.goals) - len(self._reported)
            except Exception as exc:
                traceback.print_exc(file=self.err)
                self._unreported("ERROR", f"{type(exc).__name__}: {exc}")
                self.summary.errors += 1
            else:
                if missing := [name for name in current.goals if name not in self._reported]:
                    self._unreported("ERROR", "the scenario did not report this goal")
                    self.summary.errors += len(missing)
            finally:
                self._scenario = None
        self._print(self.summary.line())
        if self._connection is not None:
            self._connection.close()
        return self.summary

    def _unreported(self, status: str, reason: str) -> None:
        for name, goal in self._scenario.goals.items():
            if name not in self._reported:
                self._print(f"{name}: {status} ({goal}) - {reason}")


REGISTER_STATE = "institutions.register"
_STATE_TABLE_SQL = "CREATE TABLE IF NOT EXISTS bench_state (key text PRIMARY KEY, value text)"


def import_register_importer(bench: Bench):
    """``institutions.register_import.register_import``, or a skip when it is not there."""
    try:
        from institutions.register_import import register_import
    except ImportError as exc:
        bench.skip(f"institutions.register_import is not there yet ({exc})")
    return register_import
