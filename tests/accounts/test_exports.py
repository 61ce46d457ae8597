"""Staff and the audit trail as CSV and XLSX files (pages and API): the pages' rows for
the same query string, guarded text, the pages' gates, constant queries."""

import datetime

import pytest
from django.utils import timezone

from accounts.models import AuditAction
from accounts.permissions import USER_DETAILS, Access
from tests.accounts.factories import (
    add_school,
    another_trust,
    associate,
    hold,
    person,
    role_with,
    staff_admin,
)
from tests.accounts.test_audit import record
from tests.exports import csv_rows, filename, queries_to_read, xlsx_formula_cells, xlsx_rows
from tests.factories import InstitutionFactory, UserFactory, grant_permission

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
STAFF_EXPORTS = ("/staff/export.csv", "/staff/export.xlsx", "/api/v1/staff/export/?format=xlsx")
AUDIT_EXPORTS = (
    "/audit/export.csv",
    "/audit/export.xlsx",
    "/api/v1/audit-events/export/?format=csv",
)


def read(url: str):
    return xlsx_rows if "xlsx" in url else csv_rows


@pytest.fixture
def sam(trust):
    return person(trust, name="Sam Smith", email="sam@oak.test", job_title="Data analyst")


# --- Staff --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", STAFF_EXPORTS)
def test_the_staff_file_has_the_pages_people_roles_and_associations(site_client, trust, sam, url):
    add_school(trust)
    hold(sam, role_with(trust, "Data Lead", {}))
    hold(sam, role_with(trust, "Trust Administrator", {}), starts_on=TODAY + datetime.timedelta(3))
    associate(sam, all_schools=True)
    tom = person(trust, name="Tom Jones", email="tj@oak.test")
    rows = read(url)(site_client(trust, tom.user).get(url))
    assert rows[0] == ["Name", "Email", "Job title", "Roles", "Associations"]
    starts = (TODAY + datetime.timedelta(3)).isoformat()
    assert rows[1:] == [
        ["Sam Smith", "sam@oak.test", "Data analyst",
         f"Data Lead; Trust Administrator (from {starts})", "All schools"],
        ["Tom Jones", "tj@oak.test", "", "", "None"],
    ]  # fmt: skip


def test_the_staff_file_keeps_the_search_and_a_school_has_no_associations(site_client, trust, sam):
    person(trust, name="Tom Jones", email="tj@oak.test")
    rows = csv_rows(site_client(trust, sam.user).get("/staff/export.csv?q=jones&page=2"))
    assert [row[0] for row in rows[1:]] == ["Tom Jones"]
    school = InstitutionFactory(slug="fenwick")
    head = staff_admin(school, name="Hana Head")
    response = site_client(school, head.user).get("/staff/export.xlsx")
    assert xlsx_rows(response)[0] == ["Name", "Email", "Job title", "Roles"]
    assert filename(response) == f"fenwick-staff-{TODAY.isoformat()}.xlsx"


def test_a_formula_in_a_name_or_job_title_is_text(site_client, trust):
    viewer = person(trust, name="=cmd|' /C calc'!A0", job_title="@SUM(A1)")
    client = site_client(trust, viewer.user)
    row = csv_rows(client.get("/staff/export.csv"))[1]
    assert [row[0], row[2]] == ["'=cmd|' /C calc'!A0", "'@SUM(A1)"]
    assert xlsx_formula_cells(client.get("/staff/export.xlsx")) == []
    assert xlsx_rows(client.get("/staff/export.xlsx"))[1][0] == "'=cmd|' /C calc'!A0"


def test_staff_exports_have_the_lists_gates(site_client, trust, sam):
    for url in STAFF_EXPORTS:
        anonymous = site_client(trust).get(url)
        assert anonymous.status_code == (403 if url.startswith("/api/") else 302), url
        outsider = site_client(trust, staff_admin(another_trust()).user).get(url)
        assert outsider.status_code == (403 if url.startswith("/api/") else 404), url
        assert b"Sam Smith" not in outsider.content


def test_the_page_links_to_the_files_with_its_search(site_client, trust, sam):
    html = site_client(trust, sam.user).get("/staff/?q=sam").content.decode()
    assert 'href="/staff/export.csv?q=sam"' in html
    assert 'href="/staff/export.xlsx?q=sam"' in html


@pytest.mark.parametrize("url", ["/staff/export.csv", "/staff/export.xlsx"])
def test_the_staff_file_takes_the_same_queries_for_more_people(
    site_client, trust, sam, url, django_assert_num_queries
):
    add_school(trust)
    lead = role_with(trust, "Data Lead", {})
    client = site_client(trust, sam.user)
    few = queries_to_read(client, url, read(url))
    for number in range(25):
        other = person(trust, name=f"Person {number:02}")
        hold(other, lead)
        associate(other, all_schools=number % 2 == 0)
    with django_assert_num_queries(few):
        rows = read(url)(client.get(url))
    assert len(rows) == 1 + 26


# --- The audit trail ------------------------------------------------------------------------


@pytest.fixture
def admin(trust):
    user = UserFactory(full_name="Ada Admin", email="ada@oak.test")
    grant_permission(user, trust, USER_DETAILS, Access.VIEW)
    return user


@pytest.mark.parametrize("url", AUDIT_EXPORTS)
def test_the_audit_file_has_the_pages_events_newest_first(site_client, trust, admin, url):
    record(trust, user=admin, target="Sam Smith: Data Lead")
    record(trust, user=admin, action=AuditAction.ROLE_REMOVED, target="Tom Jones: Data Lead")
    record(another_trust(), user=admin, target="Elsewhere")
    rows = read(url)(site_client(trust, admin).get(url))
    assert rows[0] == ["Time", "Person", "Email", "Action", "How", "Target", "Acting from",
                       "Address"]  # fmt: skip
    assert [row[5] for row in rows[1:]] == ["Tom Jones: Data Lead", "Sam Smith: Data Lead"]
    assert rows[1][1:3] == ["Ada Admin", "ada@oak.test"]
    assert rows[1][7] == "192.0.2.1"
    if "xlsx" in url:
        assert isinstance(rows[1][0], datetime.datetime)  # a date cell


def test_the_audit_file_keeps_the_pages_filters(site_client, trust, admin):
    record(trust, user=admin, target="kept")
    record(trust, user=admin, action=AuditAction.ROLE_REMOVED, target="left out")
    client = site_client(trust, admin)
    query = f"?action={AuditAction.ROLE_ASSIGNED.value}&person=ada&page=3"
    rows = csv_rows(client.get(f"/audit/export.csv{query}"))
    assert [row[5] for row in rows[1:]] == ["kept"]
    html = client.get(f"/audit/{query}").content.decode()
    assert (
        f'href="/audit/export.xlsx?action={AuditAction.ROLE_ASSIGNED.value}&amp;person=ada"' in html
    )


def test_a_formula_in_an_audit_target_is_text(site_client, trust, admin):
    record(trust, user=admin, target="=1+1")
    client = site_client(trust, admin)
    assert csv_rows(client.get("/audit/export.csv"))[1][5] == "'=1+1"
    assert xlsx_formula_cells(client.get("/audit/export.xlsx")) == []


def test_audit_exports_need_the_pages_permission(site_client, trust, sam):
    for url in AUDIT_EXPORTS:
        response = site_client(trust, sam.user).get(url)
        assert response.status_code == 403, url
        if url.startswith("/api/"):
            assert response.json()["error"]["code"] == "permission_denied"
        else:
            assert "User Details" in response.content.decode()
        outsider = site_client(trust, staff_admin(another_trust(f"Other {url}")).user).get(url)
        assert outsider.status_code in ((403,) if url.startswith("/api/") else (404,)), url


def test_the_api_refuses_bad_audit_filters(site_client, trust, admin):
    response = site_client(trust, admin).get(
        "/api/v1/audit-events/export/?format=xlsx&date_from=2026-12-07&date_to=2026-12-01"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "date_to": ["The end date must be the same as or after the start date."]
    }


@pytest.mark.parametrize("url", ["/audit/export.csv", "/audit/export.xlsx"])
def test_the_audit_file_takes_the_same_queries_for_more_events(
    site_client, trust, admin, url, django_assert_num_queries
):
    record(trust, user=admin, target="first")
    client = site_client(trust, admin)
    few = queries_to_read(client, url, read(url))
    for number in range(30):
        record(trust, user=admin, target=f"event {number}", acting_from=trust)
    with django_assert_num_queries(few):
        rows = read(url)(client.get(url))
    assert len(rows) > 30
