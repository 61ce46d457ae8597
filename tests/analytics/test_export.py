"""``/analytics/export.csv``: the page's table as a file, gated the same way, with totals
and England, safe to open in a spreadsheet. The world is ``test_dashboard``'s."""

import csv
import datetime
import io

import pytest
from django.utils import timezone

from tests.analytics.test_dashboard import (
    CEDAR_LIVE,
    DAMSON_SECRETS,
    agree,
    build_world,
    published,
    rollup,
)
from tests.exports import body, xlsx_formula_cells, xlsx_rows
from tests.factories import StaffProfileFactory, TrustFactory, pupil_data_staff
from tests.institutions.factories import ClusterFactory, add_school, put_in_cluster

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(trust):
    return build_world(trust)


URL = "/analytics/export.csv"


def download(site_client, group, params=None):
    response = site_client(group, pupil_data_staff(group)).get(URL, params or {})
    assert response.status_code == 200, response.content[:300]
    return response


def table(response) -> list[list[str]]:
    text = body(response).decode("utf-8")
    assert text.startswith("\ufeff")  # spreadsheets read it as UTF-8
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def by_first_cell(rows) -> dict[str, list[str]]:
    return {row[0]: row for row in rows}


def test_a_download_named_for_the_group_and_the_day(site_client, trust, world):
    response = download(site_client, trust)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    day = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="oak-ridge-trust-analytics-{day}.csv"'
    )


def test_same_columns_and_gating_as_the_page(site_client, trust, world):
    rows = table(download(site_client, trust))
    assert rows[0] == [
        "School",
        "URN",
        "Phase",
        "Pupils",
        "% FSM",
        "Published 2024/25: overall absence %",
        "Published 2024/25: persistent absence %",
        "Published 2024/25: suspensions per 100 pupils",
        "Live: attendance % this term",
        "Live: overall absence % this term",
        "Live: persistent absentees",
        "Live: persistent absence %",
        "Live: suspensions per 100 pupils this year",
        "Live: refreshed at",
        "Live: counted up to",
    ]
    named = by_first_cell(rows)
    ash = named["Ash Primary"]
    assert ash[:13] == [
        "Ash Primary", "110001", "Primary", "100", "10.0",
        "5.0", "10.0", "2.0",
        "90.0", "10.0", "20", "20.0", "5.0",
    ]  # fmt: skip
    assert ash[14] == "2026-11-25"
    assert named["Cedar Infants"][5:] == ["7.0", "18.0", "6.0"] + ["Not shared"] * 7
    assert named["Damson School"][5:] == ["Not shared"] * 10
    assert named["Elm Nursery"][5:] == ["", "", ""] + ["No MIS data yet"] * 5 + ["", ""]


def test_totals_counted_schools_and_england(site_client, trust, world):
    rows = table(download(site_client, trust))
    named = by_first_cell(rows)
    total = named["Group total (5 schools)"]
    assert total[3:13] == ["310", "13.6", "6.6", "15.6", "5.6", "86.4", "13.6", "25", "22.7", "7.3"]
    assert total[14] == "2026-11-24"  # the oldest shared school's day
    counted = named["Schools counted in the total"]
    assert counted[3:13] == ["4", "2", "3", "3", "3", "2", "2", "2", "2", "2"]
    england = named["England (2024/25)"]
    assert england[5:8] == ["6.9", "17.8", "10.9"]
    assert rows[-1][0] == "England (2024/25)"


def test_level_one_and_zero_figures_never_reach_the_file(site_client, trust, world):
    text = body(download(site_client, trust)).decode("utf-8")
    for secret in (*CEDAR_LIVE, *DAMSON_SECRETS):
        assert secret.rstrip("%") not in text, secret
    for count in ("613", "777", "2160", "43.21"):
        assert count not in text


def test_filters_apply(site_client, trust, world):
    north = ClusterFactory(group=trust, name="North")
    put_in_cluster(north, world["ash"], world["birch"])
    rows = table(download(site_client, trust, {"cluster": north.pk, "phase": "Primary"}))
    names = [row[0] for row in rows[1:-3]]
    assert names == ["Ash Primary"]
    assert rows[-3][0] == "Group total (1 school)"
    # An unknown value is left out, as on the page.
    rows = table(download(site_client, trust, {"phase": ["Secondary", "bogus"]}))
    assert [row[0] for row in rows[1:-3]] == ["Birch Academy"]


@pytest.mark.parametrize(
    "name",
    [
        '=HYPERLINK("x")',
        "+44 Academy",
        "-1 School",
        "@SUM(A1)",
        "\tTab School",
        "\rCR School",
        ";=1+1;School",
    ],
)
def test_formula_injection_is_neutralised(site_client, trust, name):
    school = add_school(trust, name=name, urn="130001")
    agree(trust, school, 2)
    rollup(school, cells=[dict(on_roll=10, with_sessions=10, possible=100, present=95)])
    published(school, overall_absence_rate="5.00")
    rows = table(download(site_client, trust))
    assert rows[1][0] == f"'{name}"
    # Nothing else in the file starts a formula either.
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", ";", "\t", "\r")), row


# --- The spreadsheet and the API -------------------------------------------------------------

XLSX = "/analytics/export.xlsx"
API = "/api/v1/analytics/schools/export/"


def test_the_spreadsheet_has_the_files_rows_with_typed_figures(site_client, trust, world):
    client = site_client(trust, pupil_data_staff(trust))
    text_rows = table(client.get(URL))
    rows = xlsx_rows(client.get(XLSX))
    assert rows[0] == text_rows[0]
    assert [row[0] for row in rows] == [row[0] for row in text_rows]
    ash = by_first_cell(rows)["Ash Primary"]
    assert ash[:13] == [
        "Ash Primary", "110001", "Primary", 100, 10,
        5, 10, 2,
        90, 10, 20, 20, 5,
    ]  # fmt: skip
    assert ash[14] == datetime.datetime(2026, 11, 25)  # a date cell
    assert by_first_cell(rows)["Group total (5 schools)"][4] == pytest.approx(13.6)


def test_level_one_and_zero_figures_never_reach_the_spreadsheet(site_client, trust, world):
    rows = xlsx_rows(site_client(trust, pupil_data_staff(trust)).get(XLSX))
    named = by_first_cell(rows)
    assert named["Cedar Infants"][8:] == ["Not shared"] * 7  # level 1: no live figures
    assert named["Damson School"][5:] == ["Not shared"] * 10  # no agreement: nothing
    cells = {str(cell) for row in rows for cell in row}
    for secret in (*CEDAR_LIVE, *DAMSON_SECRETS):
        number = secret.rstrip("%")
        assert number not in cells and float(number) not in {
            cell for row in rows for cell in row if isinstance(cell, float | int)
        }, secret


def test_a_formula_in_a_school_name_is_text_in_the_spreadsheet(site_client, trust):
    school = add_school(trust, name='=HYPERLINK("x")', urn="130001")
    agree(trust, school, 2)
    client = site_client(trust, pupil_data_staff(trust))
    assert xlsx_formula_cells(client.get(XLSX)) == []
    assert xlsx_rows(client.get(XLSX))[1][0] == '\'=HYPERLINK("x")'


def test_the_api_file_is_the_pages_file(site_client, trust, world):
    north = ClusterFactory(group=trust, name="North")
    put_in_cluster(north, world["ash"], world["birch"])
    client = site_client(trust, pupil_data_staff(trust))
    query = f"cluster={north.pk}&phase=Primary"
    assert table(client.get(f"{API}?{query}&format=csv")) == table(client.get(f"{URL}?{query}"))
    assert xlsx_rows(client.get(f"{API}?{query}&format=xlsx")) == xlsx_rows(
        client.get(f"{XLSX}?{query}")
    )
    bad = client.get(f"{API}?phase=bogus&format=xlsx")
    assert bad.status_code == 400
    assert list(bad.json()["error"]["fields"]) == ["phase"]


def test_the_spreadsheet_has_the_pages_gates(site_client, trust, world):
    response = site_client(trust).get(XLSX)
    assert response.status_code == 302
    outsider = StaffProfileFactory(site=TrustFactory()).user
    assert site_client(trust, outsider).get(XLSX).status_code == 404
    assert site_client(trust, outsider).get(f"{API}?format=xlsx").status_code == 403
    school = world["ash"]
    head = StaffProfileFactory(site=school).user
    assert site_client(school, head).get(XLSX).status_code == 404
    assert site_client(school, head).get(API).status_code == 404


def test_the_page_links_to_both_files(site_client, trust, world):
    html = site_client(trust, pupil_data_staff(trust)).get("/analytics/?phase=Primary").content
    assert b'href="/analytics/export.csv?phase=Primary"' in html
    assert b'href="/analytics/export.xlsx?phase=Primary"' in html
