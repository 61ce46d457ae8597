"""The app API's students list (issue 14): 1,000 pupils with two scopes (Students and
Student Characteristics), the full endpoint against raw SQL of the same fields.

Data (made once, kept in the bench database): a school of 1,000 pupils and one of 100, an
app authorised at both for the two scopes, and a live token. Measured side by side:

1. the floor: the same columns of the same 1,000 pupils through raw psycopg, in a
   transaction bound to the school (Row-Level Security, as the endpoint reads);
2. the full call, ``GET /api/apps/v1/schools/<urn>/students/?page_size=1000`` with the
   token, through the test client in process: token check, the grant, the read, the JSON,
   the access log's row.

Then the endpoint's queries at 100 pupils against 1,000 (goal: the same)."""

import datetime

from bench.harness import Bench, scenario

from .browse import side_by_side

REPEAT = 9
SIZES = {"999101": 1000, "999102": 100}
FLOOR_SQL = """
SELECT p.id, p.upn, p.legal_first_name, p.legal_last_name, p.preferred_first_name,
       p.date_of_birth, p.year_group, p.enrolled_on, p.left_on,
       p.fsm_eligible, p.disadvantaged, p.sen_provision
FROM mis_pupil p WHERE p.site_id = %s ORDER BY p.id LIMIT 1000
"""


def _school(urn: str, pupils: int):
    from django.db import transaction

    from institutions.models import Institution, InstitutionKind
    from matmis.tenancy import site_scope
    from mis.codes import upn_check_letter
    from mis.models import Pupil

    school, _ = Institution.objects.get_or_create(
        urn=urn,
        defaults={
            "kind": InstitutionKind.SCHOOL,
            "name": f"Bench App School {urn}",
            "slug": f"bench-app-{urn}",
            "status": "Open",
        },
    )
    with transaction.atomic(), site_scope(school.pk):
        have = Pupil.objects.filter(site=school).count()
        if have < pupils:
            made = []
            for n in range(have, pupils):
                body = f"999{urn[-4:]}{(n // 1000) % 100:02d}{n % 1000:03d}"
                made.append(
                    Pupil(
                        site=school,
                        upn=upn_check_letter(body) + body,
                        legal_first_name=f"Pupil{n}",
                        legal_last_name=f"Bench{n}",
                        date_of_birth=datetime.date(2015, 1, 1) + datetime.timedelta(days=n % 2000),
                        year_group=n % 7,
                        enrolled_on=datetime.date(2022, 9, 1),
                        fsm_eligible=n % 5 == 0,
                        disadvantaged=n % 4 == 0,
                    )
                )
            Pupil.objects.bulk_create(made, batch_size=1000)
    return school


def _prepare(bench: Bench):
    from django.utils import timezone
    from oauth2_provider.models import AccessToken

    from accounts.audit import system_actor
    from thirdparty.models import App, AppAuthorisation, RequestOrigin
    from thirdparty.services import access_request_open, app_register, request_authorise

    schools = {urn: _school(urn, size) for urn, size in SIZES.items()}
    app = App.objects.filter(vendor="Bench", name="Bench Reader").first()
    if app is None:
        app, _ = app_register(
            vendor="Bench",
            name="Bench Reader",
            purpose="Bench",
            website="https://bench.example/",
            privacy_notice_url="https://bench.example/privacy",
            support_email="bench@bench.example",
            required_scopes=["students", "student_characteristics"],
            optional_scopes=[],
            actor=system_actor(),
        )
    for school in schools.values():
        if not AppAuthorisation.objects.filter(app=app, school=school, status="active").exists():
            outcome = access_request_open(app=app, school=school, origin=RequestOrigin.APP)
            request_authorise(
                request=outcome.request,
                required_scopes=list(app.required_scopes),
                optional_scopes=[],
                actor=system_actor(site=school),
            )
    token = "bench-app-token-" + "x" * 24
    AccessToken.objects.filter(application=app.oauth_client).delete()  # a run's own token
    AccessToken.objects.create(
        token=token,
        application=app.oauth_client,
        expires=timezone.now() + datetime.timedelta(hours=1),
        scope="apps",
    )
    with bench.connection().cursor() as cursor:
        cursor.execute("VACUUM ANALYZE mis_pupil")
    return schools, token


@scenario(
    "app_api",
    goals={"app_api_students_vs_raw_sql": "<= 10", "app_api_queries_1000_vs_100": "= 1"},
)
def app_api(bench: Bench) -> None:
    """The app API's students list, 1,000 pupils with two scopes, against raw SQL."""
    try:
        from thirdparty.app_api import StudentListView  # noqa: F401
    except ImportError as exc:
        bench.skip(f"the app API is not there yet ({exc})")
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    schools, token = _prepare(bench)
    big = schools["999101"]
    client = Client(HTTP_HOST=settings.BASE_DOMAIN, HTTP_AUTHORIZATION=f"Bearer {token}")

    def endpoint(school=big):
        response = client.get(f"/api/apps/v1/schools/{school.urn}/students/?page_size=1000")
        if response.status_code != 200:
            raise AssertionError(f"the students list answered {response.status_code}")
        return response

    raw = bench.connection()

    def floor():
        with raw.transaction(), raw.cursor() as cursor:
            cursor.execute("SELECT set_config('matmis.site_id', %s, true)", [str(big.pk)])
            cursor.execute(FLOOR_SQL, [big.pk])
            return cursor.fetchall()

    rows = floor()
    answered = endpoint().json()
    if len(rows) != len(answered["results"]) or len(rows) != SIZES["999101"]:
        raise AssertionError(f"raw SQL {len(rows)} pupils, endpoint {len(answered['results'])}")
    if set(answered["results"][0]) != {
        "id", "upn", "legal_first_name", "legal_last_name", "preferred_first_name",
        "date_of_birth", "year_group", "enrolled_on", "left_on", "fsm_eligible",
        "disadvantaged", "sen_provision",
    }:  # fmt: skip
        raise AssertionError(f"unexpected fields: {sorted(answered['results'][0])}")
    timings = side_by_side({"floor": floor, "endpoint": endpoint}, repeat=REPEAT)
    bench.goal(
        "app_api_students_vs_raw_sql",
        timings["endpoint"].median / timings["floor"].median,
        detail=(
            f"{len(rows):,} pupils, 12 fields of two scopes; raw SQL {timings['floor']}, "
            f"full endpoint {timings['endpoint']}"
        ),
    )
    counts = []
    for urn in ("999102", "999101"):
        endpoint(schools[urn])
        with CaptureQueriesContext(connection) as captured:
            endpoint(schools[urn])
        counts.append(len(captured.captured_queries))
    bench.goal(
        "app_api_queries_1000_vs_100",
        counts[1] / counts[0],
        detail=f"{counts[1]} queries for 1,000 pupils, {counts[0]} for 100",
    )
