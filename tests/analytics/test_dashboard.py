"""The group's Analytics page and a school's breakdown: hand-computed totals, gating by
agreement level, filters, refresh times, and the same queries for 5 schools and 300.

The world (``world`` fixture), a trust and its five current schools:

====  =====  ======================================  ==========================================
name  level  live figures (one roll-up cell each)      published 2024/25
====  =====  ======================================  ==========================================
Ash   2      1000 possible, 900 present, 20 of 100   20000 sessions, 1000 absent; 10 of 100 PA;
             PA, 5 suspensions, 100 on roll          2 suspensions, headcount 100
Birch 3      100 possible, 50 present, 5 of 10 PA,    2000 sessions, 400 absent; 6 of 10 PA;
             3 suspensions, 10 on roll               4 suspensions, headcount 10
Cedar 1      (secret) 613 of 1000 present, ...       10000 sessions, 700 absent; 9 of 50 PA;
                                                     3 suspensions, headcount 50
Damson 0     (secret) 777 of 1000 present, ...       (secret) 43.21% / 54.32% / 65.43
Elm   3      none: no RollupState                    none
====  =====  ======================================  ==========================================

Group, live (Ash and Birch): attendance 950/1100 = 86.4% (the average of the two schools'
rates would be 70.0%), absence 150/1100 = 13.6%, PA 25/110 = 22.7%, suspensions 8/110*100 =
7.3 per 100. Published (Ash, Birch, Cedar): absence 2100/32000 = 6.6%, PA 25/160 = 15.6%,
suspensions 9/160*100 = 5.6.
"""

import datetime
import itertools
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.models import PublishedFigures
from analytics.selectors import DashboardFilters, group_dashboard
from institutions.models import (
    Cluster,
    ClusterMembership,
    GroupMembership,
    Institution,
    InstitutionKind,
    Status,
)
from mis.models import AttendanceRollup, RollupState
from mis.rollups import rollups_refresh_school
from sharing.models import Agreement
from tests.accounts.factories import associate
from tests.conftest import SITE_SCOPE_QUERIES
from tests.exports import body as file_body
from tests.factories import (
    LocalAuthorityFactory,
    StaffProfileFactory,
    TrustFactory,
    pupil_data_staff,
)
from tests.institutions.factories import ClusterFactory, add_school, put_in_cluster
from tests.mis.factories import PupilFactory, mark_days, school_days, suspend

pytestmark = pytest.mark.django_db

URL = "/analytics/"
API_LIST = "/api/v1/analytics/schools/"
PERIOD = "202425"
REFRESHED_AT = timezone.make_aware(datetime.datetime(2026, 11, 25, 6, 30))
REFRESHED_FOR = datetime.date(2026, 11, 25)

# Figures a group must never see: Cedar's live ones (level 1), Damson's everything (0).
CEDAR_LIVE = ("61.3%", "38.7%", "37.0%", "41.0")
DAMSON_SECRETS = ("77.7%", "22.3%", "43.2%", "54.3%", "65.4", "88.8")


# --- Building the world ---------------------------------------------------------------------


def agree(group, school, level: int) -> None:
    if level:
        Agreement.objects.create(
            group=group, school=school, level=level, approved_at=timezone.now()
        )


def rollup(school, *, refreshed_at=REFRESHED_AT, refreshed_for=REFRESHED_FOR, cells=()):
    """Roll-up cells written directly, with the school's refresh state."""
    RollupState.objects.create(
        school=school,
        changed_at=refreshed_at,
        refreshed_at=refreshed_at,
        refreshed_for=refreshed_for,
        term_start=datetime.date(2026, 9, 1),
        year_start=datetime.date(2026, 9, 1),
    )
    AttendanceRollup.objects.bulk_create(
        AttendanceRollup(school=school, **cell_counts(**cell)) for cell in cells
    )


def cell_counts(
    *,
    year_group=3,
    disadvantaged=False,
    sen_provision="N",
    on_roll=0,
    with_sessions=0,
    possible=0,
    present=0,
    authorised=0,
    pa=0,
    suspensions=0,
):
    return {
        "year_group": year_group,
        "disadvantaged": disadvantaged,
        "sen_provision": sen_provision,
        "pupils_on_roll": on_roll,
        "pupils_with_sessions": with_sessions,
        "possible_sessions": possible,
        "present_sessions": present,
        "authorised_sessions": authorised,
        "unauthorised_sessions": possible - present - authorised,
        "persistent_absentees": pa,
        "suspensions": suspensions,
        "permanent_exclusions": 0,
    }


def published(school, period=PERIOD, **figures) -> PublishedFigures:
    return PublishedFigures.objects.create(school=school, time_period=period, **figures)


def absence(possible, absent, enrolments, pa, headcount, suspensions, **rates):
    return {
        "sessions_possible": possible,
        "sessions_overall_absence": absent,
        "enrolments": enrolments,
        "persistent_absentees": pa,
        "headcount": headcount,
        "suspensions": suspensions,
        **rates,
    }


@pytest.fixture
def world(trust):
    return build_world(trust)


def build_world(trust) -> dict[str, Institution]:
    """The trust's five schools of the module docstring, with their figures."""
    ash = add_school(trust, name="Ash Primary", urn="110001", pupils=100, percentage_fsm="10.0")
    birch = add_school(
        trust,
        name="Birch Academy",
        urn="110002",
        phase="Secondary",
        pupils=10,
        percentage_fsm="50.0",
    )
    cedar = add_school(trust, name="Cedar Infants", urn="110003", pupils=100)
    damson = add_school(trust, name="Damson School", urn="110004", pupils=100)
    elm = add_school(trust, name="Elm Nursery", urn="110005", phase="Nursery", pupils=None)
    for school, level in ((ash, 2), (birch, 3), (cedar, 1), (damson, 0), (elm, 3)):
        agree(trust, school, level)

    rollup(
        ash,
        cells=[
            # Two cells that add up to the school's figures.
            dict(on_roll=60, with_sessions=60, possible=600, present=540, authorised=40, pa=12,
                 suspensions=3, disadvantaged=True, sen_provision="K"),
            dict(on_roll=40, with_sessions=40, possible=400, present=360, authorised=20, pa=8,
                 suspensions=2, year_group=4),
        ],
    )  # fmt: skip
    rollup(
        birch,
        refreshed_at=REFRESHED_AT - datetime.timedelta(hours=5),
        refreshed_for=REFRESHED_FOR - datetime.timedelta(days=1),
        cells=[
            dict(on_roll=10, with_sessions=10, possible=100, present=50, authorised=30, pa=5,
                 suspensions=3, year_group=9),
        ],
    )  # fmt: skip
    rollup(
        cedar,
        refreshed_at=REFRESHED_AT - datetime.timedelta(days=3),
        cells=[
            dict(on_roll=100, with_sessions=100, possible=1000, present=613, authorised=300,
                 pa=37, suspensions=41),
        ],
    )  # fmt: skip
    rollup(
        damson,
        refreshed_at=REFRESHED_AT - datetime.timedelta(days=9),
        cells=[
            dict(on_roll=100, with_sessions=100, possible=1000, present=777, authorised=100,
                 pa=88, suspensions=17),
        ],
    )  # fmt: skip

    published(
        ash,
        **absence(
            20000,
            1000,
            100,
            10,
            100,
            2,
            overall_absence_rate="5.00",
            persistent_absence_rate="10.00",
            suspension_rate="2.00",
        ),
    )
    published(
        birch,
        **absence(
            2000,
            400,
            10,
            6,
            10,
            4,
            overall_absence_rate="20.00",
            persistent_absence_rate="60.00",
            suspension_rate="40.00",
        ),
    )
    published(
        cedar,
        **absence(
            10000,
            700,
            50,
            9,
            50,
            3,
            overall_absence_rate="7.00",
            persistent_absence_rate="18.00",
            suspension_rate="6.00",
        ),
    )
    published(
        damson,
        **absence(
            5000,
            2160,
            40,
            21,
            40,
            26,
            overall_absence_rate="43.21",
            persistent_absence_rate="54.32",
            suspension_rate="65.43",
        ),
    )
    # An older year, which the dashboard does not show.
    published(ash, "202324", **absence(20000, 3000, 100, 30, 100, 9, overall_absence_rate="15.00"))
    published(
        None,
        **absence(
            None,
            None,
            None,
            None,
            None,
            None,
            overall_absence_rate="6.90",
            persistent_absence_rate="17.80",
            suspension_rate="10.92",
        ),
    )
    published(None, "202324", overall_absence_rate="7.40")
    return {"ash": ash, "birch": birch, "cedar": cedar, "damson": damson, "elm": elm}


def two(value: Decimal) -> Decimal:
    """The selectors' unrounded rates, to two places."""
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)


def page(site_client, group, user=None, params=None):
    response = site_client(group, user or pupil_data_staff(group)).get(URL, params or {})
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def row_html(html: str, name: str) -> str:
    match = re.search(
        rf"<tr>\s*<th scope=\"row\"><a [^>]*>{re.escape(name)}</a>.*?</tr>", html, re.S
    )
    assert match, f"no row for {name}"
    return match.group(0)


def total_html(html: str) -> str:
    match = re.search(r"<tr>\s*<th scope=\"row\">Group total.*?</tr>", html, re.S)
    assert match
    return match.group(0)


def cells(fragment: str) -> list[str]:
    """The text of each td, tags removed, whitespace collapsed."""
    found = re.findall(r"<td[^>]*>(.*?)</td>", fragment, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in found]


# --- Totals -----------------------------------------------------------------------------------


def test_totals_are_sums_of_counts_not_averages_of_rates(trust, world):
    totals = group_dashboard(group=trust).totals
    assert totals.live_schools == 2  # Ash and Birch; Elm has no data, Cedar and Damson hidden
    assert totals.live.present_sessions == 950
    assert totals.live.possible_sessions == 1100
    assert two(totals.live.attendance_rate) == Decimal("86.36")  # not (90 + 50) / 2 = 70
    assert two(totals.live.overall_absence_rate) == Decimal("13.64")
    assert totals.live.persistent_absentees == 25
    assert two(totals.live.persistent_absence_rate) == Decimal("22.73")  # not (20 + 50) / 2
    assert two(totals.live.suspension_rate) == Decimal("7.27")  # not (5 + 30) / 2
    assert two(totals.published_overall_absence.value) == Decimal("6.56")  # 2100 / 32000
    assert totals.published_overall_absence.schools == 3
    assert two(totals.published_persistent_absence.value) == Decimal("15.63")  # 25 / 160
    assert two(totals.published_suspensions.value) == Decimal("5.63")  # 9 / 160 * 100
    assert totals.pupils == 310
    assert totals.pupils_schools == 4
    # FSM: 10 + 5 pupils of 110 in the two schools that give it (not (10 + 50) / 2 = 30).
    assert two(totals.fsm.value) == Decimal("13.64")
    assert totals.fsm.schools == 2


def test_the_page_shows_rows_totals_and_england(site_client, trust, world):
    html = page(site_client, trust)
    ash = cells(row_html(html, "Ash Primary"))
    assert ash == ["Primary", "100", "10.0%", "5.0%", "10.0%", "2.0", "90.0% at Ash Primary: "
                   "figures by year group", "10.0%", "20 20.0%", "5.0"]  # fmt: skip
    birch = cells(row_html(html, "Birch Academy"))
    assert birch[3:] == ["20.0%", "60.0%", "40.0", "50.0% at Birch Academy: figures by year "
                         "group", "50.0%", "5 50.0%", "30.0"]  # fmt: skip
    total = cells(total_html(html))
    assert total[2:] == [
        "13.6%",
        "6.6% 3 schools",
        "15.6% 3 schools",
        "5.6 3 schools",
        "86.4% 2 schools",
        "13.6% 2 schools",
        "25 22.7%, 2 schools",
        "7.3 2 schools",
    ]
    assert 'Group total<span class="mm-table__secondary">5 schools</span>' in html
    england = re.search(r"<th scope=\"row\">England.*?</tr>", html, re.S).group(0)
    assert cells(england)[3:6] == ["6.9%", "17.8%", "10.9"]
    assert "Published 2024/25" in html
    # The table shows the latest year only (the older one is in the trends above it).
    table = html[html.index('id="analytics-results"') :]
    assert "15.0%" not in table and "7.4%" not in table


def test_totals_and_england_head_the_table_below_the_key_figures(site_client, trust, world):
    """The totals were in the footer, out of sight below hundreds of schools: now the
    key figures come first, and the table's first rows are the group's and England's."""
    html = page(site_client, trust)
    table = re.search(r'<table class="mm-table mm-table--figures">.*?</table>', html, re.S)
    table = table.group(0)
    assert "<tfoot>" not in table
    bodies = re.findall(r"<tbody[^>]*>(.*?)</tbody>", table, re.S)
    assert [re.findall(r'<th scope="row">([^<]+)', body) for body in bodies] == [
        ["Group total", "England"],
        [],  # the schools' row headers are links
    ]
    assert table.index("Group total") < table.index("Ash Primary")
    figures = re.search(r'<section class="mm-key-figures".*?</section>', html, re.S).group(0)
    assert html.index(figures) < html.index(table)
    text = " ".join(re.sub(r"<[^>]+>", " ", figures).split())
    assert "Attendance, this term 86.4% Live, 2 schools sharing MIS data" in text
    assert "Persistent absentees, this term 25 22.7% of pupils" in text
    assert "Overall absence, published 2024/25 6.6% England 6.9%" in text
    assert "Persistent absence, published 2024/25 15.6% England 17.8%" in text


def test_rows_are_sorted_by_name_and_link_to_the_institution_and_breakdown(
    site_client, trust, world
):
    html = page(site_client, trust)
    names = re.findall(r'<th scope="row"><a href="/institutions/\d{6}/">([^<]+)</a>', html)
    assert names == [
        "Ash Primary",
        "Birch Academy",
        "Cedar Infants",
        "Damson School",
        "Elm Nursery",
    ]
    assert 'href="/analytics/schools/110001/"' in html
    assert 'href="/analytics/schools/110002/"' in html
    # No breakdown link where there are no live figures to break down.
    for urn in ("110003", "110004", "110005"):
        assert f'href="/analytics/schools/{urn}/"' not in html


# --- Gating -----------------------------------------------------------------------------------


def test_gating_by_level_on_the_page(site_client, trust, world):
    html = page(site_client, trust)
    assert cells(row_html(html, "Cedar Infants"))[3:] == ["7.0%", "18.0%", "6.0", "Not shared"]
    assert cells(row_html(html, "Damson School"))[3:] == ["Not shared", "Not shared"]
    assert cells(row_html(html, "Elm Nursery"))[3:] == ["No published figures", "No MIS data yet"]
    for secret in (*CEDAR_LIVE, *DAMSON_SECRETS):
        assert secret not in html, secret
    # Counts that only the hidden figures hold are not in the page either.
    for count in ("613", "777", ">37<", ">41<", ">88<", "2160", "65.43"):
        assert count not in html, count


def test_banner_counts_schools_that_have_not_shared_mis_data(site_client, trust, world):
    html = page(site_client, trust)
    assert "2 schools have not shared their MIS data" in html  # Cedar (1) and Damson (0)
    assert 'href="/data-sharing/"' in html
    one = page(site_client, trust, params={"phase": "Primary", "cluster": []})
    assert "2 schools have not shared their MIS data" in one
    # Its meaning beside Home's count of schools with no agreement at all (issue 20).
    assert "the schools with no agreement yet (Home counts those)" in html


def test_the_caption_names_the_site_not_the_heading_again(site_client, trust, world):
    html = page(site_client, trust)
    assert '<span class="govuk-caption-m">Oak Ridge Trust</span>' in html
    assert '<span class="govuk-caption-m">Analytics</span>' not in html


def test_no_banner_when_every_school_shown_shares(site_client, trust, world):
    html = page(site_client, trust, params={"phase": "Secondary"})
    assert "have not shared" not in html and "has not shared" not in html
    assert "Birch Academy" in html and "Ash Primary" not in html


def test_refreshed_at_is_the_oldest_among_shared_schools_shown(site_client, trust, world):
    dashboard = group_dashboard(group=trust)
    # Birch's (5 hours older than Ash's); Cedar's and Damson's older times are not theirs to show.
    assert dashboard.refreshed_at == REFRESHED_AT - datetime.timedelta(hours=5)
    assert dashboard.refreshed_for == REFRESHED_FOR - datetime.timedelta(days=1)
    assert dashboard.without_mis_data == 1  # Elm
    html = page(site_client, trust)
    local = timezone.localtime(REFRESHED_AT - datetime.timedelta(hours=5))
    assert (
        f"Live figures refreshed {local:%-d %B %Y, %H:%M}, counted up to 24 November 2026" in html
    )
    assert "1 school sharing MIS data has no MIS data yet" in html


def test_level_three_school_shares_like_level_two(trust, world):
    rows = {row.name: row for row in group_dashboard(group=trust).rows}
    assert rows["Birch Academy"].mis_shared and rows["Birch Academy"].live is not None
    assert rows["Ash Primary"].mis_shared
    assert not rows["Cedar Infants"].mis_shared and rows["Cedar Infants"].live is None
    assert rows["Cedar Infants"].refreshed_at is None
    assert rows["Damson School"].published is None and rows["Damson School"].live is None


def test_a_school_that_left_or_closed_is_not_listed(site_client, trust, world):
    left = add_school(trust, name="Fir Gone School", urn="110009")
    GroupMembership.objects.filter(school=left).update(left_on=datetime.date(2025, 8, 31))
    add_school(trust, name="Gorse Closed School", urn="110010", status=Status.CLOSED)
    html = page(site_client, trust)
    assert "Fir Gone School" not in html and "Gorse Closed School" not in html


# --- Filters ----------------------------------------------------------------------------------


def test_filter_by_cluster_and_phase(site_client, trust, world):
    north = ClusterFactory(group=trust, name="North")
    south = ClusterFactory(group=trust, name="South")
    put_in_cluster(north, world["ash"], world["birch"])
    put_in_cluster(south, world["cedar"])
    html = page(site_client, trust, params={"cluster": [north.pk]})
    assert "Ash Primary" in html and "Birch Academy" in html and "Cedar Infants" not in html
    assert 'Group total<span class="mm-table__secondary">2 schools</span>' in html
    html = page(site_client, trust, params={"cluster": [north.pk, south.pk], "phase": "Primary"})
    assert "Ash Primary" in html and "Cedar Infants" in html and "Birch Academy" not in html
    # The totals follow the filters: Ash alone.
    assert cells(total_html(html))[6] == "90.0% 1 school"
    assert (
        f'href="/analytics/export.csv?cluster={north.pk}&amp;cluster={south.pk}&amp;phase=Primary"'
        in html
    )


def test_filter_only_my_schools(site_client, trust, world):
    north = ClusterFactory(group=trust, name="North")
    put_in_cluster(north, world["birch"])
    profile = StaffProfileFactory(site=trust)
    pupil_data_staff(trust, user=profile.user)
    associate(profile, schools=[world["ash"]], clusters=[north])
    html = page(site_client, trust, profile.user, {"mine": "1"})
    names = re.findall(r'<th scope="row"><a href="/institutions/\d{6}/">([^<]+)</a>', html)
    assert names == ["Ash Primary", "Birch Academy"]
    assert 'id="filter-mine-1" name="mine" value="1" checked' in html
    # Someone with no associations sees none; everyone sees all without the filter.
    nobody = pupil_data_staff(trust)
    assert "No schools match." in page(site_client, trust, nobody, {"mine": "1"})
    assert "Elm Nursery" in page(site_client, trust, nobody)


def facet_counts(html: str, name: str) -> dict[str, int]:
    """The options of filter ``name`` offered, with their counts."""
    fieldset = re.search(
        rf'<fieldset class="mm-filter" id="filter-{name}">(.*?)</fieldset>', html, re.S
    )
    if fieldset is None:
        return {}
    return {
        label: int(count)
        for label, count in re.findall(
            r'<span class="mm-chip__label">([^<]+)</span>\s*<span class="mm-chip__count">(\d+)',
            fieldset.group(1),
        )
    }


def test_phase_filters_have_counts_and_leave_out_empty_phases(site_client, trust, world):
    """As in Browse: each phase with the number of schools it would show, a phase no
    school of the group has is not offered (no "16 plus", "All-through"...)."""
    html = page(site_client, trust)
    assert facet_counts(html, "phase") == {"Nursery": 1, "Primary": 3, "Secondary": 1}
    assert 'value="16 plus"' not in html and 'value="All-through"' not in html


def test_phase_counts_follow_the_other_filters(site_client, trust, world):
    north = ClusterFactory(group=trust, name="North")
    south = ClusterFactory(group=trust, name="South")
    ClusterFactory(group=trust, name="Empty")
    put_in_cluster(north, world["ash"], world["birch"])
    put_in_cluster(south, world["cedar"])
    html = page(site_client, trust, params={"cluster": [north.pk], "phase": "Primary"})
    # Phases counted within North; clusters counted within Primary; the empty cluster
    # and the phases North has none of are left out; a ticked option always stays.
    assert facet_counts(html, "phase") == {"Primary": 1, "Secondary": 1}
    assert facet_counts(html, "cluster") == {"North": 1, "South": 1}
    assert f'id="filter-cluster-{north.pk}" name="cluster" value="{north.pk}" checked' in html
    html = page(site_client, trust, params={"phase": "Nursery"})
    assert facet_counts(html, "phase")["Nursery"] == 1
    assert facet_counts(html, "cluster") == {}  # Elm is in no cluster: none is offered


def test_phase_counts_follow_only_my_schools(site_client, trust, world):
    profile = StaffProfileFactory(site=trust)
    pupil_data_staff(trust, user=profile.user)
    associate(profile, schools=[world["ash"], world["elm"]])
    html = page(site_client, trust, profile.user, {"mine": "1"})
    assert facet_counts(html, "phase") == {"Nursery": 1, "Primary": 1}


def test_htmx_updates_the_filter_counts_out_of_band(site_client, trust, world):
    north = ClusterFactory(group=trust, name="North")
    put_in_cluster(north, world["ash"], world["birch"])
    response = site_client(trust, pupil_data_staff(trust)).get(
        URL, {"cluster": [north.pk]}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert '<div class="mm-filters" id="analytics-filters" hx-swap-oob="true">' in html
    assert facet_counts(html, "phase") == {"Primary": 1, "Secondary": 1}


def test_bad_filter_values_are_reported_and_ignored(site_client, trust, world):
    other_cluster = ClusterFactory(group=TrustFactory(), name="Elsewhere")
    html = page(
        site_client,
        trust,
        params={
            "phase": ["Primary", "Sixth form"],
            "cluster": [other_cluster.pk, "x"],
            "mine": "maybe",
        },
    )
    assert "Part of this view was not recognised" in html
    assert "“Sixth form” is not a phase of education." in html
    assert f"“{other_cluster.pk}” is not one of this group’s clusters." in html
    assert "“x” is not one of this group’s clusters." in html
    assert "is not understood for “Only schools I am associated with”" in html
    assert "Elsewhere" not in html  # the other group's cluster name is never shown
    # The good value still applies.
    assert "Ash Primary" in html and "Birch Academy" not in html


def test_htmx_swaps_only_the_results_and_pushes_the_address(site_client, trust, world):
    client = site_client(trust, pupil_data_staff(trust))
    response = client.get(URL, {"phase": ["Primary", "bogus"]}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div class="mm-browse__results" id="analytics-results">')
    assert response["HX-Push-Url"] == "/analytics/?phase=Primary"
    assert (
        '<span id="analytics-count" hx-swap-oob="innerHTML"><strong>3</strong> schools match'
        in html
    )
    assert "HX-Request" in response["Vary"]


# --- Access -----------------------------------------------------------------------------------


def test_school_sites_have_no_analytics(site_client, world):
    school = world["ash"]
    head = StaffProfileFactory(site=school).user
    client = site_client(school, head)
    for url in (URL, "/analytics/export.csv", "/analytics/schools/110001/"):
        assert client.get(url).status_code == 404, url


def test_anonymous_visitors_are_sent_to_sign_in_and_outsiders_get_404(site_client, trust, world):
    for url in (URL, "/analytics/export.csv", "/analytics/schools/110001/"):
        response = site_client(trust).get(url)
        assert response.status_code == 302 and "/accounts/" in response["Location"], url
        outsider = StaffProfileFactory(site=TrustFactory()).user
        assert site_client(trust, outsider).get(url).status_code == 404, url


def test_menu_has_analytics_on_group_sites(site_client, trust, world):
    html = page(site_client, trust)
    assert re.search(
        r'<a class="mm-nav__link" href="/analytics/" aria-current="page">Analytics</a>', html
    )


# --- The breakdown ----------------------------------------------------------------------------


def breakdown(site_client, group, urn, user=None):
    return site_client(group, user or pupil_data_staff(group)).get(f"/analytics/schools/{urn}/")


def test_breakdown_by_year_group_disadvantage_and_sen(site_client, trust, world):
    html = breakdown(site_client, trust, "110001").content.decode()
    year3 = re.search(r"<th scope=\"row\">Year 3</th>.*?</tr>", html, re.S).group(0)
    assert cells(year3) == ["60", "90.0%", "10.0%", "12", "20.0%", "5.0"]
    year4 = re.search(r"<th scope=\"row\">Year 4</th>.*?</tr>", html, re.S).group(0)
    assert cells(year4) == ["40", "90.0%", "10.0%", "8", "20.0%", "5.0"]
    disadvantaged = re.search(r"<th scope=\"row\">Disadvantaged</th>.*?</tr>", html, re.S)
    assert cells(disadvantaged.group(0))[:2] == ["60", "90.0%"]
    assert "Not disadvantaged" in html
    support = re.search(r"<th scope=\"row\">SEN support \(K\)</th>.*?</tr>", html, re.S)
    assert cells(support.group(0))[0] == "60"
    assert "No special educational need (N)" in html
    assert "Education, health and care plan (E)" not in html  # no such pupils
    whole = re.findall(r"<th scope=\"row\">Whole school</th>.*?</tr>", html, re.S)
    assert len(whole) == 3 and cells(whole[0]) == ["100", "90.0%", "10.0%", "20", "20.0%", "5.0"]


def test_breakdown_of_a_level_one_school_says_not_shared_and_shows_published(
    site_client, trust, world
):
    response = breakdown(site_client, trust, "110003")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Cedar Infants has not shared its MIS data with Oak Ridge Trust." in html
    assert "7.0%" in html and "18.0%" in html  # published
    for secret in CEDAR_LIVE:
        assert secret not in html, secret
    assert "By year group" not in html


def test_breakdown_of_a_level_zero_school_shows_no_figures(site_client, trust, world):
    html = breakdown(site_client, trust, "110004").content.decode()
    assert "Damson School has not shared its MIS data" in html
    assert "Published figures" not in html
    for secret in DAMSON_SECRETS:
        assert secret not in html, secret


def test_breakdown_of_a_school_without_data_yet(site_client, trust, world):
    html = breakdown(site_client, trust, "110005").content.decode()
    assert "No MIS data yet" in html


def test_breakdown_404_for_another_trusts_school_and_unknown_urns(site_client, trust, world):
    other = TrustFactory()
    theirs = add_school(other, name="Their School", urn="120001")
    agree(other, theirs, 3)
    agree(trust, theirs, 3)  # even an agreement does not make it this group's school
    user = pupil_data_staff(trust)
    for urn in ("120001", "999999"):
        response = breakdown(site_client, trust, urn, user)
        assert response.status_code == 404
        assert b"Their School" not in response.content


# --- The institution page -----------------------------------------------------------------------


def test_institution_page_shows_figures_as_the_level_allows(site_client, trust, world):
    client = site_client(trust, pupil_data_staff(trust))
    ash = client.get("/institutions/110001/").content.decode()
    assert 'id="figures-heading"' in ash
    assert "90.0%" in ash and "5.0%" in ash and "England 6.9%" in ash
    assert 'href="/analytics/schools/110001/"' in ash
    cedar = client.get("/institutions/110003/").content.decode()
    assert "7.0%" in cedar
    assert "Live figures from the school’s MIS need an agreement" in cedar
    for secret in CEDAR_LIVE:
        assert secret not in cedar
    damson = client.get("/institutions/110004/").content.decode()
    for secret in DAMSON_SECRETS:
        assert secret not in damson
    assert "Published figures need an agreement" in damson


# --- From real records --------------------------------------------------------------------------


def test_figures_from_real_records_and_no_pupil_reaches_the_group(site_client, trust):
    school = add_school(trust, name="Hazel Primary", urn="110020")
    agree(trust, school, 3)
    days = school_days(datetime.date(2026, 11, 16), datetime.date(2026, 11, 20))
    present = PupilFactory(site=school, legal_first_name="Zebedee", legal_last_name="Quartermain")
    absent = PupilFactory(site=school, year_group=5, disadvantaged=True, sen_provision="E")
    mark_days(present, days, ["/", "\\"] * 5)
    mark_days(absent, days, ["/", "\\", "I", "O", "/", "\\", "/", "\\", "/", "\\"])
    suspend(absent, datetime.date(2026, 10, 1))
    rollups_refresh_school(school_id=school.pk, today=datetime.date(2026, 11, 25))

    row = group_dashboard(group=trust).rows[0]
    assert row.live.attendance_rate == 90  # 18 of 20
    assert row.live.persistent_absentees == 1  # 2 of 10 missed
    client = site_client(trust, pupil_data_staff(trust))
    bodies = [
        client.get(URL).content.decode(),
        client.get("/analytics/schools/110020/").content.decode(),
        file_body(client.get("/analytics/export.csv")).decode("utf-8-sig"),
        client.get("/api/v1/analytics/schools/").content.decode(),
        client.get("/api/v1/analytics/schools/110020/").content.decode(),
    ]
    assert "90.0%" in bodies[0] and "Year 5" in bodies[1]
    for body in bodies:
        for pupil in (present, absent):
            for secret in (pupil.upn, pupil.legal_first_name, pupil.legal_last_name):
                assert secret not in body


# --- Scale --------------------------------------------------------------------------------------

_urns = itertools.count(800_000)
PHASES = ("Primary", "Secondary", "Primary", "Nursery", "All-through")


def build_group(group: Institution, size: int) -> Institution:
    """``size`` current schools of ``group`` with every level, roll-ups for those at 2 and
    above, published figures and two clusters, in a few bulk queries."""
    schools = Institution.objects.bulk_create(
        Institution(
            kind=InstitutionKind.SCHOOL,
            name=f"Scale School {n:03d}",
            slug=f"analytics-scale-{urn}",
            urn=urn,
            status=Status.OPEN,
            phase=PHASES[n % len(PHASES)],
            pupils=100 + n,
            percentage_fsm=Decimal("12.5"),
        )
        for n, urn in ((n, f"{next(_urns):06d}") for n in range(size))
    )
    GroupMembership.objects.bulk_create(GroupMembership(group=group, school=s) for s in schools)
    now = timezone.now()
    Agreement.objects.bulk_create(
        Agreement(group=group, school=s, level=n % 4, approved_at=now)
        for n, s in enumerate(schools)
        if n % 4
    )
    RollupState.objects.bulk_create(
        RollupState(school=s, changed_at=now, refreshed_at=now, refreshed_for=now.date())
        for s in schools
    )
    AttendanceRollup.objects.bulk_create(
        AttendanceRollup(school=s, **cell_counts(year_group=y, on_roll=30, with_sessions=30,
                                                 possible=600, present=560, authorised=20, pa=3,
                                                 suspensions=1))
        for s in schools
        for y in (1, 2, 3, 4)
    )  # fmt: skip
    PublishedFigures.objects.bulk_create(
        PublishedFigures(school=s, time_period=PERIOD, **absence(9000, 500, 100, 10, 100, 2))
        for s in schools
    )
    clusters = Cluster.objects.bulk_create(Cluster(group=group, name=f"Area {k}") for k in range(2))
    ClusterMembership.objects.bulk_create(
        ClusterMembership(group=group, cluster=clusters[n % 2], school=s)
        for n, s in enumerate(schools)
    )
    return group


@pytest.fixture
def scale_groups():
    """A local authority of 300 schools and a trust of 5, each with a staff member
    associated with all its schools."""
    groups = []
    for group, size in ((LocalAuthorityFactory(), 300), (TrustFactory(), 5)):
        build_group(group, size)
        profile = StaffProfileFactory(site=group)
        pupil_data_staff(group, user=profile.user)
        associate(profile, all_schools=True)
        groups.append((group, profile.user))
    PublishedFigures.objects.create(school=None, time_period=PERIOD, overall_absence_rate="6.9")
    return groups


def count_queries(site_client, groups, url, params) -> list[int]:
    counts = []
    for group, user in groups:
        client = site_client(group, user)
        client.get(url, params)  # settles the session's two-factor check
        with CaptureQueriesContext(connection) as captured:
            file_body(client.get(url, params))  # a file is read whole: a stream runs its queries
        counts.append(len(captured))
    return counts


FILTERED = {"phase": ["Primary", "Secondary"], "mine": "1"}


@pytest.mark.parametrize(
    "url",
    [URL, "/analytics/export.csv", "/analytics/export.xlsx", "/api/v1/analytics/schools/"],
)
@pytest.mark.parametrize("filtered", [False, True], ids=["all", "phase-and-mine"])
def test_the_same_queries_for_5_and_300_schools(site_client, scale_groups, url, filtered):
    params = FILTERED if filtered else {}
    large, small = count_queries(site_client, scale_groups, url, params)
    assert large == small, f"300 schools: {large} queries, 5 schools: {small}"


def test_query_counts_are_pinned(site_client, scale_groups):
    # The site, the session, the user, their staff profile (site access), the clusters (the
    # filter's options), the rows, England; and the request's site scope. "Only schools I am
    # associated with" looks up the viewer's staff profile once more. The page also counts
    # the filters' options (two queries, and the profile once more for "only mine") and
    # draws its trends from two more: the schools' weeks and the published years. A CSV
    # file is streamed after the request, in a transaction bound to the site again. One more
    # since Analytics needs a permission: the viewer's permissions (one query for all, which
    # the menu reuses).
    expected = 8 + SITE_SCOPE_QUERIES
    trends = 2
    for url, more, more_filtered in (
        (URL, 2 + trends, 4 + trends),
        ("/analytics/export.csv", SITE_SCOPE_QUERIES, SITE_SCOPE_QUERIES + 1),
        ("/analytics/export.xlsx", 0, 1),
        ("/api/v1/analytics/schools/", 0, 1),
        (
            "/api/v1/analytics/schools/export/?format=csv",
            SITE_SCOPE_QUERIES,
            SITE_SCOPE_QUERIES + 1,
        ),
    ):
        counts = count_queries(site_client, scale_groups, url, {})
        assert counts == [expected + more] * 2, url
        filtered = count_queries(site_client, scale_groups, url, FILTERED)
        assert filtered == [expected + more_filtered] * 2, url


def test_the_breakdown_costs_the_same_queries_for_5_and_300_schools(site_client, scale_groups):
    # The site, session, user, profile, the school's row, its cells, England; the site scope;
    # the page (not the API) also its weeks; the viewer's permissions (Analytics at View).
    counts = []
    for group, user in scale_groups:
        school = Institution.objects.filter(
            agreements_as_school__group=group, agreements_as_school__level=2
        ).first()
        counts += count_queries(
            site_client, [(group, user)], f"/analytics/schools/{school.urn}/", {}
        )
        counts += count_queries(
            site_client, [(group, user)], f"/api/v1/analytics/schools/{school.urn}/", {}
        )
    assert counts == [9 + SITE_SCOPE_QUERIES, 8 + SITE_SCOPE_QUERIES] * 2


def test_the_same_queries_with_a_cluster_filter(site_client, scale_groups):
    counts = []
    for group, user in scale_groups:
        cluster = Cluster.objects.filter(group=group).order_by("pk").first()
        counts += count_queries(site_client, [(group, user)], URL, {"cluster": cluster.pk})
    assert counts[0] == counts[1]


def test_the_dashboard_reads_in_two_queries(scale_groups, django_assert_num_queries):
    (large, user), _small = scale_groups
    with django_assert_num_queries(2):
        dashboard = group_dashboard(group=large)
    assert len(dashboard.rows) == 300
    assert dashboard.totals.live_schools == 150  # levels 2 and 3
    assert dashboard.not_shared == 150
    with django_assert_num_queries(3):  # and the viewer's staff profile
        mine = group_dashboard(group=large, filters=DashboardFilters(mine=True), viewer=user)
    assert len(mine.rows) == 300
