"""The record of reads from outside the school (issue 13, item 3): every read of pupil-level
data by someone who logged in from a group site is recorded, once per request, and shown to
the school's administrators beside the audit trail (page, file, API)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.permissions import STUDENTS, USER_DETAILS, Access
from accounts.staff.services import roles_ensure_defaults
from mis.models import OutsideRead, OutsideReadKind
from tests.accounts.factories import staff_admin, staff_viewer
from tests.exports import body as file_body
from tests.factories import grant_permission, pupil_data_staff
from tests.hop import factories as hop_factories
from tests.mis.factories import PupilFactory, in_site, mark_days

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    world = hop_factories.World()
    world.pupils = [
        PupilFactory(site=world.school, legal_last_name=name)
        for name in ("Abbott", "Bristow", "Carver")
    ]
    mark_days(world.pupils[0], [datetime.date(2026, 11, 16)], ["/", "O"])
    world.head = staff_admin(world.school, name="Hattie Head").user
    pupil_data_staff(world.school, user=world.head)
    return world


def reads(school) -> list[OutsideRead]:
    with in_site(school):
        return list(OutsideRead.objects.filter(site=school).order_by("id"))


# --- What is recorded -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "what", "api"),
    [
        ("/students/", OutsideReadKind.STUDENTS, False),
        ("/students/?q=Abb&year=3", OutsideReadKind.STUDENTS, False),
        ("/students/export.csv", OutsideReadKind.STUDENTS_EXPORT, False),
        ("/students/export.xlsx", OutsideReadKind.STUDENTS_EXPORT, False),
        ("/api/v1/pupils/", OutsideReadKind.STUDENTS, True),
        ("/api/v1/pupils/export/?format=csv", OutsideReadKind.STUDENTS_EXPORT, True),
    ],
)
def test_one_record_per_request_however_many_pupils(world, path, what, api):
    client = world.hop_in()
    response = client.get(path)
    assert response.status_code == 200
    if response.streaming:
        file_body(response)
    [read] = reads(world.school)
    assert (read.reader, read.from_group, read.site, read.what, read.api) == (
        world.user,
        world.trust,
        world.school,
        what,
        api,
    )
    assert read.pupil_id is None
    assert read.path == path


def test_a_pupils_record_names_the_pupil(world):
    client = world.hop_in()
    pupil = world.pupils[1]
    assert client.get(f"/students/{pupil.pk}/").status_code == 200
    assert client.get(f"/api/v1/pupils/{pupil.pk}/").status_code == 200
    page, api = reads(world.school)
    assert (page.what, page.pupil_id, page.api) == (OutsideReadKind.PUPIL, pupil.pk, False)
    assert (api.what, api.pupil_id, api.api) == (OutsideReadKind.PUPIL, pupil.pk, True)


def test_counts_over_the_school_are_not_pupil_level(world):
    client = world.hop_in()
    for path in ("/attendance/", "/attendance/export.csv", "/api/v1/attendance/today/", "/"):
        response = client.get(path)
        assert response.status_code == 200, path
        if response.streaming:
            file_body(response)
    assert reads(world.school) == []


def test_the_schools_own_staff_are_not_recorded(world, site_client):
    client = site_client(world.school, world.head)
    for path in ("/students/", f"/students/{world.pupils[0].pk}/", "/api/v1/pupils/"):
        assert client.get(path).status_code == 200
    assert reads(world.school) == []


def test_a_refused_read_is_not_recorded(world):
    role = roles_ensure_defaults(site=world.trust)["Trust Administrator"]
    client = world.hop_in()
    other_schools_pupil = PupilFactory(site=world.make_school("Elm Primary", "elm"))
    for path in (f"/students/{other_schools_pupil.pk}/", "/students/2000000000/"):
        assert client.get(path).status_code == 404
    assert client.get("/students/?year=99").status_code == 200  # the page says it is invalid
    assert client.get("/api/v1/pupils/?year=99").status_code == 400
    assert len(reads(world.school)) == 1  # the page with the invalid filter showed pupils
    role.grants.filter(in_school=True, code=STUDENTS).delete()
    assert client.get("/students/").status_code == 403
    assert client.get("/api/v1/pupils/").status_code == 403
    assert len(reads(world.school)) == 1


# --- The administrators' view -----------------------------------------------------------------


def test_the_school_administrators_see_who_read_what_beside_the_audit_trail(world, site_client):
    hop = world.hop_in()
    hop.get("/students/")
    hop.get(f"/students/{world.pupils[2].pk}/")
    head = site_client(world.school, world.head)
    html = head.get("/audit/outside-reads/").content.decode()
    assert "Reads from outside the school" in html
    assert world.user.display_name in html and world.user.email in html
    assert world.trust.name in html
    assert f"A pupil’s record: {world.pupils[2].name}" in html
    assert "Students list" in html
    audit = head.get("/audit/").content.decode()
    assert 'href="/audit/outside-reads/"' in audit  # the tab beside the trail

    rows = file_body(head.get("/audit/outside-reads/export.csv")).decode().splitlines()
    assert rows[0].lstrip("\ufeff").startswith("Time,Person,Email,From,What")
    assert len(rows) == 3 and world.trust.name in rows[1]

    body = head.get("/api/v1/outside-reads/").json()
    assert body["count"] == 2
    newest = body["results"][0]
    assert newest["what"] == "pupil" and newest["pupil"]["id"] == world.pupils[2].pk
    assert newest["person"]["email"] == world.user.email
    assert newest["from_group"]["slug"] == world.trust.slug
    api_rows = file_body(head.get("/api/v1/outside-reads/export/?format=csv"))
    assert api_rows.decode().splitlines()[0].lstrip("\ufeff").startswith("Time,Person")


def test_only_user_details_administrators_see_the_reads(world, site_client):
    viewer = staff_viewer(world.school).user  # User Details at View: the audit trail only
    client = site_client(world.school, viewer)
    for path in (
        "/audit/outside-reads/",
        "/audit/outside-reads/export.csv",
        "/api/v1/outside-reads/",
        "/api/v1/outside-reads/export/?format=csv",
    ):
        assert client.get(path).status_code == 403, path
    assert client.get("/audit/").status_code == 200
    assert 'href="/audit/outside-reads/"' not in client.get("/audit/").content.decode()
    # A group site has no such page.
    trust_admin = staff_admin(world.trust).user
    assert site_client(world.trust, trust_admin).get("/audit/outside-reads/").status_code == 404


def test_another_schools_reads_never_show(world, site_client):
    elm = world.make_school("Elm Primary", "elm")
    with in_site(elm):
        OutsideRead.objects.create(
            site=elm,
            reader=world.user,
            from_group=world.trust,
            what=OutsideReadKind.STUDENTS,
            path="/students/?q=Elmsecret",
        )
    head = site_client(world.school, world.head)
    assert "Elmsecret" not in head.get("/audit/outside-reads/").content.decode()
    assert head.get("/api/v1/outside-reads/").json()["count"] == 0


def test_the_page_costs_the_same_queries_for_many_reads(world, site_client):
    hop = world.hop_in()
    head = site_client(world.school, world.head)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert head.get("/audit/outside-reads/").status_code == 200
        return len(queries)

    hop.get(f"/students/{world.pupils[0].pk}/")
    count()  # the first request of the session
    few = count()
    for pupil in world.pupils * 5:
        hop.get(f"/students/{pupil.pk}/")
    assert count() == few
    assert len(reads(world.school)) == 16


def test_user_details_view_is_not_enough_but_administer_is(world, site_client):
    viewer = staff_viewer(world.school).user
    assert site_client(world.school, viewer).get("/audit/outside-reads/").status_code == 403
    grant_permission(viewer, world.school, USER_DETAILS, Access.ADMINISTER)
    assert site_client(world.school, viewer).get("/audit/outside-reads/").status_code == 200
