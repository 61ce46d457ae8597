"""The group dashboard (Analytics) over 300 schools with a term of attendance each.

Data (built once, kept in the bench database): the register's local authority nearest 300
current schools; each school with 300 pupils and their marks from the start of the autumn
term to ``TODAY`` (about 120 sessions each: some ten million marks in all) and their
suspensions, made by ``bench.mis``; published figures for two years from ``bench.published``
through the importer; an agreement at level 2 with every school; the roll-ups refreshed.

Measured side by side, the layers taking turns (PERFORMANCE.md):

1. the floor: the figures the page shows (each school's register facts, level, published
   figures of the latest year, the sums of its roll-up cells and when they were refreshed,
   and England's figures), fetched by hand-written SQL through raw psycopg;
2. the selector (``analytics.selectors.group_dashboard``): the same figures as Python rows;
3. the full page, ``GET /analytics/`` through the test client, in process.

The goal is 3 / 1. Then: the page's queries for this group against a trust of 5 schools;
what Row-Level Security costs (refreshing 30 schools' roll-ups, and the Students page of
one school, as the application's role against the tables' owner, who bypasses it); and the
whole refresh of the 300 schools.
"""

import datetime
import io
import time

from bench.harness import Bench, median_of, scenario

from .browse import side_by_side

TODAY = datetime.date(2026, 12, 4)  # a Friday late in the autumn term
PUPILS = 300
SCHOOLS = 300
SEED = 7
REPEAT = 9
STATE_KEY = "dashboard_mis"
USER_EMAIL = "bench-dashboard@example.test"
FLOOR_SQL = """
WITH schools AS (
    SELECT i.id, i.urn, i.name, i.phase, i.pupils, i.percentage_fsm
    FROM institutions_institution i
    WHERE i.id = ANY (ARRAY(
        SELECT m.school_id FROM institutions_groupmembership m
        WHERE m.group_id = %(group)s AND m.left_on IS NULL))
      AND i.status = ANY (%(statuses)s)
), latest AS (
    SELECT max(p.time_period) AS time_period FROM analytics_publishedfigures p
    WHERE p.school_id IN (SELECT id FROM schools)
)
SELECT s.id, s.urn, s.name, s.phase, s.pupils, s.percentage_fsm, coalesce(a.level, 0),
       p.time_period, p.sessions_possible, p.sessions_overall_absence, p.enrolments,
       p.persistent_absentees, p.headcount, p.suspensions, p.overall_absence_rate,
       p.persistent_absence_rate, p.suspension_rate,
       r.pupils_on_roll, r.pupils_with_sessions, r.possible, r.present, r.authorised,
       r.unauthorised, r.persistent, r.suspensions, r.permanent,
       st.refreshed_at, st.refreshed_for
FROM schools s
LEFT JOIN sharing_agreement a
    ON a.group_id = %(group)s AND a.school_id = s.id AND a.ended_at IS NULL
LEFT JOIN analytics_publishedfigures p
       ON p.school_id = s.id AND p.time_period = (SELECT time_period FROM latest)
LEFT JOIN LATERAL (
    SELECT sum(c.pupils_on_roll) AS pupils_on_roll,
           sum(c.pupils_with_sessions) AS pupils_with_sessions,
           sum(c.possible_sessions) AS possible, sum(c.present_sessions) AS present,
           sum(c.authorised_sessions) AS authorised,
           sum(c.unauthorised_sessions) AS unauthorised,
           sum(c.persistent_absentees) AS persistent, sum(c.suspensions) AS suspensions,
           sum(c.permanent_exclusions) AS permanent
    FROM mis_attendancerollup c WHERE c.school_id = s.id
) r ON true
LEFT JOIN mis_rollupstate st ON st.school_id = s.id
ORDER BY lower(s.name), s.id
"""
NATIONAL_SQL = """
SELECT p.* FROM analytics_publishedfigures p
WHERE p.school_id IS NULL AND p.time_period = (
    SELECT max(q.time_period) FROM analytics_publishedfigures q
    WHERE q.school_id = ANY (%(schools)s))
"""


def _grant(site, user, code: str) -> None:
    """``user`` on ``site``'s staff with a role granting ``code`` at View (kept once made):
    the pages measured need their permission (Analytics at the group, Students at a school)."""
    from accounts.models import BusinessRole, RoleAssignment, RoleGrant, StaffProfile
    from accounts.permissions import Access

    profile, _ = StaffProfile.objects.get_or_create(site=site, user=user)
    role, _ = BusinessRole.objects.get_or_create(site=site, name="Bench reader")
    RoleGrant.objects.get_or_create(
        site=site, role=role, code=code, in_school=False, defaults={"access": int(Access.VIEW)}
    )
    RoleAssignment.objects.get_or_create(site=site, profile=profile, role=role)


def _prepare(bench: Bench):
    """The group, its schools with MIS records, published figures, agreements, roll-ups."""
    from django.utils import timezone

    from accounts.models import User
    from accounts.permissions import ANALYTICS
    from analytics.published_import import published_figures_import
    from bench.mis import generate_group_mis
    from bench.published import absence_csv, academic_years, suspensions_csv
    from institutions.models import Institution
    from institutions.selectors import current_schools
    from matmis.db_roles import owner_role
    from mis.rollups import rollups_refresh_due
    from sharing.models import Agreement

    bench.ensure_register_imported(bench.register_file())
    plan_group = bench.register_plan().local_authority_of_size(SCHOOLS)
    group = Institution.objects.get(kind="la", group_code=plan_group.code)
    schools = list(current_schools(group=group).order_by("urn"))
    user, _ = User.objects.get_or_create(email=USER_EMAIL, defaults={"full_name": "Bench"})
    _grant(group, user, ANALYTICS)
    marker = f"{group.group_code}:{len(schools)}:{PUPILS}:{TODAY}:{SEED}"
    if bench.state(STATE_KEY) != marker:
        started = time.perf_counter()
        bench.progress(
            f"generating MIS records: {len(schools)} schools x {PUPILS} pupils to {TODAY}"
        )
        made = generate_group_mis(
            schools, today=TODAY, seed=SEED, pupils_per_school=PUPILS, workers=2
        )
        bench.progress(f"  {made} in {time.perf_counter() - started:.0f} s")
        entries = [(s.urn, s.pupils, s.phase) for s in schools]
        years = academic_years("202526", 2)
        for text in (absence_csv(entries, years=years), suspensions_csv(entries, years=years)):
            published_figures_import(stream=io.BytesIO(text.encode()))
        with owner_role():  # the application's role never deletes an agreement
            Agreement.objects.filter(group=group).delete()
            Agreement.objects.bulk_create(
                Agreement(group=group, school=s, level=2, approved_at=timezone.now())
                for s in schools
            )
        bench.set_state(STATE_KEY, marker)
    started = time.perf_counter()
    with owner_role():
        refreshed = rollups_refresh_due(today=TODAY)
    if refreshed:
        bench.progress(f"refreshed {refreshed} schools in {time.perf_counter() - started:.1f} s")
    # Generated once, but the roll-ups are rewritten by every run's refreshes.
    bench.vacuum(
        "mis_pupil",
        "mis_attendancemark",
        "mis_exclusion",
        "mis_attendancerollup",
        "mis_rollupstate",
        "sharing_agreement",
    )
    return group, user, schools


def _floor(bench: Bench, group, schools):
    from institutions.models import CURRENT_STATUSES

    params = {"group": group.pk, "statuses": list(CURRENT_STATUSES)}
    school_ids = [s.pk for s in schools]

    def fetch():
        with bench.connection().cursor() as cursor:
            cursor.execute(FLOOR_SQL, params)
            rows = cursor.fetchall()
            cursor.execute(NATIONAL_SQL, {"schools": school_ids})
            national = cursor.fetchall()
        return rows, national

    return fetch


@scenario(
    "dashboard",
    goals={"dashboard_view_vs_raw_sql": "<= 5", "dashboard_queries_300_vs_5": "= 1"},
)
def dashboard(bench: Bench) -> None:
    """Analytics over 300 schools x 300 pupils x a term of marks, against raw SQL."""
    try:
        from analytics.selectors import group_dashboard
        from bench.mis import generate_group_mis  # noqa: F401
    except ImportError as exc:
        bench.skip(f"the dashboard or the MIS generator is not there yet ({exc})")
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.permissions import ANALYTICS, STUDENTS
    from matmis.db_roles import owner_role
    from mis.rollups import rollups_refresh_school

    group, user, schools = _prepare(bench)
    client = Client(HTTP_HOST=f"{group.slug}.{settings.BASE_DOMAIN}")
    client.force_login(user)

    def page():
        response = client.get("/analytics/")
        if response.status_code != 200:
            raise AssertionError(f"/analytics/ answered {response.status_code}")
        return response

    floor = _floor(bench, group, schools)
    rows, _ = floor()
    dashboard_rows = group_dashboard(group=group).rows
    if len(rows) != len(dashboard_rows):
        raise AssertionError(f"raw SQL: {len(rows)} schools, selector {len(dashboard_rows)}")
    floor_possible = sum(row[19] or 0 for row in rows)
    selector_possible = sum(r.live.possible_sessions for r in dashboard_rows if r.live)
    if floor_possible != selector_possible:
        raise AssertionError(
            f"possible sessions: raw {floor_possible}, selector {selector_possible}"
        )
    with bench.connection().cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT site_id) FROM mis_attendancemark "
            "WHERE site_id = ANY (%s)",
            [[s.pk for s in schools]],
        )
        marks, schools_with_marks = cursor.fetchone()
    bench.require(
        schools_with_marks == len(schools) and floor_possible > 0,
        f"{schools_with_marks} of {len(schools)} schools have attendance marks "
        f"({marks:,} marks, {floor_possible:,} possible sessions rolled up)",
    )

    timings = side_by_side(
        {"floor": floor, "selector": lambda: group_dashboard(group=group), "page": page},
        repeat=REPEAT,
    )
    bench.goal(
        "dashboard_view_vs_raw_sql",
        timings["page"].median / timings["floor"].median,
        detail=(
            f"{len(rows)} schools, {marks:,} marks; raw SQL {timings['floor']}, "
            f"selector {timings['selector']}, full page {timings['page']}"
        ),
    )

    # Queries: this group against a trust of 5 (the smallest group with 5 schools).
    from institutions.models import Institution

    small_plan = bench.register_plan().trust_of_size(5)
    small = Institution.objects.get(kind="trust", group_code=small_plan.code)

    _grant(small, user, ANALYTICS)
    small_client = Client(HTTP_HOST=f"{small.slug}.{settings.BASE_DOMAIN}")
    small_client.force_login(user)
    counts = []
    for c in (client, small_client):
        assert c.get("/analytics/").status_code == 200  # warm: the session, the menu
        with CaptureQueriesContext(connection) as captured:
            assert c.get("/analytics/").status_code == 200
        counts.append(len(captured.captured_queries))
    bench.goal(
        "dashboard_queries_300_vs_5",
        counts[0] / counts[1],
        detail=f"{counts[0]} queries for {len(rows)} schools, {counts[1]} for 5",
    )

    # Row-Level Security: the application's role against the owner, who bypasses it.
    sample = [s.pk for s in schools[:30]]

    def refresh_sample():
        for school_id in sample:
            rollups_refresh_school(school_id=school_id, today=TODAY)

    def refresh_sample_as_owner():
        with owner_role():
            refresh_sample()

    school = schools[0]

    _grant(school, user, STUDENTS)
    school_client = Client(HTTP_HOST=f"{school.slug}.{settings.BASE_DOMAIN}")
    school_client.force_login(user)

    def students():
        assert school_client.get("/students/").status_code == 200

    def students_as_owner():
        with owner_role():
            students()

    rls = side_by_side(
        {
            "refresh": refresh_sample,
            "refresh_owner": refresh_sample_as_owner,
            "students": students,
            "students_owner": students_as_owner,
        },
        repeat=5,
    )
    bench.info(
        "rls_cost_rollup_refresh",
        f"{rls['refresh'].median / rls['refresh_owner'].median:.2f}x",
        detail=f"30 schools: with RLS {rls['refresh']}, as the owner {rls['refresh_owner']}",
    )
    bench.info(
        "rls_cost_students_page",
        f"{rls['students'].median / rls['students_owner'].median:.2f}x",
        detail=f"with RLS {rls['students']}, as the owner {rls['students_owner']}",
    )
    started = time.perf_counter()
    for s in schools:
        rollups_refresh_school(school_id=s.pk, today=TODAY)
    whole = median_of([time.perf_counter() - started])
    bench.info(
        "dashboard_rollup_refresh_all",
        str(whole),
        detail=f"{len(schools)} schools, {marks:,} marks, one transaction per school",
    )
