"""Typo-tolerant school search: pg_trgm word similarity over ``search_name``.

Timed inside Postgres: the ``Execution Time`` of ``EXPLAIN (ANALYZE, TIMING OFF)``, the
median of several runs per query, summed over a few mistyped queries. The round trip
through raw psycopg is shown beside it.
"""

import json
import statistics

from psycopg import sql

from bench.harness import Bench, measure, scenario

# Mistyped names a person might search for; the search is a word-similarity match, as the
# Browse page makes it (``institutions.selectors``).
QUERIES = ("st marys prmary", "westbrok academy", "holy trinty")
HALF_TABLE = "bench_institution_half"
RUNS = 9
SEARCH = sql.SQL(
    "SELECT id, name FROM {table} WHERE kind = 'school' AND {query} <% search_name "
    "ORDER BY word_similarity({query}, search_name) DESC, lower(name), id LIMIT 50"
)
COUNT = sql.SQL("SELECT count(*) FROM {table} WHERE kind = 'school' AND {query} <% search_name")
WITHOUT_INDEXES = (
    "SET LOCAL enable_bitmapscan = off",
    "SET LOCAL enable_indexscan = off",
    "SET LOCAL enable_indexonlyscan = off",
)


def similarity_threshold() -> float:
    """The word similarity that counts as a match on the Browse page (0.5 by default)."""
    try:
        from institutions.selectors import NAME_SIMILARITY_MIN
    except ImportError:
        return 0.5
    return float(NAME_SIMILARITY_MIN)


def build_half_table(bench: Bench) -> tuple[int, int]:
    """A copy of the institutions table, same columns and indexes, with every other row.

    Returns the number of schools in the whole table and in the half.
    """
    with bench.connection().cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {HALF_TABLE}")
        cursor.execute(f"CREATE TABLE {HALF_TABLE} (LIKE institutions_institution INCLUDING ALL)")
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'institutions_institution' AND is_generated = 'NEVER' "
            "ORDER BY ordinal_position"
        )
        columns = sql.SQL(", ").join(sql.Identifier(name) for (name,) in cursor.fetchall())
        cursor.execute(
            sql.SQL(
                "INSERT INTO {half} ({columns}) SELECT {columns} FROM institutions_institution "
                "WHERE id % 2 = 0"
            ).format(half=sql.Identifier(HALF_TABLE), columns=columns)
        )
        cursor.execute(f"VACUUM ANALYZE {HALF_TABLE}")
        cursor.execute("VACUUM ANALYZE institutions_institution")
        counts = []
        for table in ("institutions_institution", HALF_TABLE):
            cursor.execute(f"SELECT count(*) FROM {table} WHERE kind = 'school'")  # noqa: S608
            counts.append(cursor.fetchone()[0])
    return counts[0], counts[1]


def execution(cursor, statement: sql.Composed) -> tuple[float, str]:
    """Milliseconds Postgres spent executing ``statement``, and the plan's node types."""
    cursor.execute(sql.SQL("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ") + statement)
    (plan,) = cursor.fetchone()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return plan[0]["Execution Time"], _nodes(plan[0]["Plan"])


def _nodes(node: dict) -> str:
    name = node["Node Type"] + (f" on {node['Index Name']}" if "Index Name" in node else "")
    children = [_nodes(child) for child in node.get("Plans", ())]
    return " > ".join([name, *children])


def timed(bench: Bench, statements: list[sql.Composed], *, indexes: bool) -> list[float]:
    """Median execution milliseconds per statement (one warm-up run each)."""
    connection = bench.connection()
    medians = []
    with connection.transaction(), connection.cursor() as cursor:
        if not indexes:
            for setting in WITHOUT_INDEXES:
                cursor.execute(setting)
        for statement in statements:
            execution(cursor, statement)
            medians.append(statistics.median(execution(cursor, statement)[0] for _ in range(RUNS)))
    return medians


@scenario(
    "typo_search",
    goals={"typo_search_scaling": "<= 1.1", "typo_search_index": "<= 0.1"},
)
def typo_search(bench: Bench) -> None:
    """Mistyped school names over the register: 50k rows against 25k, and without the index."""
    bench.ensure_register_imported(bench.register_file())
    whole, half = build_half_table(bench)
    connection = bench.connection()
    threshold = similarity_threshold()
    connection.execute(
        "SELECT set_config('pg_trgm.word_similarity_threshold', %s, false)", [str(threshold)]
    )
    try:
        searches = {
            table: [
                SEARCH.format(table=sql.Identifier(table), query=sql.Literal(query))
                for query in QUERIES
            ]
            for table in ("institutions_institution", HALF_TABLE)
        }
        full = timed(bench, searches["institutions_institution"], indexes=True)
        halved = timed(bench, searches[HALF_TABLE], indexes=True)
        unindexed = timed(bench, searches["institutions_institution"], indexes=False)
        with connection.cursor() as cursor:
            plan = execution(cursor, searches["institutions_institution"][0])[1]
            matches = []
            for query in QUERIES:
                count = COUNT.format(
                    table=sql.Identifier("institutions_institution"), query=sql.Literal(query)
                )
                matches.append(cursor.execute(count).fetchone()[0])

            def round_trip(statement):
                return lambda: cursor.execute(statement).fetchall()

            client_full = measure(round_trip(searches["institutions_institution"][0]), repeat=RUNS)
            client_half = measure(round_trip(searches[HALF_TABLE][0]), repeat=RUNS)
    finally:
        connection.execute("RESET pg_trgm.word_similarity_threshold")

    per_query = "\n".join(
        f"{query!r}: {count} matches; {a:.2f} ms, half {b:.2f} ms, unindexed {c:.2f} ms"
        for query, count, a, b, c in zip(QUERIES, matches, full, halved, unindexed, strict=True)
    )
    bench.goal(
        "typo_search_scaling",
        sum(full) / sum(halved),
        detail=(
            f"Postgres execution time (EXPLAIN ANALYZE, median of {RUNS}, {len(QUERIES)} "
            f"queries summed, word_similarity >= {threshold}): {whole:,} schools "
            f"{sum(full):.2f} ms, {half:,} schools {sum(halved):.2f} ms\n"
            f"round trip through psycopg, first query: {client_full} and {client_half}\n"
            f"{per_query}"
        ),
    )
    bench.goal(
        "typo_search_index",
        sum(full) / sum(unindexed),
        detail=(
            f"GIN index (gin_trgm_ops) {sum(full):.2f} ms, without it (bitmap and index "
            f"scans off) {sum(unindexed):.2f} ms\nplan: {plan}"
        ),
    )
