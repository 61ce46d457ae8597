"""The Analytics dashboard and a school's Students and Attendance pages in a real browser:
each page renders, is checked with axe (no serious or critical violation) and is kept as a
screenshot in test-artifacts/e2e/."""

import datetime

import pytest
from django.utils import timezone

from tests.e2e.test_sharing_journey import TIMEOUT_MS, check_page, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _records(journey):
    from mis.rollups import rollups_refresh_school
    from sharing.models import Agreement
    from tests.mis.factories import PupilFactory, mark_days, school_days, suspend

    today = timezone.localdate()
    st_marys, elm_grove, _ = journey["schools"]
    Agreement.objects.create(
        group=journey["trust"], school=st_marys, level=2, approved_at=timezone.now()
    )
    Agreement.objects.create(
        group=journey["trust"], school=elm_grove, level=1, approved_at=timezone.now()
    )
    days = school_days(today - datetime.timedelta(days=13), today)
    pupils = []
    for n, (first, last) in enumerate(
        (("Amara", "Okafor"), ("Ben", "Hughes"), ("Chloe", "Walsh"), ("Dev", "Patel"))
    ):
        pupil = PupilFactory(
            site=st_marys,
            legal_first_name=first,
            legal_last_name=last,
            year_group=3 + n % 2,
            disadvantaged=n % 2 == 0,
            sen_provision="K" if n == 3 else "N",
        )
        codes = ["/", "\\"] * len(days)
        if n == 1:
            codes[2:5] = ["I", "I", "O"]
        mark_days(pupil, days, codes)
        pupils.append(pupil)
    suspend(pupils[1], today - datetime.timedelta(days=3))
    rollups_refresh_school(school_id=st_marys.pk, today=today)
    return st_marys, pupils


def test_analytics_students_and_attendance_pages(journey, browser):
    from playwright.sync_api import expect

    st_marys, pupils = _records(journey)
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()

    trust_url = journey["host"](journey["trust"])
    page.goto(f"{trust_url}/analytics/")
    sign_in(page, "priya@oak-ridge.test")
    expect(page.get_by_role("heading", name="Analytics", exact=True)).to_be_visible()
    expect(page.get_by_text("have not shared their MIS data")).to_be_visible()
    check_page(page, "20-trust-analytics")
    page.goto(f"{trust_url}/analytics/schools/{st_marys.urn}/")
    expect(page.get_by_text("Year 3").first).to_be_visible()
    check_page(page, "21-trust-analytics-school")

    head = journey["heads"][0]
    school_url = journey["host"](st_marys)
    school_page = browser.new_context().new_page()
    school_page.set_default_timeout(TIMEOUT_MS)
    school_page.goto(f"{school_url}/students/")
    sign_in(school_page, head.email)
    expect(school_page.get_by_role("link", name="Hughes, Ben")).to_be_visible()
    check_page(school_page, "22-school-students")
    school_page.get_by_role("link", name="Hughes, Ben").click()
    expect(school_page.get_by_text(pupils[1].upn).first).to_be_visible()
    check_page(school_page, "23-school-pupil")
    school_page.goto(f"{school_url}/attendance/")
    check_page(school_page, "24-school-attendance")
    context.close()


def test_reads_from_outside_the_school_beside_the_audit_trail(journey, browser):
    """The head sees who from the trust read the school's pupils, on the tab beside the
    audit trail (the reads as the Log in to MIS pages record them)."""
    from playwright.sync_api import expect

    from mis.models import OutsideRead, OutsideReadKind
    from tests.mis.factories import in_site

    st_marys, pupils = _records(journey)
    with in_site(st_marys):
        for what, pupil in ((OutsideReadKind.STUDENTS, None), (OutsideReadKind.PUPIL, pupils[1])):
            OutsideRead.objects.create(
                site=st_marys,
                reader=journey["admin"],
                from_group=journey["trust"],
                what=what,
                pupil=pupil,
                path=f"/students/{pupil.pk}/" if pupil else "/students/",
            )
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{journey['host'](st_marys)}/audit/")
    sign_in(page, journey["heads"][0].email)
    page.get_by_role("link", name="Reads from outside the school").click()
    expect(page.get_by_role("heading", name="Reads from outside the school")).to_be_visible()
    expect(page.get_by_text("Priya Shah").first).to_be_visible()
    expect(page.get_by_text(f"A pupil’s record: {pupils[1].name}")).to_be_visible()
    check_page(page, "25-school-reads-from-outside")
