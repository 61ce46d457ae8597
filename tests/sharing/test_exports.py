"""Browse Institutions and Data Sharing Agreements as CSV and XLSX files (pages and API):
the pages' schools for the same query string (tab, search, filters, sort), each tab's
columns, guarded text, the pages' gates and queries that do not grow with the schools."""

import pytest

from accounts.audit import system_actor
from sharing.models import AccessLevel
from sharing.services.agreements import agreement_raise
from tests.exports import csv_rows, filename, queries_to_read, xlsx_formula_cells, xlsx_rows
from tests.factories import TrustFactory
from tests.institutions.factories import (
    ClusterFactory,
    add_school,
    group_staff,
    outsider,
    put_in_cluster,
)

from .factories import head_of, make_request, school_with_head

pytestmark = pytest.mark.django_db

L1, L2 = AccessLevel.DFE_DATA, AccessLevel.DFE_AND_MIS_DATA
BROWSE = ("/institutions/export.csv", "/institutions/export.xlsx")
AGREEMENTS = ("/data-sharing/export.csv", "/data-sharing/export.xlsx")
APIS = ("/api/v1/institutions/export/?format=xlsx", "/api/v1/agreements/export/?format=csv")


def read(url: str):
    return xlsx_rows if "xlsx" in url else csv_rows


def column(rows, header: str) -> list:
    index = rows[0].index(header)
    return [row[index] for row in rows[1:]]


@pytest.fixture
def schools(trust):
    acorn = school_with_head(trust, name="Acorn Primary", urn="100001", pupils=210)
    beech = school_with_head(trust, name="Beech Academy", urn="100002", phase="Secondary")
    cedar = school_with_head(trust, name="Cedar Primary", urn="100003")
    make_request(trust, beech, level=L2)
    agreement_raise(group=trust, school=cedar, level=L1, actor=system_actor())
    put_in_cluster(ClusterFactory(group=trust, name="North"), acorn, cedar)
    return {"acorn": acorn, "beech": beech, "cedar": cedar}


@pytest.fixture
def client(site_client, trust):
    return site_client(trust, group_staff(trust))


# --- Browse -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [*BROWSE, APIS[0]])
def test_the_browse_file_has_the_pages_schools_and_their_sharing(client, schools, url):
    rows = read(url)(client.get(url))
    assert rows[0][:3] == ["School", "URN", "Phase"]
    assert column(rows, "School") == ["Acorn Primary", "Beech Academy", "Cedar Primary"]
    assert column(rows, "Data sharing") == ["No agreement", "Pending", "Approved"]
    assert column(rows, "Access level") == ["", "DfE Data & MIS Data", "DfE Data"]
    assert column(rows, "Clusters") == ["North", "", "North"]
    assert column(rows, "Pupils")[0] == (210 if "xlsx" in url else "210")  # a number


@pytest.mark.parametrize("url", BROWSE)
def test_the_browse_file_keeps_the_search_filters_and_sort(client, schools, url):
    rows = read(url)(client.get(f"{url}?phase=Primary&sort=-name&page=2"))
    assert column(rows, "School") == ["Cedar Primary", "Acorn Primary"]
    rows = read(url)(client.get(f"{url}?q=beech"))
    assert column(rows, "School") == ["Beech Academy"]


def test_the_browse_page_links_to_the_files_with_its_query(client, schools):
    html = client.get("/institutions/?phase=Primary&sort=-name&page=1").content.decode()
    assert 'href="/institutions/export.csv?phase=Primary&amp;sort=-name"' in html
    assert 'href="/institutions/export.xlsx?phase=Primary&amp;sort=-name"' in html


def test_the_browse_file_is_named_for_the_group_and_the_day(client, schools):
    name = filename(client.get("/institutions/export.xlsx"))
    assert name.startswith("oak-ridge-trust-schools-") and name.endswith(".xlsx")


def test_a_formula_in_a_school_name_is_text(client, trust):
    add_school(trust, name='=HYPERLINK("http://evil","Click")', urn="100009")
    assert csv_rows(client.get(BROWSE[0]))[1][0] == '\'=HYPERLINK("http://evil","Click")'
    assert xlsx_formula_cells(client.get(BROWSE[1])) == []
    rows = csv_rows(client.get(AGREEMENTS[0]))
    assert rows[1][0] == '\'=HYPERLINK("http://evil","Click")'
    assert xlsx_formula_cells(client.get(AGREEMENTS[1])) == []


# --- Data Sharing Agreements ----------------------------------------------------------------


@pytest.mark.parametrize("url", [*AGREEMENTS, APIS[1]])
def test_each_tab_is_its_own_file_with_its_columns(client, schools, url):
    joiner = "&" if "?" in url else "?"
    none = read(url)(client.get(url))
    assert column(none, "School") == ["Acorn Primary"]
    assert column(none, "Last request") == ["Not asked yet"]
    pending = read(url)(client.get(f"{url}{joiner}tab=pending"))
    assert column(pending, "School") == ["Beech Academy"]
    assert column(pending, "Level asked for") == ["DfE Data & MIS Data"]
    assert column(pending, "Emails") == ["No emails"]
    approved = read(url)(client.get(f"{url}{joiner}tab=approved"))
    assert column(approved, "School") == ["Cedar Primary"]
    assert column(approved, "Access level") == ["DfE Data"]
    assert column(approved, "Set up for the group") == ["No"]  # approved by the school


def test_the_tab_file_keeps_the_filters_and_is_named_for_the_tab(client, schools):
    response = client.get("/data-sharing/export.xlsx?tab=pending&phase=Primary")
    assert xlsx_rows(response)[1:] == []
    assert "-agreements-pending-" in filename(response)
    html = client.get("/data-sharing/?tab=approved&cluster=&q=cedar").content.decode()
    assert 'href="/data-sharing/export.csv?q=cedar&amp;tab=approved"' in html


# --- Gates ----------------------------------------------------------------------------------


def test_anonymous_visitors_and_other_groups_are_refused_as_by_the_pages(
    site_client, trust, schools
):
    for url in (*BROWSE, *AGREEMENTS, *APIS):
        api = url.startswith("/api/")
        assert site_client(trust).get(url).status_code == (403 if api else 302), url
        response = site_client(trust, outsider()).get(url)
        assert response.status_code == (403 if api else 404), url
        assert b"Acorn" not in response.content


def test_a_school_site_has_no_group_exports(site_client, schools):
    school = schools["acorn"]
    client = site_client(school, head_of(school).user)
    for url in (*BROWSE, *AGREEMENTS, *APIS):
        assert client.get(url).status_code == 404, url


def test_the_api_refuses_a_bad_tab_or_filter(client, schools):
    response = client.get("/api/v1/agreements/export/?format=xlsx&tab=later")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "tab": ["Choose one of: none, pending, approved."]
    }
    response = client.get("/api/v1/institutions/export/?phase=Kindergarten")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["phase"]


# --- Queries --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [*BROWSE, *AGREEMENTS, "/data-sharing/export.csv?tab=pending", APIS[0]],
)
def test_the_files_take_the_same_queries_for_ten_times_the_schools(
    site_client, url, django_assert_num_queries
):
    def group_of(size: int):
        group = TrustFactory()
        cluster = ClusterFactory(group=group, name="North")
        for number in range(size):
            school = add_school(group)
            put_in_cluster(cluster, school)
            if number % 2:
                make_request(group, school)
        return site_client(group, group_staff(group))

    few = queries_to_read(group_of(3), url, read(url))
    client = group_of(30)
    read(url)(client.get(url))
    with django_assert_num_queries(few):
        rows = read(url)(client.get(url))
    assert len(rows) > 10
