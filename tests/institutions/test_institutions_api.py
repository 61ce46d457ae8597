"""REST: /api/v1/institutions/ and /api/v1/clusters/, scoped to the group site."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from institutions.models import Cluster, ClusterMembership
from tests.conftest import SITE_SCOPE_QUERIES
from tests.factories import StaffProfileFactory, TrustFactory
from tests.institutions.factories import (
    ClusterFactory,
    add_school,
    group_admin,
    group_staff,
    outsider,
    put_in_cluster,
)
from tests.institutions.test_browse import build_group

pytestmark = pytest.mark.django_db

INSTITUTIONS = "/api/v1/institutions/"
CLUSTERS = "/api/v1/clusters/"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert isinstance(body["error"]["fields"], dict)
    return body["error"]


@pytest.fixture
def schools(trust):
    ash = add_school(
        trust,
        name="Ash Primary",
        urn="100001",
        phase="Primary",
        ofsted_grade="good",
        town="Leeds",
        postcode="LS1 4AB",
        pupils=300,
    )
    beech = add_school(
        trust,
        name="Beech Academy",
        urn="100002",
        phase="Secondary",
        ofsted_grade="",
        ofsted_last_inspection=datetime.date(2025, 12, 1),
        ofsted_report_card={"Inclusion": "strong standard", "Safeguarding": "met"},
        town="Bradford",
        postcode="BD1 1AA",
    )
    cedar = add_school(trust, name="Cedar Infant School", urn="100003", phase="Primary")
    return {"ash": ash, "beech": beech, "cedar": cedar}


@pytest.fixture
def north(trust, schools):
    cluster = ClusterFactory(group=trust, name="North")
    put_in_cluster(cluster, schools["ash"], schools["beech"])
    return cluster


@pytest.fixture
def foreign(db):
    other = TrustFactory(name="Elsewhere Trust")
    school = add_school(other, name="Elsewhere Primary", urn="200001")
    cluster = ClusterFactory(group=other, name="Elsewhere cluster")
    put_in_cluster(cluster, school)
    return {"group": other, "school": school, "cluster": cluster}


class JsonClient:
    """A site client whose writes send JSON bodies."""

    def __init__(self, client):
        self.client = client

    def get(self, url, params=None):
        return self.client.get(url, params)

    def delete(self, url):
        return self.client.delete(url)

    def post(self, url, data):
        return self.client.post(url, data, content_type="application/json")

    def patch(self, url, data):
        return self.client.patch(url, data, content_type="application/json")

    def put(self, url, data):
        return self.client.put(url, data, content_type="application/json")


def json_client(site_client, site, user=None) -> JsonClient:
    return JsonClient(site_client(site, user))


# --- Schools ---------------------------------------------------------------------------------


class TestInstitutionListLadder:
    def test_anonymous(self, site_client, trust, schools):
        assert_error(site_client(trust).get(INSTITUTIONS), 403, "not_authenticated")

    def test_staff_of_another_trust(self, site_client, trust, schools):
        response = site_client(trust, outsider()).get(INSTITUTIONS)
        assert_error(response, 403, "permission_denied")
        assert "Ash Primary" not in response.content.decode()

    def test_staff_of_the_group(self, site_client, trust, schools, north, foreign):
        body = site_client(trust, group_staff(trust)).get(INSTITUTIONS).json()
        assert body["count"] == 3
        assert [row["urn"] for row in body["results"]] == ["100001", "100002", "100003"]
        assert body["results"][0] == {
            "urn": "100001",
            "name": "Ash Primary",
            "phase": "Primary",
            "type_name": "Academy converter",
            "ofsted_grade": "good",
            "ofsted_summary": "Good",
            "pupils": 300,
            "town": "Leeds",
            "postcode": "LS1 4AB",
            "clusters": [{"id": north.pk, "name": "North"}],
        }
        beech = body["results"][1]
        assert beech["ofsted_grade"] is None
        assert beech["ofsted_summary"] == "No single grade"
        assert body["results"][2]["ofsted_summary"] == "Not inspected"
        assert body["results"][2]["clusters"] == []

    def test_a_school_site_answers_not_found(self, site_client, schools):
        head = StaffProfileFactory(site=schools["ash"]).user
        assert_error(site_client(schools["ash"], head).get(INSTITUTIONS), 404, "not_found")


class TestInstitutionListQuery:
    def get(self, site_client, trust, **params):
        response = site_client(trust, group_staff(trust)).get(INSTITUTIONS, params)
        assert response.status_code == 200, response.content
        return [row["urn"] for row in response.json()["results"]]

    def test_search(self, site_client, trust, schools):
        assert self.get(site_client, trust, q="beech acadmy") == ["100002"]
        assert self.get(site_client, trust, q="100003") == ["100003"]
        assert self.get(site_client, trust, q="ls14ab") == ["100001"]
        assert self.get(site_client, trust, q="BRADFORD") == ["100002"]

    def test_filters_and_sort(self, site_client, trust, schools, north):
        assert self.get(site_client, trust, phase="Primary", sort="-name") == [
            "100003",
            "100001",
        ]
        assert self.get(site_client, trust, ofsted="none") == ["100002", "100003"]
        assert self.get(site_client, trust, cluster=str(north.pk)) == ["100001", "100002"]
        assert self.get(site_client, trust, sort="cluster") == ["100001", "100002", "100003"]
        assert self.get(site_client, trust, sort="-phase") == ["100002", "100001", "100003"]

    def test_invalid_values_are_a_400_naming_the_field(self, site_client, trust, schools):
        response = site_client(trust, group_staff(trust)).get(
            INSTITUTIONS, {"phase": "Bogus", "sort": "shoe-size"}
        )
        error = assert_error(response, 400, "invalid")
        assert error["fields"]["phase"] == ["“Bogus” is not a phase of education."]
        assert error["fields"]["sort"] == ["That is not a way to sort this list."]

    def test_another_groups_cluster_is_refused_without_its_data(
        self, site_client, trust, schools, foreign
    ):
        response = site_client(trust, group_staff(trust)).get(
            INSTITUTIONS, {"cluster": foreign["cluster"].pk}
        )
        error = assert_error(response, 400, "invalid")
        assert "is not one of this group’s clusters" in error["fields"]["cluster"][0]
        assert "Elsewhere" not in response.content.decode()

    def test_pagination(self, site_client, trust, schools):
        body = (
            site_client(trust, group_staff(trust))
            .get(INSTITUTIONS, {"page_size": 2, "phase": ["Primary", "Secondary"]})
            .json()
        )
        assert body["count"] == 3
        assert len(body["results"]) == 2
        assert "page=2" in body["next"] and "phase=Primary" in body["next"]
        response = site_client(trust, group_staff(trust)).get(INSTITUTIONS, {"page": 9})
        assert_error(response, 404, "not_found")


@pytest.mark.parametrize("params", [{}, {"q": "school", "ofsted": ["good", "none"]}])
def test_the_list_costs_the_same_queries_for_5_and_60_schools(site_client, params):
    measured = []
    for size in (5, 60):
        group, _clusters, staff = build_group(size)
        client = site_client(group, staff)
        client.get(INSTITUTIONS, params)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(INSTITUTIONS, params)
        assert response.status_code == 200
        measured.append(len(queries))
    assert measured[0] == measured[1], measured
    assert measured[0] <= 10 + SITE_SCOPE_QUERIES, measured


class TestInstitutionDetail:
    def test_ladder(self, site_client, trust, schools):
        url = f"{INSTITUTIONS}100001/"
        assert_error(site_client(trust).get(url), 403, "not_authenticated")
        assert_error(site_client(trust, outsider()).get(url), 403, "permission_denied")
        body = site_client(trust, group_staff(trust)).get(url).json()
        assert body["name"] == "Ash Primary"
        assert body["dfe_number"].startswith("383/")
        assert body["postcode"] == "LS1 4AB"

    def test_report_card_school(self, site_client, trust, schools):
        body = site_client(trust, group_staff(trust)).get(f"{INSTITUTIONS}100002/").json()
        assert body["ofsted_grade"] is None
        assert body["ofsted_summary"] == "No single grade"
        assert body["ofsted_report_card"] == {"Inclusion": "strong standard", "Safeguarding": "met"}
        assert body["ofsted_last_inspection"] == "2025-12-01"

    def test_another_groups_school_is_the_same_404_as_a_missing_one(
        self, site_client, trust, schools, foreign
    ):
        client = site_client(trust, group_staff(trust))
        foreign_response = client.get(f"{INSTITUTIONS}200001/")
        missing_response = client.get(f"{INSTITUTIONS}999999/")
        assert_error(foreign_response, 404, "not_found")
        assert foreign_response.json() == missing_response.json()
        assert_error(client.get(f"{INSTITUTIONS}12345/"), 404, "not_found")


# --- Clusters ----------------------------------------------------------------------------------


class TestClusterList:
    def test_ladder(self, site_client, trust, north, foreign):
        assert_error(site_client(trust).get(CLUSTERS), 403, "not_authenticated")
        assert_error(site_client(trust, outsider()).get(CLUSTERS), 403, "permission_denied")
        body = site_client(trust, group_staff(trust)).get(CLUSTERS).json()
        assert body["results"] == [{"id": north.pk, "name": "North", "school_count": 2}]
        assert body["count"] == 1

    def test_a_school_site_answers_not_found(self, site_client, schools):
        head = StaffProfileFactory(site=schools["ash"]).user
        assert_error(site_client(schools["ash"], head).get(CLUSTERS), 404, "not_found")


class TestClusterCreate:
    def test_anonymous(self, site_client, trust):
        response = json_client(site_client, trust).post(CLUSTERS, {"name": "North"})
        assert_error(response, 403, "not_authenticated")
        assert not Cluster.objects.exists()

    def test_staff_of_another_trust(self, site_client, trust):
        response = json_client(site_client, trust, outsider()).post(CLUSTERS, {"name": "N"})
        assert_error(response, 403, "permission_denied")
        assert not Cluster.objects.filter(group=trust).exists()

    def test_staff_without_the_permission(self, site_client, trust):
        response = json_client(site_client, trust, group_staff(trust)).post(
            CLUSTERS, {"name": "North"}
        )
        error = assert_error(response, 403, "permission_denied")
        assert "Institution: Administer Institution Details" in error["message"]
        assert not Cluster.objects.exists()

    def test_administrators(self, site_client, trust):
        response = json_client(site_client, trust, group_admin(trust)).post(
            CLUSTERS, {"name": " North "}
        )
        assert response.status_code == 201
        cluster = Cluster.objects.get(group=trust)
        assert response.json() == {
            "id": cluster.pk,
            "name": "North",
            "school_count": 0,
            "schools": [],
        }

    def test_a_taken_name(self, site_client, trust, north):
        response = json_client(site_client, trust, group_admin(trust)).post(
            CLUSTERS, {"name": "north"}
        )
        error = assert_error(response, 400, "invalid")
        assert error["fields"] == {
            "name": ["There is already a cluster called “north”. Choose another name."]
        }

    def test_missing_or_long_name(self, site_client, trust):
        client = json_client(site_client, trust, group_admin(trust))
        assert "name" in assert_error(client.post(CLUSTERS, {}), 400, "invalid")["fields"]
        response = client.post(CLUSTERS, {"name": "x" * 101})
        assert "name" in assert_error(response, 400, "invalid")["fields"]


class TestClusterDetail:
    def test_ladder(self, site_client, trust, north):
        url = f"{CLUSTERS}{north.pk}/"
        assert_error(site_client(trust).get(url), 403, "not_authenticated")
        assert_error(site_client(trust, outsider()).get(url), 403, "permission_denied")
        body = site_client(trust, group_staff(trust)).get(url).json()
        assert body == {
            "id": north.pk,
            "name": "North",
            "school_count": 2,
            "schools": [
                {"urn": "100001", "name": "Ash Primary"},
                {"urn": "100002", "name": "Beech Academy"},
            ],
        }

    def test_rename(self, site_client, trust, north):
        url = f"{CLUSTERS}{north.pk}/"
        response = json_client(site_client, trust, group_staff(trust)).patch(url, {"name": "S"})
        assert_error(response, 403, "permission_denied")
        response = json_client(site_client, trust, group_admin(trust)).patch(
            url, {"name": "North West"}
        )
        assert response.status_code == 200
        assert response.json()["name"] == "North West"

    def test_delete(self, site_client, trust, north):
        url = f"{CLUSTERS}{north.pk}/"
        assert_error(site_client(trust, group_staff(trust)).delete(url), 403, "permission_denied")
        assert Cluster.objects.filter(pk=north.pk).exists()
        assert site_client(trust, group_admin(trust)).delete(url).status_code == 204
        assert not Cluster.objects.filter(pk=north.pk).exists()

    def test_another_groups_cluster_is_the_same_404_as_a_missing_one(
        self, site_client, trust, north, foreign
    ):
        admin = group_admin(trust)
        client = json_client(site_client, trust, admin)
        for url in (f"{CLUSTERS}{foreign['cluster'].pk}/", f"{CLUSTERS}999999/"):
            assert client.get(url).json() == {
                "error": {"code": "not_found", "message": "Not found.", "fields": {}}
            }
            assert_error(client.patch(url, {"name": "Mine"}), 404, "not_found")
            assert_error(client.delete(url), 404, "not_found")
            assert_error(client.put(f"{url}schools/", {"urns": []}), 404, "not_found")
        foreign["cluster"].refresh_from_db()
        assert foreign["cluster"].name == "Elsewhere cluster"
        assert ClusterMembership.objects.filter(cluster=foreign["cluster"]).count() == 1


class TestClusterSchools:
    def url(self, cluster) -> str:
        return f"{CLUSTERS}{cluster.pk}/schools/"

    def urns(self, cluster) -> set[str]:
        return set(
            ClusterMembership.objects.filter(cluster=cluster).values_list("school__urn", flat=True)
        )

    def test_ladder(self, site_client, trust, north):
        body = {"urns": ["100003"]}
        assert_error(
            json_client(site_client, trust).put(self.url(north), body), 403, "not_authenticated"
        )
        assert_error(
            json_client(site_client, trust, outsider()).put(self.url(north), body),
            403,
            "permission_denied",
        )
        assert_error(
            json_client(site_client, trust, group_staff(trust)).put(self.url(north), body),
            403,
            "permission_denied",
        )
        assert self.urns(north) == {"100001", "100002"}

    def test_administrators_replace_the_schools(self, site_client, trust, north):
        response = json_client(site_client, trust, group_admin(trust)).put(
            self.url(north), {"urns": ["100002", "100003", "100003"]}
        )
        assert response.status_code == 200
        body = response.json()
        assert (body["added"], body["removed"]) == (1, 1)
        assert [s["urn"] for s in body["cluster"]["schools"]] == ["100002", "100003"]
        assert self.urns(north) == {"100002", "100003"}

    def test_another_groups_urn_is_a_404_like_a_missing_one_and_changes_nothing(
        self, site_client, trust, north, foreign
    ):
        client = json_client(site_client, trust, group_admin(trust))
        response = client.put(self.url(north), {"urns": ["100003", "200001"]})
        missing = client.put(self.url(north), {"urns": ["100003", "999999"]})
        assert_error(response, 404, "not_found")
        assert response.json() == missing.json()
        assert "Elsewhere" not in response.content.decode()
        assert self.urns(north) == {"100001", "100002"}

    def test_a_value_that_is_no_urn_is_a_validation_error(self, site_client, trust, north):
        response = json_client(site_client, trust, group_admin(trust)).put(
            self.url(north), {"urns": ["100003", "12a456"]}
        )
        error = assert_error(response, 400, "invalid")
        assert error["fields"] == {"urns": ["Not a URN (six digits): 12a456."]}
        assert self.urns(north) == {"100001", "100002"}

    def test_badly_formed_body(self, site_client, trust, north):
        client = json_client(site_client, trust, group_admin(trust))
        assert "urns" in assert_error(client.put(self.url(north), {}), 400, "invalid")["fields"]
        response = client.put(self.url(north), {"urns": "100001"})
        assert "urns" in assert_error(response, 400, "invalid")["fields"]
        response = client.put(self.url(north), {"urns": ["1234567"]})
        assert "urns" in assert_error(response, 400, "invalid")["fields"]
        assert self.urns(north) == {"100001", "100002"}


def test_openapi_schema_describes_the_endpoints(site_client, trust):
    schema = site_client(trust).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert {
        "/api/v1/institutions/",
        "/api/v1/institutions/{urn}/",
        "/api/v1/clusters/",
        "/api/v1/clusters/{cluster_id}/",
        "/api/v1/clusters/{cluster_id}/schools/",
    } <= set(paths)
    listing = paths["/api/v1/institutions/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {
        "q",
        "phase",
        "type",
        "ofsted",
        "cluster",
        "sort",
        "page",
    }
    ok = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/InstitutionPage"}
    assert "InstitutionRow" in schema["components"]["schemas"]


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("patch", "", {"name": "Taken over"}),
        ("delete", "", None),
        ("put", "schools/", {"urns": ["100003"]}),
    ],
)
def test_every_change_refuses_anonymous_callers_and_other_trusts_staff(
    site_client, trust, north, method, suffix, body
):
    url = f"{CLUSTERS}{north.pk}/{suffix}"
    for user, code in ((None, "not_authenticated"), (outsider(), "permission_denied")):
        client = json_client(site_client, trust, user)
        response = client.delete(url) if method == "delete" else getattr(client, method)(url, body)
        assert_error(response, 403, code)
    north.refresh_from_db()
    assert north.name == "North"
    assert ClusterMembership.objects.filter(cluster=north).count() == 2
