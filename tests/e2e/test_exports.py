"""Exports in a real browser: on Browse Institutions, the keyboard follows the Excel link,
the browser downloads the file, and openpyxl reads back the rows the page shows, in its
order; the same for the CSV of a school's Students. Screenshots at desktop and phone width
are kept in test-artifacts/e2e/."""

import csv
import io

import pytest

from tests.e2e.test_sharing_journey import TIMEOUT_MS, check_page, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}


def _download(page, link_name: str):
    """Follow the link named ``link_name`` from the keyboard; the download's file name and
    bytes."""
    link = page.get_by_role("link", name=link_name)
    link.focus()
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    download = info.value
    with open(download.path(), "rb") as file:
        return download.suggested_filename, file.read()


def test_the_browse_spreadsheet_holds_the_rows_the_page_shows(journey, browser):
    from openpyxl import load_workbook
    from playwright.sync_api import expect

    from tests.institutions.factories import add_school

    trust = journey["trust"]
    add_school(trust, name='=HYPERLINK("http://evil.test","Open")', slug="formula")
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    trust_url = journey["host"](trust)
    page.goto(f"{trust_url}/institutions/?sort=-name")
    sign_in(page, journey["admin"].email)
    expect(page.get_by_role("heading", name="Browse Institutions")).to_be_visible()
    check_page(page, "30-browse-export-links")

    rows = page.locator("#browse-results tbody tr")
    shown = [
        (row.locator("th a").inner_text(), row.locator("td").first.inner_text())
        for row in rows.all()
    ]
    assert len(shown) == 4
    name, content = _download(page, "Download these schools as Excel (XLSX)")
    assert name.startswith("oak-ridge-schools-") and name.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    header, *cells = list(sheet.iter_rows(values_only=True))
    assert header[:2] == ("School", "URN")
    # The page's rows in the page's order (sorted by name, descending), every one; the
    # formula-looking name is text in the file, shown as typed on the page.
    assert [(row[0].removeprefix("'"), row[1]) for row in cells] == shown
    assert cells[-1][0] == '\'=HYPERLINK("http://evil.test","Open")'

    page.set_viewport_size(PHONE)
    expect(page.get_by_role("link", name="Download these schools as CSV")).to_be_visible()
    check_page(page, "31-browse-export-links-phone")
    context.close()


def test_the_students_csv_holds_the_pupils_the_page_lists(journey, browser):
    from playwright.sync_api import expect

    from tests.mis.factories import PupilFactory

    school = journey["schools"][0]
    for first, last, year in (("Amara", "Okafor", 3), ("Ben", "Hughes", 4), ("Chloe", "Walsh", 3)):
        PupilFactory(site=school, legal_first_name=first, legal_last_name=last, year_group=year)
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{journey['host'](school)}/students/?year=3")
    sign_in(page, journey["heads"][0].email)
    expect(page.get_by_role("link", name="Okafor, Amara")).to_be_visible()
    check_page(page, "32-students-export-links")
    shown = page.locator("#pupil-results tbody th a").all_inner_texts()
    assert shown == ["Okafor, Amara", "Walsh, Chloe"]

    name, content = _download(page, "Download these pupils as CSV")
    assert name.startswith("st-marys-students-") and name.endswith(".csv")
    header, *rows = csv.reader(io.StringIO(content.decode("utf-8-sig")))
    assert header[:2] == ["Surname", "First name"]
    assert [f"{row[0]}, {row[1]}" for row in rows] == shown
    context.close()
