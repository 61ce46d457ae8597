"""Browse Institutions at national scale: the page of a group of 600 schools among 50,000.

The group is the register's largest local authority (600 current schools), with six
clusters of about 60 schools and a staff member signed in. The page is asked for as a
person would: a search that matches a few hundred of its schools, a phase filter and an
Ofsted filter, first page of 50 (``QUERY``).

Measured side by side, on the same data and in the same run (PERFORMANCE.md's layers):

1. Postgres' own execution time (``EXPLAIN (ANALYZE, TIMING OFF)``) of the floor's queries
   and of every query the view runs;
2. the floor: the data the page shows (its 50 rows with the displayed columns and their
   clusters, the total, every facet's counts with the cluster and type names) fetched by
   hand-written SQL through raw psycopg;
3. the ORM: the selectors evaluated (the one pass over the group and the page's 50 rows
   with their clusters; and all of the page's data as the view asks for it);
4. the framework: ``GET /healthz`` on the group's host, through the project's middleware;
5. the full view, through the Django test client in process (and its htmx fragment).

The goal is 5 / 2; every layer is timed in the same loop, the layers taking turns. Then
the page's queries for the group of 600 against a trust of 5, the same query string,
counted with ``CaptureQueriesContext``.
"""

import gc
import json
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.harness import Bench, Timing, median_of, scenario

URL = "/institutions/"
SEARCH = "primary"
PHASES = ("Primary",)
GRADES = ("good", "outstanding")
QUERY = {"q": SEARCH, "phase": list(PHASES), "ofsted": list(GRADES)}
PAGE_SIZE = 50
REPEAT = 15  # requests, or floor runs, per timing (the median is reported)
EXPLAIN_RUNS = 5
USER_EMAIL = "bench-browse@example.test"
CLUSTER_NAMES = tuple(f"Bench area {letter}" for letter in "ABCDEF")
SMALL_CLUSTER_NAMES = CLUSTER_NAMES[:2]

# --- The floor: hand-written SQL of the page's data -------------------------------------------
# The group's current schools, driven from its memberships (an index-only scan), whatever
# the planner's cost settings: ``id = ANY (ARRAY(...))`` looks up each school by primary key.
_GROUP_SCHOOLS = """
    i.id = ANY (ARRAY(
        SELECT m.school_id FROM institutions_groupmembership m
        WHERE m.group_id = %(group)s AND m.left_on IS NULL))
    AND i.status = ANY (%(statuses)s)"""
# The search as the selector makes it for a word (no URN, no postcode): town, a name that
# is similar enough, or a name that contains it.
_MATCHES_SEARCH = """(upper(i.town) = upper(%(text)s)
    OR word_similarity(%(name)s, i.search_name) >= %(threshold)s
    OR i.search_name LIKE %(contains)s)"""

ROWS_SQL = f"""
WITH page AS MATERIALIZED (
    SELECT i.id, i.urn, i.name, i.town, i.postcode, i.phase, i.type_name, i.ofsted_grade,
           i.ofsted_report_card <> '{{}}'::jsonb AS has_report_card,
           i.ofsted_last_inspection, i.pupils,
           word_similarity(%(name)s, i.search_name) AS similarity
    FROM institutions_institution i
    WHERE {_GROUP_SCHOOLS}
      AND {_MATCHES_SEARCH}
      AND i.phase = ANY (%(phases)s) AND i.ofsted_grade = ANY (%(grades)s)
    ORDER BY similarity DESC, lower(i.name), i.id
    LIMIT %(limit)s
)
SELECT page.urn, page.name, page.town, page.postcode, page.phase, page.type_name,
       page.ofsted_grade, page.has_report_card, page.ofsted_last_inspection, page.pupils,
       ARRAY(
           SELECT c.name
           FROM institutions_clustermembership cm
           JOIN institutions_cluster c ON c.id = cm.cluster_id
           WHERE cm.group_id = %(group)s AND cm.school_id = page.id AND c.group_id = %(group)s
           ORDER BY lower(c.name), c.id
       ) AS clusters
FROM page
ORDER BY page.similarity DESC, lower(page.name), page.id
"""  # noqa: S608 (composed of this module's constants)

# The total and every facet in one statement: each school of the group once, with whether
# it passes the search and each filter; a facet counts the schools passing all but itself.
FACETS_SQL = f"""
WITH s AS MATERIALIZED (
    SELECT i.id, i.phase, i.type_name, i.ofsted_grade,
           {_MATCHES_SEARCH} AS by_search,
           i.phase = ANY (%(phases)s) AS by_phase,
           i.ofsted_grade = ANY (%(grades)s) AS by_ofsted
    FROM institutions_institution i
    WHERE {_GROUP_SCHOOLS}
)
SELECT 'total', NULL, NULL, count(*) FILTER (WHERE by_search AND by_phase AND by_ofsted)
FROM s
UNION ALL
SELECT 'phase', phase, NULL, count(*) FILTER (WHERE by_search AND by_ofsted)
FROM s GROUP BY phase
UNION ALL
SELECT 'type', type_name, NULL, count(*) FILTER (WHERE by_search AND by_phase AND by_ofsted)
FROM s GROUP BY type_name
UNION ALL
SELECT 'ofsted', ofsted_grade, NULL, count(*) FILTER (WHERE by_search AND by_phase)
FROM s GROUP BY ofsted_grade
UNION ALL
SELECT 'cluster', c.id::text, c.name,
       count(s.id) FILTER (WHERE by_search AND by_phase AND by_ofsted)
FROM institutions_cluster c
LEFT JOIN institutions_clustermembership cm ON cm.cluster_id = c.id
LEFT JOIN s ON s.id = cm.school_id
WHERE c.group_id = %(group)s
GROUP BY c.id, c.name
"""  # noqa: S608 (composed of this module's constants)


def floor_parameters(group_id: int) -> dict:
    from institutions.models import CURRENT_STATUSES
    from institutions.selectors import NAME_SIMILARITY_MIN, normalise_name_query

    name = normalise_name_query(SEARCH)
    return {
        "group": group_id,
        "statuses": [str(status) for status in CURRENT_STATUSES],
        "text": " ".join(SEARCH.split()),
        "name": name,
        "threshold": NAME_SIMILARITY_MIN,
        "contains": f"%{name}%",
        "phases": list(PHASES),
        "grades": list(GRADES),
        "limit": PAGE_SIZE,
    }


@dataclass
class PageData:
    """What the page shows, however it was fetched."""

    rows: list[tuple[str, list[str]]]  # (URN, cluster names) in order
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


def fetch_floor(cursor, parameters: dict) -> PageData:
    """The page's data through raw psycopg: two statements."""
    rows = cursor.execute(ROWS_SQL, parameters).fetchall()
    facets: dict[str, dict[str, int]] = {"phase": {}, "type": {}, "ofsted": {}, "cluster": {}}
    total = 0
    for facet, key, _name, count in cursor.execute(FACETS_SQL, parameters).fetchall():
        if facet == "total":
            total = count
        else:
            facets[facet][key] = count
    return PageData(rows=[(row[0], list(row[-1])) for row in rows], total=total, facets=facets)


# --- The ORM: the selectors the view uses ------------------------------------------------------


def selector_filters() -> dict:
    return {"search": SEARCH, "phases": PHASES, "ofsted": GRADES}


def orm_rows(group) -> list:
    """The page's 50 rows as the view reads them: the one pass over the group's schools
    (``group_school_browse``), then the first page's institutions with their clusters."""
    from institutions.selectors import RELEVANCE, SchoolFilters, group_school_browse

    browse = group_school_browse(group=group, search=SEARCH, sort=RELEVANCE)
    matching = browse.matching(SchoolFilters(**selector_filters()))
    return browse.page_schools(matching[:PAGE_SIZE])


def orm_page_data(group) -> PageData:
    """Everything the view reads, through the same selectors, without forms or templates:
    the one pass (clusters, then the group's schools), the total, facets and type list
    counted from it, the first page's rows."""
    from institutions.selectors import (
        OFSTED_NONE,
        RELEVANCE,
        SchoolFilters,
        group_school_browse,
    )

    filters = SchoolFilters(**selector_filters())
    browse = group_school_browse(group=group, search=SEARCH, sort=RELEVANCE)
    browse.type_names  # noqa: B018 - the form's choices, as the view asks for them
    matching = browse.matching(filters)
    rows = browse.page_schools(matching[:PAGE_SIZE])
    facets = browse.facets(filters)
    blank = {"ofsted": OFSTED_NONE}
    return PageData(
        rows=[(school.urn, [c.name for c in school.group_clusters]) for school in rows],
        total=len(matching),
        facets={
            name: {
                ("" if option.value == blank.get(name) else option.value): option.count
                for option in options
            }
            for name, options in facets.items()
        },
    )


def check_same_data(floor: PageData, orm: PageData) -> None:
    """The floor fetches exactly what the page shows, or the ratio means nothing."""
    if floor.rows != orm.rows:
        raise AssertionError(f"The raw SQL's rows differ from the selector's: {floor.rows[:3]}…")
    if floor.total != orm.total:
        raise AssertionError(f"Raw SQL counts {floor.total} schools, the selector {orm.total}.")
    for name, options in orm.facets.items():
        for value, count in options.items():
            if floor.facets[name].get(value, 0) != count:
                raise AssertionError(
                    f"Facet {name} {value!r}: raw SQL {floor.facets[name].get(value)}, "
                    f"selector {count}."
                )


# --- The data: the group, its clusters, a staff member ----------------------------------------


@dataclass
class Site:
    group: object  # Institution
    user: object  # User
    schools: int

    def client(self, **headers):
        from django.conf import settings
        from django.test import Client

        client = Client(HTTP_HOST=f"{self.group.slug}.{settings.BASE_DOMAIN}", **headers)
        client.force_login(self.user)
        return client


def prepare_site(bench: Bench, *, kind: str, code: str, clusters: tuple[str, ...]) -> Site:
    """The group ``code`` of the imported register, with ``clusters`` and the bench's staff
    member. Idempotent: what is already there is kept (an import empties it all)."""
    from accounts.models import StaffProfile, User
    from institutions.models import Cluster, ClusterMembership, Institution
    from institutions.selectors import current_schools

    group = Institution.objects.get(kind=kind, group_code=code)
    user, _ = User.objects.get_or_create(email=USER_EMAIL, defaults={"full_name": "Bench"})
    StaffProfile.objects.get_or_create(site=group, user=user, defaults={"is_active": True})
    school_ids = list(current_schools(group=group).order_by("urn").values_list("pk", flat=True))

    wanted = set()
    for position, school_id in enumerate(school_ids):
        # Clusters of about 60 of 600 schools; a third of the schools in none, a few in two.
        slot = position % (len(clusters) + len(clusters) // 2 or 1)
        if slot < len(clusters):
            wanted.add((clusters[slot], school_id))
        if position % 30 == 0 and len(clusters) > 1:
            wanted.add((clusters[(position // 30) % (len(clusters) - 1) + 1], school_id))
    if len(school_ids) <= 10:  # a small trust: its first three schools in every cluster
        wanted = {(name, school_id) for name in clusters for school_id in school_ids[:3]}
    present = set(
        ClusterMembership.objects.filter(group=group).values_list("cluster__name", "school_id")
    )
    clusters_present = set(Cluster.objects.filter(group=group).values_list("name", flat=True))
    if present != wanted or clusters_present != set(clusters):
        bench.progress(f"building {len(clusters)} clusters for {group.name}")
        Cluster.objects.filter(group=group).delete()
        made = {name: Cluster.objects.create(group=group, name=name) for name in clusters}
        ClusterMembership.objects.bulk_create(
            ClusterMembership(group=group, cluster=made[name], school_id=school_id)
            for name, school_id in sorted(wanted)
        )
        with bench.connection().cursor() as cursor:
            cursor.execute("VACUUM ANALYZE institutions_cluster")
            cursor.execute("VACUUM ANALYZE institutions_clustermembership")
    return Site(group=group, user=user, schools=len(school_ids))


# --- Measuring ------------------------------------------------------------------------------


def side_by_side(actions: dict[str, Callable[[], object]], *, repeat: int) -> dict[str, Timing]:
    """Wall time of each action, ``repeat`` times, the actions taking turns (one warm-up
    run each first): the machine's load drifts, and every layer should see the same."""
    for action in actions.values():
        action()
    names = list(actions)
    runs: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(repeat):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            gc.collect()
            start = time.perf_counter()
            actions[name]()
            runs[name].append(time.perf_counter() - start)
    return {name: median_of(seconds) for name, seconds in runs.items()}


@dataclass
class Recorder:
    """The statements requests ran, and the wall time each request spent in
    ``cursor.execute`` (round trips and Postgres included)."""

    statements: list[tuple[str, object]] = field(default_factory=list)
    per_request: list[float] = field(default_factory=list)

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.per_request[-1] += time.perf_counter() - start
            self.statements.append((sql, params))

    def request(self, action: Callable[[], object]) -> Callable[[], object]:
        """``action``, recording its statements and database time."""
        from django.db import connection

        def recorded():
            self.per_request.append(0.0)
            self.statements.clear()
            with connection.execute_wrapper(self):
                return action()

        return recorded


def get_page(client, url: str = URL, query: dict | None = None):
    response = client.get(url, QUERY if query is None else query)
    if response.status_code != 200:
        raise AssertionError(f"GET {url} answered {response.status_code}, not 200.")
    return response


def count_queries(client) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    get_page(client)  # warm: the session's two-factor recheck settles
    with CaptureQueriesContext(connection) as queries:
        get_page(client)
    return len(queries)


def explain(cursor, sql: str, params) -> tuple[float, str]:
    """Median milliseconds Postgres spends executing ``sql`` (``EXPLAIN ANALYZE``), and
    its plan's nodes."""
    runs, nodes = [], ""
    for _ in range(EXPLAIN_RUNS):
        cursor.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + sql, params)
        (plan,) = cursor.fetchone()
        if isinstance(plan, str):
            plan = json.loads(plan)
        runs.append(plan[0]["Execution Time"])
        nodes = _nodes(plan[0]["Plan"])
    return statistics.median(runs), nodes


def _nodes(node: dict) -> str:
    name = node["Node Type"]
    if "Relation Name" in node:
        name += f" on {node['Relation Name']}"
    if "Index Name" in node:
        name += f" using {node['Index Name']}"
    children = [_nodes(child) for child in node.get("Plans", ())]
    return name + (f" ({', '.join(children)})" if children else "")


def explain_statements(statements: list[tuple[str, object]]) -> list[tuple[float, str, str]]:
    """Postgres' execution time, statement and plan of each read a request ran, through
    Django's own cursor."""
    from django.db import connection

    timed = []
    with connection.cursor() as cursor:
        for sql, params in statements:
            # Reads only: a SELECT, or a WITH of SELECTs (Browse's one pass).
            text = sql.lstrip().upper()
            if text.startswith("SELECT") or (
                text.startswith("WITH")
                and not any(w in text for w in ("INSERT", "UPDATE", "DELETE"))
            ):
                ms, nodes = explain(cursor, sql, params)
                timed.append((ms, sql, nodes))
    return timed


def _summary(sql: str) -> str:
    """A statement in a few words: the table it reads, and its shape."""
    text = " ".join(sql.split())
    if text.startswith("WITH"):
        return "one pass over the group's schools"
    depth, split = 0, len(text)
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and text.startswith(" FROM ", i):
            split = i
            break
    select, rest = text[:split], text[split + 6 :]
    table = rest.split(" ", 1)[0].strip('"').removeprefix("institutions_")
    aliases = re.findall(r' AS "(\w+)"', select)
    first = re.match(r'SELECT (?:DISTINCT )?"\w+"\."(\w+)"', select)
    if select.startswith("SELECT COUNT(*)"):
        shape = "count"
    elif "_prefetch_related_val" in select:
        shape = "prefetch"
    elif select.startswith("SELECT DISTINCT"):
        shape = f"distinct {first.group(1) if first else ''}"
    elif " GROUP BY " in rest and aliases:
        shape = f"{aliases[-1]} by {first.group(1) if first else '?'}"
    else:
        limit = re.search(r" LIMIT (\d+)$", rest)
        shape = f"rows{' limit ' + limit.group(1) if limit else ''}"
    return f"{table} {shape}"


def _seconds(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


# --- The scenario ---------------------------------------------------------------------------------


@scenario(
    "browse",
    goals={"browse_view_vs_raw_sql": "<= 4", "browse_queries_600_vs_5": "= 1.0"},
)
def browse_institutions(bench: Bench) -> None:
    """Browse Institutions, 50 rows, search + 2 filters, group of 600 among 50k."""
    try:
        from portal.views import BrowseView  # noqa: F401
    except ImportError:
        bench.skip("the Browse page is not there yet")
    bench.ensure_register_imported(bench.register_file())
    from django.db import connection

    plan = bench.register_plan()
    largest, small = plan.largest_local_authority(), plan.trust_of_size(5)
    site = prepare_site(bench, kind="la", code=largest.code, clusters=CLUSTER_NAMES)
    trust = prepare_site(bench, kind="trust", code=small.code, clusters=SMALL_CLUSTER_NAMES)
    if site.schools != largest.current_schools:
        raise AssertionError(
            f"{site.group.name} has {site.schools} current schools, the plan says "
            f"{largest.current_schools}."
        )
    group = site.group
    parameters = floor_parameters(group.pk)
    raw = bench.connection().cursor()
    client = site.client()
    fragment_client = site.client(HTTP_HX_REQUEST="true")
    in_view = Recorder()
    try:
        # The floor fetches what the page shows: the same rows, total and facet counts.
        floor_data = fetch_floor(raw, parameters)
        check_same_data(floor_data, orm_page_data(group))
        bench.progress(f"timing the layers, {REPEAT} times each, taking turns")
        timings = side_by_side(
            {
                "raw": lambda: fetch_floor(raw, parameters),
                "orm_rows": lambda: orm_rows(group),
                "orm_data": lambda: orm_page_data(group),
                "healthz": lambda: get_page(client, "/healthz", {}),
                "view": in_view.request(lambda: get_page(client)),
                "fragment": lambda: get_page(fragment_client),
            },
            repeat=REPEAT,
        )
        floor_pg = [explain(raw, sql, parameters)[0] for sql in (ROWS_SQL, FACETS_SQL)]
    finally:
        raw.close()
    statements = list(in_view.statements)
    view_pg = sorted(explain_statements(statements), key=lambda t: t[0], reverse=True)
    view_pg_total = sum(ms for ms, _, _ in view_pg)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('random_page_cost')")
        (random_page_cost,) = cursor.fetchone()

    floor, page = timings["raw"], timings["view"]
    view_db = median_of(in_view.per_request[1:])  # the warm-up request left out
    bench.goal(
        "browse_view_vs_raw_sql",
        page.median / floor.median,
        detail=(
            f"{group.name}: {site.schools} current schools among {plan.establishments:,}; "
            f"GET {URL}?q={SEARCH}&phase={'&phase='.join(PHASES)}"
            f"&ofsted={'&ofsted='.join(GRADES)}: {floor_data.total} schools, first "
            f"{len(floor_data.rows)} shown, {len(CLUSTER_NAMES)} clusters\n"
            f"full view {page} (test client in process), raw SQL of its data {floor} "
            "(psycopg, 2 statements: the rows with their clusters; the total and facets)"
        ),
    )
    slowest = view_pg[0] if view_pg else (0.0, "", "")
    bench.info(
        "browse_postgres_time",
        f"{sum(floor_pg):.1f} ms",
        detail=(
            f"the floor's statements (EXPLAIN ANALYZE, TIMING OFF, median of {EXPLAIN_RUNS}): "
            f"rows {floor_pg[0]:.1f} ms, total and facets {floor_pg[1]:.1f} ms\n"
            f"the view's {len(view_pg)} reads: {view_pg_total:.1f} ms "
            f"(random_page_cost {random_page_cost}): "
            + ", ".join(f"{_summary(sql)} {ms:.1f}" for ms, sql, _ in view_pg)
            + f"\nslowest plan: {slowest[2]}"
        ),
    )
    bench.info(
        "browse_raw_sql",
        str(floor),
        detail="psycopg round trips of the floor's 2 statements (prepared after 5 runs)",
    )
    orm_rows_t, orm_data_t = timings["orm_rows"], timings["orm_data"]
    bench.info(
        "browse_orm",
        str(orm_rows_t),
        detail=(
            f"the one pass and the page's 50 rows with their clusters: "
            f"{orm_rows_t.median / floor.median:.2f}x raw SQL\n"
            f"all the page's data through the selectors (the pass, then total, types, "
            f"facets and the page counted from it): {orm_data_t} = "
            f"{orm_data_t.median / floor.median:.2f}x raw SQL"
        ),
    )
    bench.info(
        "browse_minimal_view",
        str(timings["healthz"]),
        detail="GET /healthz on the group's host: the middleware and SELECT 1",
    )
    bench.info(
        "browse_full_view",
        str(page),
        detail=(
            f"{len(statements)} queries; per request {_seconds(view_db.median)} in "
            f"cursor.execute (Postgres executing {view_pg_total:.1f} ms of it), "
            f"{_seconds(page.median - view_db.median)} in Python (forms, ORM, templates, "
            f"middleware)\nhtmx fragment (HX-Request): {timings['fragment']}"
        ),
    )

    # Queries: the same page for the group of 600 and a trust of 5.
    many = count_queries(site.client())
    few = count_queries(trust.client())
    many_fragment = count_queries(site.client(HTTP_HX_REQUEST="true"))
    few_fragment = count_queries(trust.client(HTTP_HX_REQUEST="true"))
    bench.goal(
        "browse_queries_600_vs_5",
        many / few,
        unit="",
        detail=(
            f"{site.schools} schools ({group.name}): {many} queries; {trust.schools} schools "
            f"({trust.group.name}): {few} (same query string, CaptureQueriesContext after a "
            f"warm-up request)\nhtmx fragment: {many_fragment} and {few_fragment}"
        ),
    )
