"""Typo-tolerant school search within a group: pg_trgm word similarity over
``search_name``, as Browse searches (the group's schools by primary key from its
memberships, then the match), over the national register of 50,000 against a copy with
half of it (every other row, and every school of the group).

Timed inside Postgres: the ``Execution Time`` of ``EXPLAIN (ANALYZE, TIMING OFF)``, the
median of several runs per query, summed over a few mistyped queries. The round trip
through raw psycopg is shown beside it. There is no trigram index: no search runs over the
whole register (see ``institutions.models.Institution``), and a group's search never used
one.
"""

import json
import statistics

from psycopg import sql

from bench.harness import Bench, measure, scenario

# Mistyped names a person might search for; the search is a word-similarity match, as the
# Browse page makes it (``institutions.selectors``).
QUERIES = ("st marys prmary", "prmary", "acadmy")
HALF_TABLE = "bench_institution_half"
TABLE = "institutions_institution"
RUNS = 9
ROUNDS = 4
_IN_GROUP = (
    "i.id = ANY (ARRAY(SELECT m.school_id FROM institutions_groupmembership m "
    "WHERE m.group_id = {group} AND m.left_on IS NULL)) "
    "AND (word_similarity({query}, i.search_name) >= {threshold} "
    "OR i.search_name LIKE {contains})"
)
SEARCH = sql.SQL(
    "SELECT i.id, i.name FROM {table} i WHERE " + _IN_GROUP + " "  # noqa: S608 - constants
    "ORDER BY word_similarity({query}, i.search_name) DESC, lower(i.name), i.id LIMIT 50"
)
COUNT = sql.SQL("SELECT count(*) FROM {table} i WHERE " + _IN_GROUP)  # noqa: S608 - constants
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


def build_half_table(bench: Bench, group_id: int) -> tuple[int, int]:
    """A copy of the institutions table, same columns and indexes, with every other row and
    every school of the group.

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
                "WHERE id % 2 = 0 OR id IN (SELECT school_id FROM institutions_groupmembership "
                "WHERE group_id = {group})"
            ).format(half=sql.Identifier(HALF_TABLE), columns=columns, group=sql.Literal(group_id))
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


@scenario("typo_search", goals={"typo_search_scaling": "<= 1.1"})
def typo_search(bench: Bench) -> None:
    """Mistyped school names within a group of 600: the register of 50k rows against 25k."""
    from institutions.models import Institution

    bench.ensure_register_imported(bench.register_file())
    plan_group = bench.register_plan().largest_local_authority()
    group = Institution.objects.get(kind="la", group_code=plan_group.code)
    whole, half = build_half_table(bench, group.pk)
    threshold = similarity_threshold()

    def statements(template: sql.SQL, table: str) -> list[sql.Composed]:
        return [
            template.format(
                table=sql.Identifier(table),
                group=sql.Literal(group.pk),
                query=sql.Literal(query),
                threshold=sql.Literal(threshold),
                contains=sql.Literal(f"%{query}%"),
            )
            for query in QUERIES
        ]

    searches = {table: statements(SEARCH, table) for table in (TABLE, HALF_TABLE)}
    # The two sides take turns, ROUNDS times, and each query's median is kept: the
    # machine's load drifts, and both sides should see the same.
    rounds: dict[str, list[list[float]]] = {TABLE: [], HALF_TABLE: []}
    for turn in range(ROUNDS):
        for table in (TABLE, HALF_TABLE) if turn % 2 == 0 else (HALF_TABLE, TABLE):
            rounds[table].append(timed(bench, searches[table], indexes=True))
    full, halved = (
        [statistics.median(runs) for runs in zip(*rounds[table], strict=True)]
        for table in (TABLE, HALF_TABLE)
    )
    with bench.connection().cursor() as cursor:
        plan = execution(cursor, searches[TABLE][0])[1]
        matches = [cursor.execute(count).fetchone()[0] for count in statements(COUNT, TABLE)]

        def round_trip(statement):
            return lambda: cursor.execute(statement).fetchall()

        client_full = measure(round_trip(searches[TABLE][0]), repeat=RUNS)
        client_half = measure(round_trip(searches[HALF_TABLE][0]), repeat=RUNS)
    bench.require(sum(matches) > 0, f"no school of {group.name} matches {QUERIES}")

    per_query = "\n".join(
        f"{query!r}: {count} matches; {a:.2f} ms, half {b:.2f} ms"
        for query, count, a, b in zip(QUERIES, matches, full, halved, strict=True)
    )
    bench.goal(
        "typo_search_scaling",
        sum(full) / sum(halved),
        detail=(
            f"{group.name} ({plan_group.current_schools} current schools): Postgres execution "
            f"time (EXPLAIN ANALYZE, median of {ROUNDS} rounds of {RUNS} taking turns, "
            f"{len(QUERIES)} queries summed, "
            f"word_similarity >= {threshold} or contains): among {whole:,} schools "
            f"{sum(full):.2f} ms, among {half:,} {sum(halved):.2f} ms\n"
            f"round trip through psycopg, first query: {client_full} and {client_half}\n"
            f"plan: {plan}\n{per_query}"
        ),
    )
