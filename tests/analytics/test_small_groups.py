"""The drill-down never shows a group the figures of one or two pupils, nor a line that
would give them away (the whole-school row minus the other lines)."""

import datetime

import pytest
from django.utils import timezone

from analytics.selectors import DERIVABLE, SMALL_GROUP, school_breakdown
from mis.models import AttendanceRollup, RollupState
from sharing.models import Agreement
from tests.factories import pupil_data_staff
from tests.institutions.factories import add_school

pytestmark = pytest.mark.django_db

COUNTS = dict(
    possible_sessions=0,
    present_sessions=0,
    authorised_sessions=0,
    unauthorised_sessions=0,
    persistent_absentees=0,
    suspensions=0,
    permanent_exclusions=0,
)


def cell(school, year, disadvantaged, sen, pupils, *, absent_each=0):
    possible = pupils * 100
    absent = pupils * absent_each
    AttendanceRollup.objects.create(
        school=school,
        year_group=year,
        disadvantaged=disadvantaged,
        sen_provision=sen,
        pupils_on_roll=pupils,
        pupils_with_sessions=pupils,
        **{
            **COUNTS,
            "possible_sessions": possible,
            "present_sessions": possible - absent,
            "unauthorised_sessions": absent,
            "persistent_absentees": pupils if absent_each >= 10 else 0,
        },
    )


@pytest.fixture
def school(trust):
    school = add_school(trust, urn="120001")
    Agreement.objects.create(group=trust, school=school, level=2, approved_at=timezone.now())
    RollupState.objects.create(
        school=school,
        changed_at=timezone.now(),
        refreshed_at=timezone.now(),
        refreshed_for=datetime.date(2026, 11, 25),
    )
    # Year 3: 30 pupils without SEN; Year 4: 20 with SEN support and 2 with an EHC plan
    # who missed 37% of their sessions (the figure that must not reach the group).
    cell(school, 3, False, "N", 30, absent_each=5)
    cell(school, 4, True, "K", 20, absent_each=6)
    cell(school, 4, True, "E", 2, absent_each=37)
    return school


def lines(trust, key):
    found = school_breakdown(group=trust, urn="120001")
    return {line.key: line for part in found.breakdowns if part.key == key for line in part.lines}


def test_a_line_of_fewer_than_three_pupils_is_withheld_and_one_that_would_reveal_it(trust, school):
    sen = lines(trust, "sen_provision")
    assert sen["E"].withheld and sen["E"].withheld_because == SMALL_GROUP
    # N (30) and K (20) remain: with the whole school (52) they would give E away, so the
    # smaller of them goes too.
    assert sen["K"].withheld and sen["K"].withheld_because == DERIVABLE
    assert not sen["N"].withheld and sen["N"].figures.pupils_on_roll == 30
    # Year groups and disadvantage are big enough: shown.
    years = lines(trust, "year_group")
    assert years["4"].figures.pupils_on_roll == 22
    assert not any(line.withheld for line in lines(trust, "disadvantaged").values())


def test_two_small_lines_protect_each_other(trust, school):
    cell(school, 5, False, "N", 1, absent_each=50)
    years = lines(trust, "year_group")
    # Year 5 (1 pupil) is withheld; Year 4 would reveal it, so the smallest other (Year 4,
    # 22) goes too.
    assert years["5"].withheld_because == SMALL_GROUP
    assert years["4"].withheld_because == DERIVABLE
    assert not years["3"].withheld


def test_page_and_api_never_show_the_small_groups_figures(site_client, trust, school):
    client = site_client(trust, pupil_data_staff(trust))
    html = client.get("/analytics/schools/120001/").content.decode()
    assert "Fewer than 3 pupils: figures withheld." in html
    assert "63.0%" not in html  # the EHC plan pupils' attendance (100 - 37)
    body = client.get("/api/v1/analytics/schools/120001/").json()
    sen = next(part for part in body["breakdowns"] if part["key"] == "sen_provision")
    withheld = {line["key"]: line for line in sen["lines"] if line["withheld"]}
    assert set(withheld) == {"E", "K"}
    assert all(line["figures"] is None for line in withheld.values())
    assert "63.0" not in str(body)
