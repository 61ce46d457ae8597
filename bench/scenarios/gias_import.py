"""GIAS import: the register importer against Postgres COPY of the same file."""

import time
from pathlib import Path

from bench.harness import (
    REGISTER_STATE,
    Bench,
    import_register_importer,
    measure,
    median_of,
    scenario,
)
from matmis.db_roles import owner_role

COLUMNS = 140
# COPY's name for the file's encoding.
COPY_ENCODINGS = {"cp1252": "WIN1252", "utf-8-sig": "UTF8", "utf-8": "UTF8"}


def copy_into_temporary_table(bench: Bench, path: Path, encoding: str = "cp1252") -> float:
    """Seconds to COPY the file into a temporary table of 140 text columns: the floor."""
    connection = bench.connection()
    columns = ", ".join(f"c{i} text" for i in range(COLUMNS))
    options = f"FORMAT csv, HEADER true, ENCODING '{COPY_ENCODINGS[encoding]}'"
    with connection.transaction(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE bench_gias_copy ({columns}) ON COMMIT DROP")
        start = time.perf_counter()
        with (
            cursor.copy(f"COPY bench_gias_copy FROM STDIN ({options})") as copy,
            path.open("rb") as f,
        ):
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        elapsed = time.perf_counter() - start
        cursor.execute("SELECT count(*) FROM bench_gias_copy")
        (rows,) = cursor.fetchone()
    if rows != bench.register_plan().establishments:
        raise AssertionError(
            f"COPY read {rows} records, not {bench.register_plan().establishments}."
        )
    return elapsed


@scenario(
    "gias_import_vs_copy",
    goals={"gias_import_vs_copy": "<= 3", "gias_import_second_run_vs_copy": "<= 2"},
)
def gias_import_vs_copy(bench: Bench) -> None:
    """Import the 50,000-row register into an empty database; ratio to a raw COPY of it."""
    register_import = import_register_importer(bench)
    path = bench.register_file()
    establishments = bench.register_plan().establishments

    floor = measure(lambda: copy_into_temporary_table(bench, path), repeat=3)

    first_runs, result = [], None
    for _ in range(bench.reps):
        # Emptied, not analysed: the tables look as they do after a fresh migrate.
        bench.empty_institutions()
        start = time.perf_counter()
        with path.open("rb") as stream, owner_role():  # as manage.py import_gias runs it
            result = register_import(stream=stream)
        first_runs.append(time.perf_counter() - start)
    imported = median_of(first_runs)

    bench.analyze()  # as a real second import finds it: statistics up to date
    start = time.perf_counter()
    with path.open("rb") as stream, owner_role():
        again = register_import(stream=stream)
    second = time.perf_counter() - start
    bench.set_state(REGISTER_STATE, path.name)

    size = path.stat().st_size / 1e6
    rejected = len(result.rejected)
    bench.goal(
        "gias_import_vs_copy",
        imported.median / floor.median,
        detail=(
            f"register_import {imported}, COPY into a temporary table {floor}\n"
            f"{establishments:,} records, {size:.0f} MB ({path.name}): {result.created:,} "
            f"schools, {result.groups_created:,} groups and {result.memberships_started:,} "
            f"memberships created, {rejected} rejected"
        ),
    )
    if rejected:
        bench.detail("first rejections: " + "; ".join(str(r) for r in result.rejected[:3]))
    bench.goal(
        "gias_import_second_run_vs_copy",
        second / floor.median,
        detail=(
            f"the same file again {second:.2f} s, COPY {floor}; {again.unchanged:,} "
            f"unchanged, {again.updated:,} updated, {again.created:,} created"
        ),
    )
