"""The census and performance figures (level 1, "DfE Data") as a group sees them: on the
institution page, in Analytics > Census and performance (page, export, API), gated by the
agreement level, small groups withheld, the same queries for 5 schools and 300.

The world, a trust's four schools (census 2024/25, key stage 2 and 4 2023/24):

=======  =====  =======================================  ================================
school   level  census                                   performance
=======  =====  =======================================  ================================
Ash      1      200 pupils, FSM 50 (25.0%), EAL 2 (1.0%)  KS2: 30 pupils, 70.0% expected
Birch    3      1000 pupils, FSM 100 (10.0%), EAL 300     KS4: 150 pupils, A8 50.5, P8 +0.25
Cedar    1      none                                     KS2: 2 pupils (all withheld)
Damson   0      (secret) 777 pupils, FSM 333 (42.9%)     (secret) KS4 A8 77.7, P8 -1.93
=======  =====  =======================================  ================================

Group census: 1200 pupils, FSM 150, FSM % over the pupils (25.0 x 200 + 10.0 x 1000) / 1200
= 12.5 (the average of the two schools' rates would be 17.5).
"""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.models import PublishedFigures
from analytics.selectors import (
    RELEASE_SPEC,
    group_dashboard,
    national_releases,
    release_table,
)
from institutions.models import GroupMembership, Institution, InstitutionKind, Status
from sharing.models import LEVEL_MEANINGS, AccessLevel, Agreement
from tests.accounts.factories import associate
from tests.exports import body as file_body
from tests.factories import (
    LocalAuthorityFactory,
    StaffProfileFactory,
    TrustFactory,
    pupil_data_staff,
)
from tests.institutions.factories import add_school, group_staff

pytestmark = pytest.mark.django_db

PAGE = "/analytics/published/"
API = "/api/v1/analytics/published/"
CENSUS_YEAR, PERFORMANCE_YEAR = "202425", "202324"
DAMSON_SECRETS = ("777", "333", "42.9", "77.7", "1.93")


def agree(group, school, level: int) -> None:
    if level:
        Agreement.objects.create(
            group=group, school=school, level=level, approved_at=timezone.now()
        )


def census(school, **values):
    return PublishedFigures.objects.update_or_create(
        school=school, time_period=CENSUS_YEAR, defaults=values
    )[0]


def performance(school, **values):
    return PublishedFigures.objects.update_or_create(
        school=school, time_period=PERFORMANCE_YEAR, defaults=values
    )[0]


def analyst(trust):
    """A member of the trust's staff whose role opens Analytics (View)."""
    return pupil_data_staff(trust, user=group_staff(trust))


@pytest.fixture
def world(trust):
    ash = add_school(trust, name="Ash Primary", urn="120001")
    birch = add_school(trust, name="Birch Academy", urn="120002", phase="Secondary")
    cedar = add_school(trust, name="Cedar Infants", urn="120003")
    damson = add_school(trust, name="Damson School", urn="120004", phase="Secondary")
    for school, level in ((ash, 1), (birch, 3), (cedar, 1), (damson, 0)):
        agree(trust, school, level)
    census(
        ash,
        pupils_headcount=200,
        fsm_eligible=50,
        fsm_eligible_percent=Decimal("25.0"),
        eal_pupils=2,
        eal_percent=Decimal("1.0"),
        sen_support=30,
        sen_support_percent=Decimal("15.0"),
        ehc_plan=5,
        ehc_plan_percent=Decimal("2.5"),
    )
    census(
        birch,
        pupils_headcount=1000,
        fsm_eligible=100,
        fsm_eligible_percent=Decimal("10.0"),
        eal_pupils=300,
        eal_percent=Decimal("30.0"),
    )
    census(damson, pupils_headcount=777, fsm_eligible=333, fsm_eligible_percent=Decimal("42.9"))
    performance(
        ash,
        ks2_eligible_pupils=30,
        ks2_rwm_expected_percent=Decimal("70.0"),
        ks2_rwm_higher_percent=Decimal("10.0"),
        ks2_read_scaled_score=Decimal("105"),
        ks2_read_progress=Decimal("-1.2"),
        # Absence figures of the previous year: the dashboard's year, whatever the census's.
        sessions_possible=60000,
        sessions_overall_absence=3000,
        overall_absence_rate=Decimal("5.0"),
    )
    performance(cedar, ks2_eligible_pupils=2, ks2_rwm_expected_percent=Decimal("50.0"))
    performance(
        birch,
        ks4_pupils=150,
        attainment8=Decimal("50.5"),
        progress8=Decimal("0.25"),
        progress8_lower=Decimal("-0.05"),
        progress8_upper=Decimal("0.55"),
        engmath_95_percent=Decimal("55.0"),
        ebacc_entering_percent=Decimal("40.0"),
        ebacc_aps=Decimal("4.5"),
    )
    performance(damson, ks4_pupils=180, attainment8=Decimal("77.7"), progress8=Decimal("-1.93"))
    PublishedFigures.objects.create(
        school=None,
        time_period=CENSUS_YEAR,
        pupils_headcount=9089322,
        fsm_eligible_percent=Decimal("25.6"),
    )
    PublishedFigures.objects.create(
        school=None, time_period=PERFORMANCE_YEAR, attainment8=Decimal("45.9")
    )
    return {"ash": ash, "birch": birch, "cedar": cedar, "damson": damson}


# --- The selectors --------------------------------------------------------------------------


def test_the_census_table_lists_the_schools_at_level_1_and_above_with_the_group_figures(
    trust, world
):
    table = release_table(group=trust, spec=RELEASE_SPEC["census"])

    assert [row.name for row in table.rows] == ["Ash Primary", "Birch Academy"]
    assert (table.not_shared, table.without_figures) == (1, 1)  # Damson; Cedar
    assert table.time_period == CENSUS_YEAR
    ash = table.rows[0].census
    assert ash.values["pupils_headcount"] == 200
    assert ash.values["fsm_eligible_percent"] == Decimal("25.00")
    # Two pupils with English as an additional language: withheld, the count and the rate.
    assert (ash.values["eal_pupils"], ash.values["eal_percent"]) == (None, None)
    assert ash.withheld == {"eal_pupils", "eal_percent"}
    totals = table.totals
    assert (totals["pupils_headcount"].value, totals["pupils_headcount"].schools) == (1200, 2)
    assert totals["fsm_eligible"].value == 150
    assert totals["fsm_eligible_percent"].value == Decimal("12.5")
    assert totals["eal_pupils"].value == 300  # Ash's is withheld: Birch's alone
    assert table.national.values["pupils_headcount"] == 9089322


def test_a_cohort_of_two_withholds_every_figure_but_the_count(trust, world):
    table = release_table(group=trust, spec=RELEASE_SPEC["ks2"])

    cedar = next(row.ks2 for row in table.rows if row.name == "Cedar Infants")
    assert cedar.values["ks2_eligible_pupils"] == 2
    assert cedar.values["ks2_rwm_expected_percent"] is None
    assert "ks2_rwm_expected_percent" in cedar.withheld
    # The group's figure counts Ash's 30 pupils only.
    assert table.totals["ks2_rwm_expected_percent"].value == Decimal("70.0")


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("name", ["Ash Primary", "Birch Academy"]),
        ("-name", ["Birch Academy", "Ash Primary"]),
        ("fsm_eligible_percent", ["Birch Academy", "Ash Primary"]),
        ("-fsm_eligible_percent", ["Ash Primary", "Birch Academy"]),
        # Without the figure (Ash's is withheld) last, either way.
        ("eal_percent", ["Birch Academy", "Ash Primary"]),
        ("-eal_percent", ["Birch Academy", "Ash Primary"]),
    ],
)
def test_the_table_sorts_by_any_column(trust, world, sort, order):
    table = release_table(group=trust, spec=RELEASE_SPEC["census"], sort=sort)
    assert [row.name for row in table.rows] == order


def test_england_has_each_release_of_its_own_year_and_none_it_lacks(trust, world):
    national = national_releases(group=trust)

    assert national["census"].time_period == CENSUS_YEAR
    assert national["ks4"].values["attainment8"] == Decimal("45.90")
    # England's 2023/24 row holds key stage 4 figures only: no key stage 2 for England.
    assert "ks2" not in national


def test_a_newer_census_does_not_move_the_absence_year(trust, world):
    dashboard = group_dashboard(group=trust)
    assert dashboard.time_period == PERFORMANCE_YEAR
    ash = next(row for row in dashboard.rows if row.name == "Ash Primary")
    assert ash.published.overall_absence_rate == Decimal("5.00")
    assert ash.census.time_period == CENSUS_YEAR


# --- Pages and API ------------------------------------------------------------------------


def test_the_page_shows_the_census_at_level_1_and_nothing_of_a_school_below(
    site_client, trust, world
):
    client = site_client(trust, analyst(trust))
    html = client.get(PAGE).content.decode()

    assert "Ash Primary" in html and "Birch Academy" in html
    assert "25.0%" in html and "12.5%" in html  # Ash; the group
    assert "Withheld" in html
    assert "Published by the DfE" in html or "published by the DfE" in html
    assert "2024/25" in html
    assert "Damson School" not in html
    for secret in DAMSON_SECRETS:
        assert secret not in html


def test_the_key_stage_4_page_shows_progress_8_with_its_confidence_limits(
    site_client, trust, world
):
    client = site_client(trust, analyst(trust))
    html = client.get(PAGE, {"release": "ks4", "sort": "-attainment8"}).content.decode()

    assert "50.5" in html and "+0.25" in html and "−0.05" in html and "+0.55" in html
    assert "45.9" in html  # England
    assert 'aria-sort="descending"' in html
    for secret in DAMSON_SECRETS:
        assert secret not in html


def test_an_unknown_sort_or_release_is_reported_and_left_out(site_client, trust, world):
    client = site_client(trust, analyst(trust))
    html = client.get(PAGE, {"release": "ks9", "sort": "salary"}).content.decode()

    assert "“ks9” is not one of the figures" in html
    assert "“salary” is not a column of this table." in html
    assert "Ash Primary" in html  # the census, by name


def test_the_api_gives_the_figures_at_level_1_and_nothing_below(site_client, trust, world):
    client = site_client(trust, analyst(trust))
    body = client.get(API, {"release": "ks4"}).json()

    assert body["release"] == "ks4"
    assert body["time_period"] == PERFORMANCE_YEAR
    assert body["source"] == "Published by the DfE (Explore Education Statistics)"
    assert [school["urn"] for school in body["results"]] == ["120002"]
    birch = body["results"][0]["figures"]
    assert birch["attainment8"] == 50.5
    assert birch["progress8"] == 0.25
    assert (birch["progress8_lower"], birch["progress8_upper"]) == (-0.05, 0.55)
    assert birch["ks4_pupils"] == 150
    assert body["not_shared"] == 1
    assert body["national"]["attainment8"] == 45.9
    assert "120004" not in str(body) and "77.7" not in str(body)


def test_the_api_refuses_unknown_values_with_a_400(site_client, trust, world):
    client = site_client(trust, analyst(trust))
    response = client.get(API, {"release": "ks4", "sort": "salary"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["sort"] == ["“salary” is not a column of this table."]
    assert client.get(API, {"release": "ks9"}).status_code == 400


def test_the_schools_api_carries_each_schools_release_figures(site_client, trust, world):
    client = site_client(trust, analyst(trust))
    results = {s["urn"]: s for s in client.get("/api/v1/analytics/schools/").json()["results"]}

    assert results["120001"]["census"]["fsm_eligible_percent"] == 25.0
    assert results["120001"]["census"]["withheld"] == ["eal_pupils", "eal_percent"]
    assert results["120001"]["ks2"]["ks2_read_progress"] == -1.2
    assert results["120004"]["census"] is None and results["120004"]["ks4"] is None


def test_the_export_holds_the_table_the_group_and_england(site_client, trust, world):
    client = site_client(trust, analyst(trust))
    text = file_body(client.get(f"{PAGE}export.csv", {"release": "census"})).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))

    assert rows[0][:5] == ["School", "URN", "Phase", "Year", "Pupils (headcount)"]
    names = [row[0] for row in rows[1:]]
    assert names == [
        "Ash Primary",
        "Birch Academy",
        "Group (2 schools)",
        "Schools counted in the group figure",
        "England",
    ]
    ash = rows[1]
    assert ash[3] == "2024/25" and ash[4] == "200" and ash[6] == "25.0"
    assert "Withheld" in ash
    assert "777" not in text and "42.9" not in text


def test_the_institution_page_shows_the_figures_with_year_and_source_at_level_1(
    site_client, trust, world
):
    client = site_client(trust, analyst(trust))
    html = client.get("/institutions/120001/").content.decode()

    assert "School census 2024/25" in html
    assert "Key stage 2 2023/24" in html
    assert "Published by the DfE" in html
    assert "25.0%" in html and "−1.20" in html
    assert "England 25.6%" in html  # beside the school's 25.0%
    assert "Withheld" in html


def test_the_institution_page_below_level_1_shows_no_figure(site_client, trust, world):
    client = site_client(trust, analyst(trust))
    html = client.get("/institutions/120004/").content.decode()

    assert "School census" not in html
    for secret in DAMSON_SECRETS:
        assert secret not in html


def test_a_school_site_has_no_such_page(site_client, world):
    school = world["ash"]
    client = site_client(school, StaffProfileFactory(site=school).user)
    assert client.get(PAGE).status_code == 404
    assert client.get(API).status_code == 404


# --- Queries --------------------------------------------------------------------------------

_urns = iter(range(300000, 400000))


def build_group(group, size: int):
    schools = Institution.objects.bulk_create(
        Institution(
            kind=InstitutionKind.SCHOOL,
            name=f"Level One School {n:03d}",
            slug=f"level-one-{urn}",
            urn=urn,
            status=Status.OPEN,
            phase="Primary",
        )
        for n, urn in ((n, f"{next(_urns):06d}") for n in range(size))
    )
    GroupMembership.objects.bulk_create(GroupMembership(group=group, school=s) for s in schools)
    Agreement.objects.bulk_create(
        Agreement(group=group, school=s, level=n % 4, approved_at=timezone.now())
        for n, s in enumerate(schools)
        if n % 4
    )
    PublishedFigures.objects.bulk_create(
        PublishedFigures(
            school=s,
            time_period=CENSUS_YEAR,
            pupils_headcount=200 + n,
            fsm_eligible=n % 7,
            fsm_eligible_percent=Decimal(n % 7) / 2,
        )
        for n, s in enumerate(schools)
    )
    PublishedFigures.objects.bulk_create(
        PublishedFigures(school=s, time_period=PERFORMANCE_YEAR, ks2_eligible_pupils=30 + n % 5)
        for n, s in enumerate(schools)
    )


@pytest.mark.parametrize(
    "url",
    [PAGE, f"{PAGE}export.csv", f"{PAGE}export.xlsx", API, f"{API}export/?format=csv"],
)
@pytest.mark.parametrize("release", ["census", "ks2"])
def test_the_same_queries_for_5_and_300_schools(site_client, url, release):
    counts = []
    for size, factory in ((300, LocalAuthorityFactory), (5, TrustFactory)):
        group = factory()
        build_group(group, size)
        profile = StaffProfileFactory(site=group)
        associate(profile, all_schools=True)
        pupil_data_staff(group, user=profile.user)
        client = site_client(group, profile.user)
        params = {"release": release, "sort": "-pupils_headcount" if release == "census" else ""}
        client.get(url, params)  # settles the session's two-factor check
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, params)
            file_body(response)
        assert response.status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1], f"300 schools: {counts[0]} queries, 5 schools: {counts[1]}"


def test_the_group_has_a_pupil_weighted_progress_8_and_no_confidence_limits(trust, world):
    ash_ks4 = dict(ks4_pupils=50, attainment8=Decimal("40.0"), progress8=Decimal("-0.75"))
    performance(world["ash"], **ash_ks4, progress8_lower=Decimal("-1.2"))
    table = release_table(group=trust, spec=RELEASE_SPEC["ks4"])

    # (0.25 x 150 - 0.75 x 50) / 200 = 0; (50.5 x 150 + 40.0 x 50) / 200 = 47.875
    assert table.totals["progress8"].value == Decimal("0")
    assert table.totals["attainment8"].value == Decimal("47.875")
    assert table.totals["ks4_pupils"].value == 200
    assert table.totals["progress8_lower"].value is None


def test_the_table_reads_in_two_queries(trust, world, django_assert_num_queries):
    with django_assert_num_queries(2):
        release_table(group=trust, spec=RELEASE_SPEC["ks4"], sort="-progress8")


# --- Wording ----------------------------------------------------------------------------------


def test_the_level_says_exactly_what_level_1_shows():
    assert LEVEL_MEANINGS[AccessLevel.DFE_DATA] == (
        "Published government statistics about the school: census characteristics (pupil "
        "numbers, free school meals, SEN, English as an additional language), key stage 2 "
        "and key stage 4 performance, absence and suspensions."
    )
