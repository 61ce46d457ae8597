"""School site: Students (list and pupil page) and Attendance, against hand-made records.

The world, on Wednesday 25 November 2026 (autumn term: 1 September to 25 November):

- Ava Adams, Year 3, FSM and disadvantaged, SEN support: present every session of 16-20
  November and today (12 present); two unauthorised absences in July (last year) that
  this term does not count.
- Ben Brown, Year 4, EHC plan: 19 October present twice; 16-20 November
  / \\ I O # # / \\ / \\; today AM I, PM not marked. This term: 8 present, 2 authorised,
  1 unauthorised, 2 not possible: 8/11 = 72.7%, a persistent absentee (3 of 11 missed).
  A suspension on 1 October (this year) and one on 1 June (last year).
- Cara Clark ("Caz"), Year 3: 16-20 November nine present and one I; today AM O, PM #.
  This term: 9 present, 1 authorised, 1 unauthorised, 1 not possible: 9/11 = 81.8%.
- Dan Dale, Year 4, left on 31 October: present 12-13 October (4 sessions); a Z mark today.
- Eve Evans, Year 5, on roll, no marks at all.
- Zed Other, a pupil of another school, with marks today.
"""

import datetime
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mis.codes import SenProvision
from mis.selectors import Attendance, attendance_day, attendance_term, percent
from tests.factories import pupil_data_staff
from tests.hop.factories import World as HopWorld
from tests.institutions.factories import SchoolFactory, add_school
from tests.mis.factories import (
    PupilFactory,
    in_site,
    mark,
    mark_days,
    school_days,
    suspend,
)

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 25)  # a Wednesday of the autumn term
WEEK = school_days(datetime.date(2026, 11, 16), datetime.date(2026, 11, 20))


@pytest.fixture(autouse=True)
def today(monkeypatch):
    """The pages and the API count up to TODAY."""
    clock = SimpleNamespace(localdate=lambda: TODAY)
    monkeypatch.setattr("mis.views.timezone", clock)
    monkeypatch.setattr("mis.api.timezone", clock)
    return TODAY


class World:
    def __init__(self):
        self.school = SchoolFactory(name="Fenwick Primary", slug="fenwick")
        self.staff = pupil_data_staff(self.school)
        self.ava = PupilFactory(
            site=self.school,
            legal_first_name="Ava",
            legal_last_name="Adams",
            year_group=3,
            date_of_birth=datetime.date(2018, 2, 3),
            fsm_eligible=True,
            disadvantaged=True,
            sen_provision=SenProvision.SEN_SUPPORT,
        )
        mark_days(self.ava, [datetime.date(2026, 7, 10)], ["O", "O"])
        mark_days(self.ava, WEEK, ["/", "\\"] * 5)
        mark_days(self.ava, [TODAY], ["/", "\\"])

        self.ben = PupilFactory(
            site=self.school,
            legal_first_name="Benjamin",
            preferred_first_name="Ben",
            legal_last_name="Brown",
            year_group=4,
            date_of_birth=datetime.date(2017, 5, 6),
            sen_provision=SenProvision.EHC_PLAN,
        )
        mark_days(self.ben, [datetime.date(2026, 10, 19)], ["/", "\\"])
        mark_days(self.ben, WEEK, ["/", "\\", "I", "O", "#", "#", "/", "\\", "/", "\\"])
        mark(self.ben, TODAY, "AM", "I")
        self.ben_suspension = suspend(self.ben, datetime.date(2026, 10, 1), sessions=3)
        suspend(self.ben, datetime.date(2026, 6, 1))  # last academic year

        self.cara = PupilFactory(
            site=self.school,
            legal_first_name="Caroline",
            preferred_first_name="Caz",
            legal_last_name="Clark",
            year_group=3,
        )
        mark_days(self.cara, WEEK, ["/", "\\"] * 4 + ["I", "/"])
        mark_days(self.cara, [TODAY], ["O", "#"])

        self.dan = PupilFactory(
            site=self.school,
            legal_first_name="Dan",
            legal_last_name="Dale",
            year_group=4,
            left_on=datetime.date(2026, 10, 31),
        )
        mark_days(self.dan, school_days(datetime.date(2026, 10, 12), datetime.date(2026, 10, 13)),
                  ["/", "\\"] * 2)  # fmt: skip
        mark(self.dan, TODAY, "AM", "Z")

        self.eve = PupilFactory(
            site=self.school, legal_first_name="Eve", legal_last_name="Evans", year_group=5
        )

        self.other_school = SchoolFactory(name="Elm Primary", slug="elm")
        self.zed = PupilFactory(
            site=self.other_school, legal_first_name="Zed", legal_last_name="Other", year_group=3
        )
        mark_days(self.zed, [TODAY], ["O", "O"])
        self.other_staff = pupil_data_staff(self.other_school)


@pytest.fixture
def world():
    return World()


@pytest.fixture
def client(world, site_client):
    return site_client(world.school, world.staff)


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- Who may look ---------------------------------------------------------------------------

PAGES = ("/students/", "/attendance/")


def test_anonymous_visitors_are_sent_to_sign_in(world, site_client):
    for path in (*PAGES, f"/students/{world.ava.pk}/"):
        response = site_client(world.school).get(path)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/sign-in/?next={quote(path)}"


def test_staff_of_another_site_get_a_404(world, site_client):
    client = site_client(world.school, world.other_staff)
    for path in (*PAGES, f"/students/{world.ava.pk}/"):
        assert client.get(path).status_code == 404


def test_a_group_site_has_no_students_or_attendance_pages(world, site_client, trust, trust_staff):
    add_school(trust)
    client = site_client(trust, trust_staff)
    for path in (*PAGES, f"/students/{world.ava.pk}/"):
        assert client.get(path).status_code == 404
    menu = html_of(client.get("/"))
    assert 'href="/students/"' not in menu


def test_another_schools_pupil_is_a_404_like_a_missing_one(world, client):
    assert client.get(f"/students/{world.zed.pk}/").status_code == 404
    assert client.get("/students/999999999/").status_code == 404


def test_the_school_menu_offers_students_and_attendance(world, client):
    html = html_of(client.get("/"))
    assert html.index('href="/students/"') < html.index('href="/attendance/"')
    assert 'aria-current="page">Students<' in html_of(client.get("/students/"))


def test_group_staff_who_logged_in_to_the_mis_see_the_pages():
    hop = HopWorld()
    PupilFactory(site=hop.school, legal_first_name="Hana", legal_last_name="Hopper")
    _response, token = hop.start()
    school_client, redeemed = hop.redeem(token)
    assert redeemed.status_code == 302
    html = html_of(school_client.get("/students/"))
    assert "Hopper, Hana" in html
    assert "Signed in from Oak Ridge Trust" in html
    assert school_client.get("/attendance/").status_code == 200


# --- Students -------------------------------------------------------------------------------


def test_the_list_shows_the_pupils_on_roll_by_surname_with_this_terms_attendance(world, client):
    html = html_of(client.get("/students/"))
    names = ["Adams, Ava", "Brown, Ben", "Clark, Caz", "Evans, Eve"]
    positions = [html.index(name) for name in names]
    assert positions == sorted(positions)
    assert "Dale, Dan" not in html  # left
    assert "Other, Zed" not in html  # another school's
    assert "<strong>4</strong> pupils on roll" in html
    assert "Legal first name: Benjamin" in html
    assert world.ben.upn in html
    assert "6 May 2017" in html
    assert "Year 4" in html
    assert "100.0%" in html  # Ava: 12 of 12 (July's absences are last year)
    assert "72.7%" in html  # Ben: 8 of 11 possible
    assert "81.8%" in html  # Caz: 9 of 11 possible
    assert html.count("Persistent absence") == 2  # Ben and Caz
    assert ">FSM<" in html and ">Disadvantaged<" in html
    assert ">SEN support<" in html and ">EHC plan<" in html
    assert "no sessions yet" in html  # Eve
    assert f'href="/students/{world.ben.pk}/"' in html
    assert "autumn term to date (1 Sep to 25 Nov 2026)" in html


def test_leavers_on_request(world, client):
    html = html_of(client.get("/students/", {"leavers": "1"}))
    assert "Dale, Dan" in html
    assert "Left 31 Oct 2026" in html
    assert "<strong>5</strong> pupils" in html
    assert "Other, Zed" not in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "clark"}, ["Clark, Caz"]),
        ({"q": "caz"}, ["Clark, Caz"]),  # preferred name
        ({"q": "benjamin brown"}, ["Brown, Ben"]),  # legal first name and surname
        ({"q": "AV"}, ["Adams, Ava"]),
        ({"q": "Zed"}, []),  # another school's pupil
        ({"year": "3"}, ["Adams, Ava", "Clark, Caz"]),
        ({"year": "4", "leavers": "1"}, ["Brown, Ben", "Dale, Dan"]),
        ({"year": "3", "q": "a"}, ["Adams, Ava", "Clark, Caz"]),
    ],
)
def test_search_and_filters(world, client, query, expected):
    html = html_of(client.get("/students/", query))
    shown = [
        name
        for name in ("Adams, Ava", "Brown, Ben", "Clark, Caz", "Dale, Dan", "Evans, Eve")
        if name in html
    ]
    assert shown == expected
    if not expected:
        assert "No pupils match." in html


def test_search_by_upn(world, client):
    html = html_of(client.get("/students/", {"q": world.cara.upn.lower()}))
    assert "Clark, Caz" in html and "Adams, Ava" not in html
    tail = world.ava.upn[-6:]  # the digits end the UPN: part of one is enough
    assert "Adams, Ava" in html_of(client.get("/students/", {"q": tail}))


def test_an_unknown_year_group_is_reported_and_left_out(world, client):
    html = html_of(client.get("/students/", {"year": "99"}))
    assert "Choose a year group from the list." in html
    assert "Adams, Ava" in html and "Evans, Eve" in html
    assert 'href="#pupils-year"' in html


def test_the_year_group_choice_lists_the_schools_year_groups(world, client):
    html = html_of(client.get("/students/", {"year": "4"}))
    assert '<option value="4" selected>Year 4</option>' in html
    assert '<option value="5">Year 5</option>' in html
    assert '<option value="11">' not in html


def test_pages_of_50(world, client):
    for n in range(55):
        PupilFactory(site=world.school, legal_last_name=f"Zz{n:02d}")
    html = html_of(client.get("/students/"))
    assert "Showing <strong>1–50</strong> of <strong>59</strong>" in html
    assert 'href="?page=2"' in html
    page_2 = html_of(client.get("/students/", {"page": "2"}))
    assert "Zz54" in page_2 and "Adams, Ava" not in page_2
    assert 'href="?q=zz&amp;page=2"' in html_of(client.get("/students/", {"q": "zz"}))


MIS_TABLES = ("mis_pupil", "mis_attendancemark", "mis_exclusion")


def mis_queries(captured) -> list[str]:
    """The queries that read the school's records (not sessions, users or permissions)."""
    return [q["sql"] for q in captured if any(table in q["sql"] for table in MIS_TABLES)]


def make_pupils(school, n):
    for i in range(n):
        pupil = PupilFactory(site=school, year_group=1 + i % 6)
        mark_days(pupil, WEEK[:2], ["/", "\\", "I", "O"])


def test_the_list_runs_the_same_queries_for_5_and_60_pupils(site_client):
    school = SchoolFactory()
    client = site_client(school, pupil_data_staff(school))
    make_pupils(school, 5)
    client.get("/students/")  # warm up (session, caches)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/students/").status_code == 200
    make_pupils(school, 55)
    with CaptureQueriesContext(connection) as many:
        html = html_of(client.get("/students/"))
    assert "of <strong>60</strong>" in html
    assert len(many) == len(few)
    # The school's year groups, the count, and one page with its attendance.
    assert len(mis_queries(many)) == 3


# --- A pupil's page -------------------------------------------------------------------------


def test_the_pupil_page(world, client):
    html = html_of(client.get(f"/students/{world.ben.pk}/"))
    assert '<h1 class="govuk-heading-l">Ben Brown</h1>' in html
    assert world.ben.upn in html
    assert "Benjamin Brown" in html  # legal name
    assert "6 May 2017" in html
    assert "Education, health and care plan" in html
    assert "1 September 2023" in html  # joined
    assert "Still on roll" in html
    # This term: 8 present, 2 authorised, 1 unauthorised (2 not possible, not counted)
    term = html[html.index('data-testid="term-attendance"') :]
    term = term[: term.index("</dl>")]
    assert "<strong>72.7%</strong>" in term
    for label, value in (
        ("Possible sessions", 11),
        ("Present", 8),
        ("Authorised absence", 2),
        ("Unauthorised absence", 1),
    ):
        assert f'{label}</dt><dd class="govuk-summary-list__value">{value}</dd>' in term
    assert "Persistent absentee" in term
    assert "Missed 3 of 11 possible sessions (27.3%)" in term
    assert "2 sessions marked “not a possible session”" in html
    # The last four weeks, newest first: today and 16-20 November, not 19 October.
    assert html.index("Wed 25 Nov 2026") < html.index("Fri 20 Nov 2026")
    assert "Mon 16 Nov 2026" in html
    assert "19 Oct 2026" not in html
    assert '<abbr title="Illness">I</abbr>' in html
    assert '<abbr title="Absent in other or unknown circumstances">O</abbr>' in html
    assert '<abbr title="Planned whole-school closure">#</abbr>' in html
    assert "no mark" in html  # today PM
    # Suspensions this academic year only
    assert "Suspensions and exclusions in 2026/27" in html
    assert "1 Oct 2026" in html and "3 sessions" in html
    assert "Persistent or general disruptive behaviour" in html
    assert "1 Jun 2026" not in html


def test_a_pupil_without_marks_or_exclusions(world, client):
    html = html_of(client.get(f"/students/{world.eve.pk}/"))
    assert "No possible sessions yet" in html
    assert "No register marks in the last 28 days." in html
    assert "No suspensions or exclusions in 2026/27." in html
    assert "Persistent absentee" not in html


def test_a_leavers_page_says_they_left(world, client):
    html = html_of(client.get(f"/students/{world.dan.pk}/"))
    assert "Left 31 October 2026" in html
    assert "100.0%" in html  # 4 of 4 in October


# --- Attendance -----------------------------------------------------------------------------


def _row(html: str, label: str) -> str:
    start = html.index(f'<th scope="row">{label}</th>')
    return html[start : html.index("</tr>", start)]


def _numbers(row: str) -> list[str]:
    import re

    return re.findall(r'mm-table__cell--numeric">(?:<strong>)?([^<]+)', row)


def test_todays_registers(world, client):
    html = html_of(client.get("/attendance/"))
    assert "Today’s registers" in html
    summary = html[html.index('data-testid="day-summary"') :]
    summary = summary[: summary.index("</table>")]
    # AM: Ava present, Ben I, Caz O, Eve unmarked; PM: Ava present, Caz #, Ben and Eve not.
    # Dan (left) and Zed (another school) are not counted.
    assert _numbers(_row(summary, "On roll")) == ["4", "4"]
    assert _numbers(_row(summary, "Present")) == ["1", "1"]
    assert _numbers(_row(summary, "Authorised absence")) == ["1", "0"]
    assert _numbers(_row(summary, "Unauthorised absence")) == ["1", "0"]
    assert _numbers(_row(summary, "Not a possible session")) == ["0", "1"]
    assert _numbers(_row(summary, "Not yet marked")) == ["1", "2"]
    assert _numbers(_row(summary, "Attendance of the marked sessions")) == ["33.3%", "100.0%"]


def test_todays_registers_by_year_group(world, client):
    html = html_of(client.get("/attendance/"))
    morning = html[html.index('id="am-caption"') : html.index('id="pm-caption"')]
    afternoon = html[html.index('id="pm-caption"') :]
    afternoon = afternoon[: afternoon.index("</table>")]
    # on roll, present, authorised, unauthorised, not possible, not marked, attendance
    assert _numbers(_row(morning, "Year 3")) == ["2", "1", "0", "1", "0", "0", "50.0%"]
    assert _numbers(_row(morning, "Year 4")) == ["1", "0", "1", "0", "0", "0", "0.0%"]
    assert _numbers(_row(morning, "Year 5"))[:6] == ["1", "0", "0", "0", "0", "1"]
    assert _numbers(_row(afternoon, "Year 3")) == ["2", "1", "0", "0", "1", "0", "100.0%"]
    assert _numbers(_row(afternoon, "Year 4"))[:6] == ["1", "0", "0", "0", "0", "1"]
    total = afternoon[afternoon.index("<tfoot>") :]
    assert _numbers(total) == ["4", "1", "0", "0", "1", "2", "100.0%"]


def test_the_term_to_date(world, client):
    html = html_of(client.get("/attendance/"))
    term = html[html.index('data-testid="term-summary"') :]
    # present 12 + 8 + 9 + 4 = 33 of 36 + 2 = 38 possible (Dan's October sessions count:
    # he was on roll then); not possible sessions count for nothing.
    assert "86.8%" in term[: term.index("</ul>")]
    assert ">38<" in term[: term.index("</ul>")]
    assert "Persistent absentees (50.0% of 4 pupils)" in term
    by_year = term[term.index('id="term-caption"') :]
    # Year 3: Ava 12/12 + Caz 9/11 = 21 of 23; Year 4: Ben 8/11 + Dan 4/4 = 12 of 15
    assert _numbers(_row(by_year, "Year 3")) == ["23", "21", "1", "1", "91.3%", "1 of 2"]
    assert _numbers(_row(by_year, "Year 4")) == ["15", "12", "2", "1", "80.0%", "1 of 2"]
    assert "Year 5</th>" not in by_year  # Eve has no marks


def test_another_day(world, client):
    html = html_of(client.get("/attendance/", {"date": "2026-11-18"}))
    assert "Registers of 18 November 2026" in html
    summary = html[html.index('data-testid="day-summary"') :]
    # Wednesday 18 November: Ava / \, Ben # #, Caz / \; Eve unmarked. Dan was gone.
    assert _numbers(_row(summary, "On roll")) == ["4", "4"]
    assert _numbers(_row(summary, "Present")) == ["2", "2"]
    assert _numbers(_row(summary, "Not a possible session")) == ["1", "1"]
    assert _numbers(_row(summary, "Not yet marked")) == ["1", "1"]
    assert "Back to today" in html


def test_a_day_without_registers_says_so(world, client):
    html = html_of(client.get("/attendance/", {"date": "2026-11-22"}))  # a Sunday
    assert "No register has been taken for Sunday 22 November 2026" in html


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("25/11/2026", "Enter the date as year-month-day, for example 2026-11-25."),
        ("2026-02-30", "Enter the date as year-month-day, for example 2026-11-25."),
        ("yesterday", "Enter the date as year-month-day, for example 2026-11-25."),
        ("2026-11-26", "The date must be today or earlier"),
    ],
)
def test_a_bad_date_is_reported_and_today_shown(world, client, value, message):
    response = client.get("/attendance/", {"date": value})
    html = html_of(response)
    assert "There is a problem" in html
    assert message in html
    assert 'href="#attendance-date"' in html
    assert "Showing today instead." in html
    assert "Today’s registers" in html
    assert "<title>Error: Attendance" in html


def test_the_attendance_page_runs_a_constant_number_of_queries(site_client):
    school = SchoolFactory()
    client = site_client(school, pupil_data_staff(school))
    make_pupils(school, 5)
    client.get("/attendance/")
    with CaptureQueriesContext(connection) as few:
        client.get("/attendance/", {"date": "2026-11-16"})
    make_pupils(school, 60)
    with CaptureQueriesContext(connection) as many:
        html = html_of(client.get("/attendance/", {"date": "2026-11-16"}))
    assert len(many) == len(few)
    assert len(mis_queries(many)) == 2  # the day's registers; the term to date
    assert "Year 6" in html


# --- The arithmetic -------------------------------------------------------------------------


def test_attendance_arithmetic_leaves_out_sessions_that_are_not_possible():
    figures = Attendance(present=9, authorised=1, unauthorised=0, not_possible=6)
    assert figures.possible == 10
    assert figures.percent == percent(9, 10) and str(figures.percent) == "90.0"
    assert figures.persistent_absentee  # exactly 10% missed counts
    assert not Attendance(present=19, authorised=1).persistent_absentee  # 5%
    assert Attendance(present=0, not_possible=4).percent is None
    assert not Attendance(not_possible=4).persistent_absentee
    assert str(percent(2, 3)) == "66.7" and str(percent(1, 8)) == "12.5"
    assert str(percent(1, 200)) == "0.5"  # half up
    assert (Attendance(1, 2, 3, 4) + Attendance(1, 1, 1, 1)) == Attendance(2, 3, 4, 5)


def test_the_selectors_only_count_the_sites_own_records(world):
    with in_site(world.other_school):
        other = attendance_day(site=world.other_school, day=TODAY)
        assert (other.am.on_roll, other.am.unauthorised) == (1, 1)
        assert attendance_term(site=world.other_school, day=TODAY).overall.attendance.possible == 2
    with in_site(world.school):
        mine = attendance_term(site=world.school, day=TODAY)
        assert mine.overall.attendance.unauthorised == 2  # not Zed's two O marks
        assert attendance_day(site=world.school, day=TODAY).am.on_roll == 4
