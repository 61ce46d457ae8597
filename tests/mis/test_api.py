"""REST endpoints of a school's own records: pupils, one pupil, a day's registers. The
world is the Students and Attendance pages' (``tests/mis/test_pages.py``)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import pupil_data_staff
from tests.institutions.factories import SchoolFactory, add_school
from tests.mis.factories import PupilFactory
from tests.mis.test_pages import TODAY, World, make_pupils, mis_queries
from tests.mis.test_pages import today as today  # the autouse clock

pytestmark = pytest.mark.django_db

PUPILS = "/api/v1/pupils/"
TODAY_URL = "/api/v1/attendance/today/"


@pytest.fixture
def world():
    return World()


@pytest.fixture
def client(world, site_client):
    return site_client(world.school, world.staff)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    return body["error"]


# --- Who may read ---------------------------------------------------------------------------


def test_anonymous_and_other_sites_staff_are_refused(world, site_client):
    for path in (PUPILS, f"{PUPILS}{world.ava.pk}/", TODAY_URL):
        assert_error(site_client(world.school).get(path), 403, "not_authenticated")
        assert_error(
            site_client(world.school, world.other_staff).get(path), 403, "permission_denied"
        )


def test_a_group_site_has_no_pupils(world, site_client, trust, trust_staff):
    add_school(trust)
    client = site_client(trust, trust_staff)
    for path in (PUPILS, f"{PUPILS}{world.ava.pk}/", TODAY_URL):
        assert_error(client.get(path), 404, "not_found")
        assert_error(site_client(trust).get(path), 404, "not_found")


def test_another_schools_pupil_is_a_404_like_a_missing_one(world, client):
    assert_error(client.get(f"{PUPILS}{world.zed.pk}/"), 404, "not_found")
    assert_error(client.get(f"{PUPILS}999999999/"), 404, "not_found")


# --- Pupils ---------------------------------------------------------------------------------


def test_the_list(world, client):
    body = client.get(PUPILS).json()
    assert body["count"] == 4
    assert [row["name"] for row in body["results"]] == [
        "Ava Adams",
        "Ben Brown",
        "Caz Clark",
        "Eve Evans",
    ]
    ben = body["results"][1]
    assert ben["id"] == world.ben.pk
    assert ben["upn"] == world.ben.upn
    assert (ben["legal_first_name"], ben["preferred_first_name"]) == ("Benjamin", "Ben")
    assert ben["date_of_birth"] == "2017-05-06"
    assert (ben["year_group"], ben["year_group_label"]) == (4, "Year 4")
    assert ben["on_roll"] is True and ben["left_on"] is None
    assert (ben["sen_provision"], ben["sen_provision_label"]) == (
        "E",
        "Education, health and care plan",
    )
    assert ben["term_attendance"] == {
        "possible_sessions": 11,
        "present_sessions": 8,
        "authorised_absence": 2,
        "unauthorised_absence": 1,
        "not_possible_sessions": 2,
        "attendance_percent": 72.7,
        "absence_percent": 27.3,
        "persistent_absentee": True,
    }
    ava = body["results"][0]
    assert (ava["fsm_eligible"], ava["disadvantaged"]) == (True, True)
    assert ava["term_attendance"]["attendance_percent"] == 100.0
    eve = body["results"][3]
    assert eve["term_attendance"]["attendance_percent"] is None
    assert eve["term_attendance"]["persistent_absentee"] is False


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"q": "caz"}, ["Caz Clark"]),
        ({"year": "4"}, ["Ben Brown"]),
        ({"year": "4", "leavers": "true"}, ["Ben Brown", "Dan Dale"]),
        ({"q": "zed"}, []),
    ],
)
def test_the_list_filters_as_the_page_does(world, client, query, names):
    body = client.get(PUPILS, query).json()
    assert [row["name"] for row in body["results"]] == names


def test_a_leaver_is_not_on_roll(world, client):
    dan = client.get(PUPILS, {"leavers": "true", "q": "dale"}).json()["results"][0]
    assert (dan["on_roll"], dan["left_on"]) == (False, "2026-10-31")


@pytest.mark.parametrize(
    ("query", "field"),
    [({"year": "99"}, "year"), ({"year": "three"}, "year"), ({"q": "x" * 101}, "q")],
)
def test_bad_filters_are_a_400(world, client, query, field):
    error = assert_error(client.get(PUPILS, query), 400, "invalid")
    assert list(error["fields"]) == [field]


def test_pages(world, client):
    for n in range(60):
        PupilFactory(site=world.school, legal_last_name=f"Zz{n:02d}")
    body = client.get(PUPILS).json()
    assert body["count"] == 64 and len(body["results"]) == 50
    assert body["next"].endswith("/api/v1/pupils/?page=2")
    assert len(client.get(PUPILS, {"page": 2}).json()["results"]) == 14
    assert_error(client.get(PUPILS, {"page": 9}), 404, "not_found")


def test_the_list_runs_the_same_queries_for_5_and_60_pupils(site_client):
    school = SchoolFactory()
    client = site_client(school, pupil_data_staff(school))
    make_pupils(school, 5)
    client.get(PUPILS)
    with CaptureQueriesContext(connection) as few:
        assert client.get(PUPILS, {"page_size": 100}).json()["count"] == 5
    make_pupils(school, 55)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(PUPILS, {"page_size": 100}).json()["results"]) == 60
    assert len(many) == len(few)
    assert len(mis_queries(many)) == 2  # the count; one page with its attendance


# --- One pupil ------------------------------------------------------------------------------


def test_a_pupil(world, client):
    body = client.get(f"{PUPILS}{world.ben.pk}/").json()
    assert body["name"] == "Ben Brown"
    assert body["term"] == {"name": "Autumn term", "start": "2026-09-01", "end": "2026-11-25"}
    assert body["term_attendance"]["attendance_percent"] == 72.7
    assert body["academic_year"] == "2026/27"
    marks = body["recent_marks"]
    assert [day["date"] for day in marks] == [
        "2026-11-25",
        "2026-11-20",
        "2026-11-19",
        "2026-11-18",
        "2026-11-17",
        "2026-11-16",
    ]
    assert marks[0]["am"] == {
        "code": "I",
        "meaning": "Illness",
        "category": 2,
        "category_label": "Authorised absence",
    }
    assert marks[0]["pm"] is None
    assert marks[-2]["pm"]["code"] == "O"
    assert marks[-2]["pm"]["category"] == 3
    assert body["exclusions"] == [
        {
            "id": world.ben_suspension.pk,
            "kind": "suspension",
            "kind_label": "Suspension",
            "starts_on": "2026-10-01",
            "sessions": 3,
            "reason": "PD",
            "reason_label": "Persistent or general disruptive behaviour",
        }
    ]


def test_a_pupil_reads_a_constant_number_of_records(world, client):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"{PUPILS}{world.ben.pk}/").status_code == 200
    assert len(mis_queries(captured)) == 3  # the pupil with the term; marks; exclusions


# --- A day's registers ----------------------------------------------------------------------


def test_todays_registers(world, client):
    body = client.get(TODAY_URL).json()
    assert body["date"] == TODAY.isoformat()
    assert body["am"] == {
        "on_roll": 4,
        "present": 1,
        "authorised": 1,
        "unauthorised": 1,
        "not_possible": 0,
        "not_marked": 1,
        "attendance_percent": 33.3,
    }
    assert body["pm"]["not_possible"] == 1 and body["pm"]["not_marked"] == 2
    assert [row["label"] for row in body["year_groups"]] == ["Year 3", "Year 4", "Year 5"]
    assert body["year_groups"][0]["am"]["unauthorised"] == 1
    term = body["term_to_date"]
    assert term["term"] == {"name": "Autumn term", "start": "2026-09-01", "end": "2026-11-25"}
    assert term["overall"]["attendance"]["possible_sessions"] == 38
    assert term["overall"]["attendance"]["attendance_percent"] == 86.8
    assert (term["overall"]["pupils_with_sessions"], term["overall"]["persistent_absentees"]) == (
        4,
        2,
    )
    assert [row["year_group"] for row in term["year_groups"]] == [3, 4]
    assert term["year_groups"][0]["attendance"]["attendance_percent"] == 91.3


def test_another_day(world, client):
    body = client.get(TODAY_URL, {"date": "2026-11-18"}).json()
    assert body["date"] == "2026-11-18"
    assert (body["am"]["present"], body["am"]["not_possible"]) == (2, 1)
    assert body["term_to_date"]["term"]["end"] == "2026-11-18"


@pytest.mark.parametrize("value", ["25/11/2026", "2026-02-30", "soon", "2026-11-26"])
def test_a_bad_date_is_a_400(world, client, value):
    error = assert_error(client.get(TODAY_URL, {"date": value}), 400, "invalid")
    assert list(error["fields"]) == ["date"]
    assert error["fields"]["date"][0].startswith(("Enter the date as", "The date must be"))


def test_the_registers_run_a_constant_number_of_queries(site_client):
    school = SchoolFactory()
    client = site_client(school, pupil_data_staff(school))
    make_pupils(school, 5)
    client.get(TODAY_URL)
    with CaptureQueriesContext(connection) as few:
        client.get(TODAY_URL, {"date": "2026-11-16"})
    make_pupils(school, 60)
    with CaptureQueriesContext(connection) as many:
        assert client.get(TODAY_URL, {"date": "2026-11-16"}).json()["am"]["on_roll"] == 65
    assert len(many) == len(few)
    assert len(mis_queries(many)) == 2


# --- The schema -----------------------------------------------------------------------------


def test_the_schema_describes_the_endpoints(site_client, trust):
    schema = site_client(trust).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path, operation in (
        ("/api/v1/pupils/", "pupils_list"),
        ("/api/v1/pupils/{pupil_id}/", "pupils_retrieve"),
        ("/api/v1/attendance/today/", "attendance_today_retrieve"),
    ):
        get = schema["paths"][path]["get"]
        assert get["operationId"] == operation
        assert {"200", "403", "404"} <= set(get["responses"])
    parameters = {p["name"] for p in schema["paths"]["/api/v1/pupils/"]["get"]["parameters"]}
    assert {"q", "year", "leavers", "page", "page_size"} <= parameters
