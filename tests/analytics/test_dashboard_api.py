"""``GET /api/v1/analytics/schools/`` and ``GET /api/v1/analytics/schools/<urn>/``: the
page's figures, gated exactly like the page. The world is ``test_dashboard``'s (its
docstring has the figures)."""

import pytest

from tests.analytics.test_dashboard import (
    CEDAR_LIVE,
    agree,
    build_world,
)
from tests.factories import StaffProfileFactory, TrustFactory, pupil_data_staff
from tests.institutions.factories import ClusterFactory, add_school, put_in_cluster

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(trust):
    return build_world(trust)


LIST = "/api/v1/analytics/schools/"


def detail(urn: str) -> str:
    return f"{LIST}{urn}/"


def get(site_client, group, url, params=None, user=None):
    return site_client(group, user or pupil_data_staff(group)).get(url, params or {})


def by_name(data) -> dict:
    return {row["name"]: row for row in data["results"]}


def test_rows_totals_and_england(site_client, trust, world):
    response = get(site_client, trust, LIST)
    assert response.status_code == 200
    data = response.json()
    rows = by_name(data)
    assert list(rows) == [
        "Ash Primary",
        "Birch Academy",
        "Cedar Infants",
        "Damson School",
        "Elm Nursery",
    ]
    ash = rows["Ash Primary"]
    assert ash["mis_shared"] is True and ash["published_shared"] is True
    assert ash["live"]["attendance_rate"] == 90.0
    assert ash["live"]["possible_sessions"] == 1000
    assert ash["published"] == {
        "time_period": "202425",
        "overall_absence_rate": 5.0,
        "persistent_absence_rate": 10.0,
        "suspension_rate": 2.0,
    }
    assert ash["refreshed_for"] == "2026-11-25"
    totals = data["totals"]
    assert totals["live"]["attendance_rate"] == 86.36  # 950 / 1100, not (90 + 50) / 2
    assert totals["live"]["persistent_absence_rate"] == 22.73
    assert totals["live"]["suspension_rate"] == 7.27
    assert totals["live_schools"] == 2
    assert totals["published_overall_absence"] == {"value": 6.56, "schools": 3}
    assert totals["published_persistent_absence"] == {"value": 15.63, "schools": 3}
    assert totals["published_suspensions"] == {"value": 5.63, "schools": 3}
    assert data["national"]["overall_absence_rate"] == 6.9
    assert data["time_period"] == "202425" and data["time_period_label"] == "2024/25"
    assert data["not_shared"] == 2 and data["without_mis_data"] == 1
    assert data["refreshed_for"] == "2026-11-24"  # Birch's, the oldest shared


def test_gating_by_level(site_client, trust, world):
    response = get(site_client, trust, LIST)
    rows = by_name(response.json())
    cedar = rows["Cedar Infants"]  # level 1
    assert cedar["mis_shared"] is False and cedar["has_mis_data"] is False
    assert cedar["live"] is None and cedar["refreshed_at"] is None
    assert cedar["published"]["overall_absence_rate"] == 7.0
    damson = rows["Damson School"]  # level 0
    assert damson["published_shared"] is False and damson["published"] is None
    assert damson["live"] is None
    elm = rows["Elm Nursery"]  # level 3, nothing counted yet
    assert elm["mis_shared"] is True and elm["has_mis_data"] is False and elm["live"] is None
    body = response.content.decode()
    for secret in ("61.3", "38.7", "613", "77.7", "777", "43.21", "54.32", "65.43", "2160"):
        assert secret not in body, secret


def test_filters(site_client, trust, world):
    north = ClusterFactory(group=trust, name="North")
    put_in_cluster(north, world["ash"], world["birch"])
    data = get(site_client, trust, LIST, {"cluster": north.pk, "phase": "Primary"}).json()
    assert list(by_name(data)) == ["Ash Primary"]
    assert data["totals"]["schools"] == 1
    assert data["totals"]["live"]["attendance_rate"] == 90.0
    user = pupil_data_staff(trust)
    assert get(site_client, trust, LIST, {"mine": "true"}, user).json()["results"] == []


def test_bad_filter_values_are_a_400_naming_them(site_client, trust, world):
    other = ClusterFactory(group=TrustFactory(), name="Elsewhere")
    response = get(site_client, trust, LIST, {"cluster": other.pk, "phase": "Sixth form"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"]["cluster"] == [f"“{other.pk}” is not one of this group’s clusters."]
    assert error["fields"]["phase"] == ["“Sixth form” is not a phase of education."]
    assert "Elsewhere" not in response.content.decode()


def test_breakdown(site_client, trust, world):
    response = get(site_client, trust, detail("110001"))
    assert response.status_code == 200
    data = response.json()
    assert data["school"]["name"] == "Ash Primary"
    parts = {part["key"]: part for part in data["breakdowns"]}
    assert [line["label"] for line in parts["year_group"]["lines"]] == ["Year 3", "Year 4"]
    year3 = parts["year_group"]["lines"][0]
    assert year3["key"] == "3"
    assert year3["figures"]["pupils_on_roll"] == 60
    assert year3["figures"]["attendance_rate"] == 90.0
    assert [line["key"] for line in parts["disadvantaged"]["lines"]] == ["true", "false"]
    assert [line["key"] for line in parts["sen_provision"]["lines"]] == ["N", "K"]
    assert data["national"]["persistent_absence_rate"] == 17.8


@pytest.mark.parametrize("urn", ["110003", "110004"], ids=["level-1", "level-0"])
def test_breakdown_of_a_school_that_has_not_shared(site_client, trust, world, urn):
    response = get(site_client, trust, detail(urn))
    assert response.status_code == 200
    data = response.json()
    assert data["school"]["mis_shared"] is False
    assert data["school"]["live"] is None
    assert data["breakdowns"] == []
    body = response.content.decode()
    for secret in (*(s.rstrip("%") for s in CEDAR_LIVE), "613", "77.7", "777", "Year 3"):
        assert secret not in body, secret


def test_breakdown_404_for_another_trusts_school_and_unknown_urns(site_client, trust, world):
    other = TrustFactory()
    theirs = add_school(other, name="Their School", urn="120001")
    agree(other, theirs, 3)
    for urn in ("120001", "999999"):
        response = get(site_client, trust, detail(urn))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert "Their School" not in response.content.decode()


def test_refused_to_anyone_but_the_groups_staff(site_client, trust, world):
    for url in (LIST, detail("110001")):
        anonymous = site_client(trust).get(url)
        assert anonymous.status_code == 403
        assert anonymous.json()["error"]["code"] in ("not_authenticated", "permission_denied")
        outsider = StaffProfileFactory(site=TrustFactory()).user
        response = site_client(trust, outsider).get(url)
        assert response.status_code == 403
        assert b"Ash Primary" not in response.content


def test_school_sites_answer_404(site_client, world):
    school = world["ash"]
    head = StaffProfileFactory(site=school).user
    for url in (LIST, detail("110001")):
        response = site_client(school, head).get(url)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
