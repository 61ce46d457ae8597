"""Students and Attendance as CSV and XLSX files (pages and API): the same rows as the
pages for the same query string, guarded text, typed numbers and dates, the pages' gates,
and queries that do not grow with the number of pupils."""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from tests.conftest import SITE_SCOPE_QUERIES
from tests.exports import csv_rows, filename, xlsx_formula_cells, xlsx_rows
from tests.institutions.factories import add_school
from tests.mis.factories import PupilFactory, mark_days
from tests.mis.test_pages import TODAY, World

pytestmark = pytest.mark.django_db

EXPORTS = (
    "/students/export.csv",
    "/students/export.xlsx",
    "/attendance/export.csv",
    "/attendance/export.xlsx",
    "/api/v1/pupils/export/?format=csv",
    "/api/v1/pupils/export/?format=xlsx",
    "/api/v1/attendance/export/?format=csv",
    "/api/v1/attendance/export/?format=xlsx",
)


@pytest.fixture(autouse=True)
def today(monkeypatch):
    clock = SimpleNamespace(localdate=lambda: TODAY)
    monkeypatch.setattr("mis.views.timezone", clock)
    monkeypatch.setattr("mis.api.timezone", clock)
    return TODAY


@pytest.fixture
def world():
    return World()


@pytest.fixture
def client(world, site_client):
    return site_client(world.school, world.staff)


def student_names(rows) -> list[str]:
    return [f"{row[0]}, {row[1]}" for row in rows[1:]]


# --- The rows of the page -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_students_file_lists_the_pages_pupils_in_the_pages_order(world, client, fmt):
    read = csv_rows if fmt == "csv" else xlsx_rows
    rows = read(client.get(f"/students/export.{fmt}"))
    assert rows[0][:5] == ["Surname", "First name", "Legal first name", "UPN", "Year group"]
    assert student_names(rows) == ["Adams, Ava", "Brown, Ben", "Clark, Caz", "Evans, Eve"]
    leavers = read(client.get(f"/students/export.{fmt}?leavers=1&year=4&page=2"))
    assert student_names(leavers) == ["Brown, Ben", "Dale, Dan"]  # the filters, all pages
    searched = read(client.get(f"/students/export.{fmt}?q=caz"))
    assert student_names(searched) == ["Clark, Caz"]


def test_the_students_file_holds_the_pages_figures_typed_in_xlsx(world, client):
    header, *rows = xlsx_rows(client.get("/students/export.xlsx"))
    ben = dict(zip(header, rows[1], strict=True))
    assert ben["UPN"] == world.ben.upn
    assert ben["Date of birth"] == datetime.datetime(2017, 5, 6)  # a date cell
    assert ben["Attendance % this term"] == pytest.approx(72.7)  # a number, as on the page
    assert ben["Persistent absence this term"] == "Yes"
    assert ben["SEN provision"] == "Education, health and care plan"
    text = dict(zip(*csv_rows(client.get("/students/export.csv"))[:3:2], strict=True))
    assert text["Attendance % this term"] == "72.7"
    assert text["Date of birth"] == "2017-05-06"


def test_the_students_file_is_named_for_the_school_and_the_day(client):
    today = datetime.date.today().isoformat()  # the file's date is the real day
    assert filename(client.get("/students/export.xlsx")) == f"fenwick-students-{today}.xlsx"
    response = client.get("/students/export.csv")
    assert filename(response) == f"fenwick-students-{today}.csv"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_attendance_file_has_the_pages_figures_by_year_group(world, client, fmt):
    read = csv_rows if fmt == "csv" else xlsx_rows
    header, *rows = read(client.get(f"/attendance/export.{fmt}"))
    assert [row[0] for row in rows] == ["Year 3", "Year 4", "Year 5", "All year groups"]
    school = dict(zip(header, rows[-1], strict=True))
    # As the page: on roll 4 (Dan left); AM present Ava, Cara absent (O), Ben I, Eve unmarked.
    assert [school[f"Morning (AM): {name}"] for name in ("present", "not yet marked")] == (
        ["1", "1"] if fmt == "csv" else [1, 1]
    )
    assert school["On roll 2026-11-25"] == ("4" if fmt == "csv" else 4)
    earlier = read(client.get(f"/attendance/export.{fmt}?date=2026-11-20"))
    assert earlier[0][1] == "On roll 2026-11-20"


# --- The formula guard ----------------------------------------------------------------------


def test_a_formula_in_a_name_is_text_in_both_formats(world, client):
    PupilFactory(site=world.school, legal_first_name='=HYPERLINK("x")', legal_last_name="-2+3")
    rows = csv_rows(client.get("/students/export.csv"))
    assert rows[1][:2] == ["'-2+3", '\'=HYPERLINK("x")']
    response = client.get("/students/export.xlsx")
    assert xlsx_formula_cells(response) == []
    assert xlsx_rows(client.get("/students/export.xlsx"))[1][:2] == ["'-2+3", '\'=HYPERLINK("x")']


def test_control_characters_a_spreadsheet_cannot_hold_are_left_out(world, client):
    PupilFactory(site=world.school, legal_first_name="A\x01nn", legal_last_name="Aardvark")
    assert xlsx_rows(client.get("/students/export.xlsx"))[1][:2] == ["Aardvark", "Ann"]


# --- The pages' gates -----------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in_and_the_api_refuses(world, site_client):
    anonymous = site_client(world.school)
    for path in EXPORTS:
        response = anonymous.get(path)
        expected = 403 if path.startswith("/api/") else 302
        assert response.status_code == expected, path


def test_staff_of_another_school_get_the_pages_404(world, site_client):
    outsider = site_client(world.school, world.other_staff)
    for path in EXPORTS:
        response = outsider.get(path)
        assert response.status_code in (403, 404) if path.startswith("/api/") else 404, path
        assert b"Adams" not in response.content


def test_a_group_site_has_no_pupil_exports(world, site_client, trust, trust_staff):
    add_school(trust)
    client = site_client(trust, trust_staff)
    for path in EXPORTS:
        assert client.get(path).status_code == 404, path


def test_the_api_refuses_bad_filters_with_a_message_in_json(client):
    response = client.get("/api/v1/pupils/export/?format=xlsx&year=99")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["fields"] == {"year": ["Choose a year group from the list."]}
    unknown = client.get("/api/v1/pupils/export/?format=pdf")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"


def test_the_api_files_match_the_pages(client):
    for query in ("", "?leavers=1&year=4"):
        page = csv_rows(client.get(f"/students/export.csv{query}"))
        api = csv_rows(client.get(f"/api/v1/pupils/export/{query or '?'}&format=csv"))
        assert api == page
    page = xlsx_rows(client.get("/attendance/export.xlsx?date=2026-11-20"))
    api = xlsx_rows(client.get("/api/v1/attendance/export/?date=2026-11-20&format=xlsx"))
    assert api == page


def test_the_page_links_to_both_files_with_its_query(client):
    html = client.get("/students/?year=4&leavers=1&page=1").content.decode()
    assert 'href="/students/export.csv?year=4&amp;leavers=1"' in html
    assert 'href="/students/export.xlsx?year=4&amp;leavers=1"' in html
    day = client.get("/attendance/?date=2026-11-20").content.decode()
    assert 'href="/attendance/export.xlsx?date=2026-11-20"' in day


# --- Queries --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_students_file_takes_the_same_queries_for_many_pupils(
    world, client, fmt, django_assert_num_queries
):
    read = csv_rows if fmt == "csv" else xlsx_rows
    client.get(f"/students/export.{fmt}")
    # session, user, profile and the site check, the person's permissions (one query for
    # all: Students decides, Attendance adds the attendance columns), then one query for
    # the pupils; a CSV stream binds its own transaction to the site again (SAVEPOINT,
    # set_config, restore, RELEASE).
    expected = 4 + 1 + 1 + SITE_SCOPE_QUERIES + (SITE_SCOPE_QUERIES if fmt == "csv" else 0)
    with django_assert_num_queries(expected):
        few = read(client.get(f"/students/export.{fmt}"))
    for number in range(40):
        pupil = PupilFactory(site=world.school, legal_last_name=f"Zed{number:02}", year_group=6)
        mark_days(pupil, [TODAY], ["/", "\\"])
    with django_assert_num_queries(expected):
        many = read(client.get(f"/students/export.{fmt}"))
    assert len(many) == len(few) + 40


def test_the_attendance_file_takes_the_same_queries_for_many_pupils(
    world, client, django_assert_num_queries
):
    client.get("/attendance/export.csv")
    # + 1: the person's permissions (Attendance at View decides)
    expected = 4 + 1 + 2 + 2 * SITE_SCOPE_QUERIES  # the stream binds its own transaction
    with django_assert_num_queries(expected):
        csv_rows(client.get("/attendance/export.csv"))
    for number in range(30):
        PupilFactory(site=world.school, legal_last_name=f"Zed{number:02}", year_group=number % 7)
    with django_assert_num_queries(expected):
        rows = csv_rows(client.get("/attendance/export.csv"))
    assert Decimal(len(rows)) > 5
