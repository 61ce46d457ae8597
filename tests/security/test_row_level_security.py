"""Row-Level Security on the personal-data tables, tried rather than read.

The application works as the app role (``matmis.db_roles``), which owns nothing and cannot
bypass Row-Level Security; each request to a site's host, and each task that touches a
school's records, binds its transaction to that site (``matmis.tenancy.site_scope``); a
query with no site bound sees no rows at all.
"""

import datetime

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from matmis.celery import app
from matmis.db_roles import app_role
from matmis.personal_data import POLICY_NAME, personal_data_tables
from matmis.tasks import SiteTask
from matmis.tenancy import SiteMiddleware, site_scope
from mis.models import AttendanceMark, AttendanceRollup, Exclusion, Pupil
from mis.rollups import rollups_refresh_school
from tests.factories import TrustFactory
from tests.institutions.factories import SchoolFactory, add_school
from tests.mis.factories import PupilFactory, in_site, mark_days, school_days, suspend

pytestmark = pytest.mark.django_db

WEEK = school_days(datetime.date(2026, 11, 16), datetime.date(2026, 11, 20))


def _one(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


@pytest.fixture
def two_schools():
    a, b = SchoolFactory(), SchoolFactory()
    pa, pb = PupilFactory(site=a), PupilFactory(site=b)
    mark_days(pa, WEEK, ["/", "\\"] * 5)
    mark_days(pb, WEEK, ["O", "O"] * 5)
    suspend(pb, datetime.date(2026, 10, 1))
    return a, b, pa, pb


# --- The role -------------------------------------------------------------------------------


def test_the_application_works_as_a_role_that_cannot_bypass_row_level_security():
    role = app_role()
    assert role, "DATABASE_APP_ROLE must be set for the suite to prove Row-Level Security"
    current, superuser, bypass = _one(
        "SELECT current_user, r.rolsuper, r.rolbypassrls FROM pg_roles r "
        "WHERE r.rolname = current_user"
    )
    assert current == role
    assert superuser is False
    assert bypass is False


def test_every_personal_data_table_has_an_enabled_and_forced_policy_and_another_owner():
    tables = personal_data_tables()
    assert {"mis_pupil", "mis_attendancemark", "mis_exclusion"} <= set(tables)
    for table in tables:
        enabled, forced, owner = _one(
            "SELECT relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner) "
            "FROM pg_class WHERE oid = %s::regclass",
            [table],
        )
        assert enabled, f"{table}: Row-Level Security is not enabled"
        assert forced, f"{table}: Row-Level Security is not forced"
        assert owner != app_role(), f"{table} is owned by the application's role"
        policies = _one(
            "SELECT count(*) FROM pg_policies WHERE tablename = %s AND policyname = %s",
            [table, POLICY_NAME],
        )[0]
        assert policies == 1, f"{table} has no {POLICY_NAME} policy"
        columns = _one(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = %s AND column_name = 'site_id'",
            [table],
        )[0]
        assert columns == 1, f"{table} has no site_id to bind its rows to a site"


def test_a_model_pointing_at_a_pupil_is_found_as_personal_data():
    # Exclusion is not declared anywhere: it is found through its foreign key to Pupil.
    assert Exclusion._meta.db_table in personal_data_tables()
    assert AttendanceMark._meta.db_table in personal_data_tables()


# --- The scope ------------------------------------------------------------------------------


def test_no_site_bound_no_rows(two_schools):
    assert Pupil.objects.count() == 0
    assert AttendanceMark.objects.count() == 0
    assert Exclusion.objects.count() == 0
    # Not even through raw SQL.
    assert _one("SELECT count(*) FROM mis_pupil")[0] == 0


def test_a_bound_site_sees_its_own_rows_and_no_others(two_schools):
    a, b, pa, pb = two_schools
    with in_site(a):
        assert list(Pupil.objects.values_list("pk", flat=True)) == [pa.pk]
        assert AttendanceMark.objects.count() == 10
        assert set(AttendanceMark.objects.values_list("code", flat=True)) == {"/", "\\"}
        assert Exclusion.objects.count() == 0
        assert not Pupil.objects.filter(pk=pb.pk).exists()  # guessing the id is no use
    with in_site(b):
        assert list(Pupil.objects.values_list("pk", flat=True)) == [pb.pk]
        assert Exclusion.objects.count() == 1


def test_writing_another_sites_rows_is_refused(two_schools):
    a, b, _pa, pb = two_schools
    with pytest.raises(DatabaseError, match="row-level security"), in_site(a):
        Pupil.objects.create(
            site=b,
            upn="H801200001001",
            legal_first_name="Intruder",
            legal_last_name="Row",
            date_of_birth=datetime.date(2015, 1, 1),
            year_group=5,
            enrolled_on=datetime.date(2025, 9, 1),
        )
    with in_site(a):
        # Updates and deletes of B's rows touch nothing.
        assert Pupil.objects.filter(pk=pb.pk).update(legal_last_name="Changed") == 0
        assert AttendanceMark.objects.filter(pupil_id=pb.pk).delete()[0] == 0
    with in_site(b):
        assert Pupil.objects.get(pk=pb.pk).legal_last_name != "Changed"
        assert AttendanceMark.objects.count() == 10


def test_site_scope_needs_a_transaction_and_restores_the_previous_site(two_schools):
    a, b, pa, pb = two_schools
    if not connection.in_atomic_block:  # pragma: no cover - tests run in one
        with pytest.raises(RuntimeError), site_scope(a.pk):
            pass
    with transaction.atomic(), site_scope(a.pk):
        with site_scope(b.pk):
            assert list(Pupil.objects.values_list("pk", flat=True)) == [pb.pk]
        assert list(Pupil.objects.values_list("pk", flat=True)) == [pa.pk]
    assert Pupil.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_binding_ends_with_its_transaction_and_never_sticks_to_the_connection():
    school = SchoolFactory()
    pupil = PupilFactory(site=school)
    # In autocommit the binding would end with its statement: refused, never session-wide.
    with pytest.raises(RuntimeError), site_scope(school.pk):
        pass
    with transaction.atomic(), site_scope(school.pk):
        assert Pupil.objects.filter(pk=pupil.pk).exists()
    # The same connection, the next transaction: nothing bound, nothing visible.
    assert _one("SELECT current_setting(%s, true)", [settings_site()])[0] in (None, "")
    assert Pupil.objects.count() == 0
    with transaction.atomic():
        assert Pupil.objects.count() == 0


def settings_site():
    from matmis.tenancy import SITE_SETTING

    return SITE_SETTING


# --- Requests and tasks ---------------------------------------------------------------------


def _pupils_seen_by_a_request_to(site) -> list[int]:
    seen = []

    def view(request):
        from django.http import HttpResponse

        seen.extend(Pupil.objects.values_list("pk", flat=True))
        return HttpResponse("ok")

    host = site.host if site is not None else settings.BASE_DOMAIN
    request = RequestFactory().get("/", HTTP_HOST=host)
    from django.contrib.sessions.backends.db import SessionStore

    request.session = SessionStore()
    SiteMiddleware(view)(request)
    return seen


def test_a_request_sees_only_its_own_sites_records(two_schools):
    a, b, pa, pb = two_schools
    trust = TrustFactory()
    add_school(trust)
    assert _pupils_seen_by_a_request_to(a) == [pa.pk]
    assert _pupils_seen_by_a_request_to(b) == [pb.pk]
    # A group's own host sees no pupil of any school, its members' included.
    assert _pupils_seen_by_a_request_to(trust) == []
    # Nor does the platform's bare domain.
    assert _pupils_seen_by_a_request_to(None) == []


def test_the_rollup_task_binds_each_school_in_turn(two_schools):
    a, b, _pa, _pb = two_schools
    today = datetime.date(2026, 11, 25)
    rollups_refresh_school(school_id=a.pk, today=today)
    rollups_refresh_school(school_id=b.pk, today=today)
    a_cells = AttendanceRollup.objects.filter(school=a).values_list(
        "possible_sessions", "unauthorised_sessions", "suspensions"
    )
    b_cells = AttendanceRollup.objects.filter(school=b).values_list(
        "possible_sessions", "unauthorised_sessions", "suspensions"
    )
    assert list(a_cells) == [(10, 0, 0)]
    assert list(b_cells) == [(10, 10, 1)]


@app.task(base=SiteTask, name="tests.pupils_seen_by_a_site_task")
def pupils_seen_by_a_site_task(*, site_id: int) -> dict:
    return {
        "site_id": site_id,
        "pupils": list(Pupil.objects.order_by("pk").values_list("pk", flat=True)),
        "marks": sorted(set(AttendanceMark.objects.values_list("code", flat=True))),
        "in_transaction": connection.in_atomic_block,
    }


def test_a_site_task_sees_only_its_own_sites_records(two_schools):
    a, b, pa, pb = two_schools
    seen_by_a = pupils_seen_by_a_site_task.apply(kwargs={"site_id": a.pk}).get()
    assert seen_by_a == {
        "site_id": a.pk,
        "pupils": [pa.pk],
        "marks": ["/", "\\"],
        "in_transaction": True,
    }
    seen_by_b = pupils_seen_by_a_site_task.apply(kwargs={"site_id": b.pk}).get()
    assert (seen_by_b["pupils"], seen_by_b["marks"]) == ([pb.pk], ["O"])
    # A group's site sees no pupil of its schools.
    trust = TrustFactory()
    add_school(trust)
    assert pupils_seen_by_a_site_task.apply(kwargs={"site_id": trust.pk}).get()["pupils"] == []
    assert Pupil.objects.count() == 0  # the binding went with the task


def test_a_site_task_needs_its_site():
    with pytest.raises(TypeError, match="site_id"):
        pupils_seen_by_a_site_task.apply(kwargs={}).get()


@pytest.mark.django_db(transaction=True)
def test_a_site_tasks_binding_ends_with_its_transaction():
    school = SchoolFactory()
    pupil = PupilFactory(site=school)
    # As in a worker: no transaction around the task; its own is the outermost.
    assert not connection.in_atomic_block
    seen = pupils_seen_by_a_site_task.apply(kwargs={"site_id": school.pk}).get()
    assert seen["pupils"] == [pupil.pk]
    assert _one("SELECT current_setting(%s, true)", [settings_site()])[0] in (None, "")
    assert Pupil.objects.count() == 0


def test_database_app_role_setting_is_the_one_in_use():
    assert app_role() == settings.DATABASE_APP_ROLE


@pytest.mark.django_db(transaction=True)
def test_a_requests_binding_ends_with_the_request():
    school = SchoolFactory()
    pupil = PupilFactory(site=school)
    # Outside any transaction, as under a real server: the middleware's transaction is the
    # outermost, and the binding goes with its commit.
    assert not connection.in_atomic_block
    assert _pupils_seen_by_a_request_to(school) == [pupil.pk]
    assert _one("SELECT current_setting(%s, true)", [settings_site()])[0] in (None, "")
    assert Pupil.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_new_server_without_the_app_role_gets_it_on_first_connection(settings):
    from django.db import DEFAULT_DB_ALIAS, connections

    from matmis.db_roles import owner_role

    usual = settings.DATABASE_APP_ROLE
    settings.DATABASE_APP_ROLE = "matmis_app_new_server"
    fresh = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with fresh.cursor() as cursor:
            cursor.execute(
                "SELECT current_user, rolbypassrls FROM pg_roles WHERE rolname = current_user"
            )
            assert cursor.fetchone() == ("matmis_app_new_server", False)
    finally:
        fresh.close()
        settings.DATABASE_APP_ROLE = usual  # the test's own connection goes back to it
        with owner_role(), connection.cursor() as cursor:
            cursor.execute("DROP ROLE IF EXISTS matmis_app_new_server")
