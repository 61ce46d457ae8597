"""The staff, roles and associations API: the permission ladder on every endpoint, tenancy
by trying other sites' ids, and the rules (last administrator, the cluster rule)."""

import json

import pytest

from accounts.models import (
    AssociatedCluster,
    AssociatedSchool,
    AuditAction,
    AuditEvent,
    RoleAssignment,
    StaffAssociation,
)
from accounts.permissions import INSTITUTION_DETAILS, USER_DETAILS, Access
from tests.accounts.factories import (
    add_school,
    another_trust,
    associate,
    cluster_of,
    hold,
    person,
    role_with,
    staff_admin,
    staff_viewer,
)
from tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def schools(trust):
    names = {"ash": ("Ash Primary", "100001"), "beech": ("Beech Primary", "100002")}
    return {key: add_school(trust, name=name, urn=urn) for key, (name, urn) in names.items()}


@pytest.fixture
def north(trust, schools):
    return cluster_of(trust, "North", schools["ash"])


@pytest.fixture
def sam(trust):
    return person(trust, name="Sam Smith", email="sam@oak.test", job_title="Data analyst")


@pytest.fixture
def admin(trust):
    return staff_admin(trust, name="Ada Admin", email="ada@oak.test")


@pytest.fixture
def reader(trust):
    return role_with(trust, "Reader", {INSTITUTION_DETAILS: Access.VIEW})


@pytest.fixture
def foreign(db):
    other = another_trust()
    school = add_school(other, name="Elsewhere Primary", urn="200001")
    return {
        "group": other,
        "school": school,
        "cluster": cluster_of(other, "Faraway", school),
        "role": role_with(other, "Their Role", {USER_DETAILS: Access.ADMINISTER}),
        "profile": person(other, name="Other Person"),
    }


def error_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"]["code"] == code
    return body["error"]


def put(client, url, body):
    return client.put(url, json.dumps(body), content_type="application/json")


def counts() -> tuple:
    return (
        RoleAssignment.objects.count(),
        StaffAssociation.objects.count(),
        AssociatedSchool.objects.count(),
        AssociatedCluster.objects.count(),
        AuditEvent.objects.count(),
    )


# --- The permission ladder on every endpoint --------------------------------------------------

READS = [
    "/api/v1/staff/",
    "/api/v1/staff/{sam}/",
    "/api/v1/staff/{sam}/associations/",
    "/api/v1/roles/",
]


class TestLadder:
    @pytest.mark.parametrize("url", [*READS, "/api/v1/staff/{sam}/permissions/"])
    def test_anonymous(self, site_client, trust, sam, url):
        error_of(site_client(trust).get(url.format(sam=sam.pk)), 403, "not_authenticated")

    @pytest.mark.parametrize("url", [*READS, "/api/v1/staff/{sam}/permissions/"])
    def test_staff_of_another_site(self, site_client, trust, sam, foreign, url):
        outsider = staff_admin(foreign["group"])
        response = site_client(trust, outsider.user).get(url.format(sam=sam.pk))
        error_of(response, 403, "permission_denied")

    @pytest.mark.parametrize("url", READS)
    def test_any_staff_member_reads(self, site_client, trust, sam, url):
        assert site_client(trust, person(trust).user).get(url.format(sam=sam.pk)).status_code == 200

    def test_permissions_need_view_unless_ones_own(self, site_client, trust, sam):
        url = f"/api/v1/staff/{sam.pk}/permissions/"
        other = person(trust)
        error = error_of(site_client(trust, other.user).get(url), 403, "permission_denied")
        assert "User Details: Manage All Users" in error["message"]
        assert site_client(trust, sam.user).get(url).status_code == 200
        assert site_client(trust, staff_viewer(trust).user).get(url).status_code == 200

    @pytest.mark.parametrize(
        ("url", "body"),
        [
            ("/api/v1/staff/{sam}/roles/", {"assignments": []}),
            (
                "/api/v1/staff/{sam}/associations/",
                {"all_schools": True, "school_urns": [], "cluster_ids": []},
            ),
        ],
    )
    def test_writes(self, site_client, trust, sam, foreign, url, body):
        url = url.format(sam=sam.pk)
        hold(sam, role_with(trust, "Reader", {}))
        before = counts()
        error_of(put(site_client(trust), url, body), 403, "not_authenticated")
        outsider = staff_admin(foreign["group"]).user
        error_of(put(site_client(trust, outsider), url, body), 403, "permission_denied")
        for who in (person(trust), staff_viewer(trust)):
            error_of(put(site_client(trust, who.user), url, body), 403, "permission_denied")
        assert counts()[1:] == before[1:] and counts()[0] == before[0] + 2  # the two helpers
        response = put(site_client(trust, staff_admin(trust).user), url, body)
        assert response.status_code == 200, response.content


# --- Reads -----------------------------------------------------------------------------------


class TestStaffList:
    def test_rows(self, site_client, trust, schools, north, sam, reader):
        hold(sam, reader)
        associate(sam, schools=[schools["beech"]], clusters=[north])
        body = site_client(trust, sam.user).get("/api/v1/staff/", {"q": "smith"}).json()
        assert body["count"] == 1
        (row,) = body["results"]
        assert row["name"] == "Sam Smith" and row["email"] == "sam@oak.test"
        assert row["job_title"] == "Data analyst"
        assert row["roles"] == [
            {
                "role": {"id": reader.pk, "name": "Reader"},
                "starts_on": None,
                "ends_on": None,
                "in_force": True,
            }
        ]
        assert row["associations"] == {
            "all_schools": False,
            "school_count": 1,
            "cluster_count": 1,
            "summary": "1 school, 1 cluster",
        }

    def test_only_this_sites_staff(self, site_client, trust, sam, foreign):
        body = site_client(trust, sam.user).get("/api/v1/staff/").json()
        assert [row["name"] for row in body["results"]] == ["Sam Smith"]

    def test_a_school_site_has_no_associations(self, site_client):
        school = InstitutionFactory()
        head = staff_admin(school)
        (row,) = site_client(school, head.user).get("/api/v1/staff/").json()["results"]
        assert row["associations"] is None


class TestStaffMember:
    def test_detail(self, site_client, trust, schools, north, sam):
        associate(sam, schools=[schools["ash"], schools["beech"]], clusters=[north])
        body = site_client(trust, sam.user).get(f"/api/v1/staff/{sam.pk}/").json()
        detail = body["association_detail"]
        assert detail["school_urns"] == ["100001", "100002"]
        assert detail["cluster_ids"] == [north.pk]
        assert detail["effective_school_count"] == 2
        ash = detail["schools"][0]
        assert ash["via_clusters"] == [{"id": north.pk, "name": "North"}] and ash["chosen"]

    def test_another_sites_profile_is_not_found(self, site_client, trust, sam, foreign):
        client = site_client(trust, staff_admin(trust).user)
        for url in (
            f"/api/v1/staff/{foreign['profile'].pk}/",
            f"/api/v1/staff/{foreign['profile'].pk}/permissions/",
            f"/api/v1/staff/{foreign['profile'].pk}/associations/",
            "/api/v1/staff/999999/",
        ):
            error = error_of(client.get(url), 404, "not_found")
            assert "Other Person" not in json.dumps(error)


class TestPermissions:
    def test_summary(self, site_client, trust, sam):
        role = role_with(
            trust,
            "Data Lead",
            {INSTITUTION_DETAILS: Access.VIEW},
            in_school={INSTITUTION_DETAILS: Access.ADMINISTER},
        )
        hold(sam, role)
        body = site_client(trust, sam.user).get(f"/api/v1/staff/{sam.pk}/permissions/").json()
        lines = {line["code"]: line for line in body["permissions"]}
        assert lines[INSTITUTION_DETAILS]["access"] == "view"
        assert lines[INSTITUTION_DETAILS]["granted_by"] == [{"role": "Data Lead", "access": "view"}]
        assert lines[USER_DETAILS]["access"] == "off"
        assert "data_sharing_request" not in lines
        in_school = {line["code"]: line for line in body["in_school"]}
        assert in_school[INSTITUTION_DETAILS]["access"] == "administer"
        assert body["associations"]["summary"] == "None"
        assert body["associations"]["effective_school_count"] == 0


class TestRoles:
    def test_lists_this_sites_roles_seeding_the_defaults(self, site_client, trust, sam, foreign):
        body = site_client(trust, sam.user).get("/api/v1/roles/").json()
        names = {role["name"] for role in body}
        assert "Trust Administrator" in names and "Their Role" not in names
        admin_role = next(role for role in body if role["name"] == "Trust Administrator")
        assert {
            "code": USER_DETAILS,
            "label": "User Details: Manage All Users",
            "access": "administer",
            "in_school": False,
        } in admin_role["grants"]
        assert any(grant["in_school"] for grant in admin_role["grants"])


# --- Writes ----------------------------------------------------------------------------------


class TestPutRoles:
    def url(self, profile) -> str:
        return f"/api/v1/staff/{profile.pk}/roles/"

    def test_replaces_the_roles(self, site_client, trust, sam, admin, reader):
        body = {"assignments": [{"role": reader.pk, "starts_on": "2026-09-01", "ends_on": None}]}
        response = put(site_client(trust, admin.user), self.url(sam), body)
        assert response.status_code == 200, response.content
        assert response.json()["roles"][0]["starts_on"] == "2026-09-01"
        event = AuditEvent.objects.get(action=AuditAction.ROLE_ASSIGNED)
        assert (event.actor, event.site, event.target) == (
            admin.user,
            trust,
            "sam@oak.test: Reader",
        )
        response = put(site_client(trust, admin.user), self.url(sam), {"assignments": []})
        assert response.json()["roles"] == []
        assert AuditEvent.objects.filter(action=AuditAction.ROLE_REMOVED).count() == 1

    def test_another_sites_role_is_refused_and_changes_nothing(
        self, site_client, trust, sam, admin, reader, foreign
    ):
        before = counts()
        body = {"assignments": [{"role": reader.pk}, {"role": foreign["role"].pk}]}
        response = put(site_client(trust, admin.user), self.url(sam), body)
        error = error_of(response, 400, "invalid")
        assert "Their Role" not in json.dumps(error)
        assert str(foreign["role"].pk) in error["fields"]["assignments"][0]
        assert counts() == before

    def test_another_sites_profile_is_not_found(self, site_client, trust, admin, reader, foreign):
        before = counts()
        response = put(
            site_client(trust, admin.user),
            self.url(foreign["profile"]),
            {"assignments": [{"role": reader.pk}]},
        )
        error_of(response, 404, "not_found")
        assert counts() == before

    def test_dates_out_of_order(self, site_client, trust, sam, admin, reader):
        body = {
            "assignments": [{"role": reader.pk, "starts_on": "2026-09-01", "ends_on": "2026-01-01"}]
        }
        error_of(put(site_client(trust, admin.user), self.url(sam), body), 400, "invalid")
        assert not RoleAssignment.objects.filter(profile=sam).exists()

    def test_the_last_administrator_cannot_remove_their_own_role(self, site_client, trust, admin):
        response = put(site_client(trust, admin.user), self.url(admin), {"assignments": []})
        error = error_of(response, 400, "invalid")
        assert "You cannot remove your own last role" in error["fields"]["assignments"][0]
        assert RoleAssignment.objects.filter(profile=admin).exists()


class TestPutAssociations:
    def url(self, profile) -> str:
        return f"/api/v1/staff/{profile.pk}/associations/"

    def test_replaces_them(self, site_client, trust, schools, north, sam, admin):
        body = {"all_schools": False, "school_urns": ["100002"], "cluster_ids": [north.pk]}
        response = put(site_client(trust, admin.user), self.url(sam), body)
        assert response.status_code == 200, response.content
        data = response.json()
        assert data["school_urns"] == ["100002"] and data["cluster_ids"] == [north.pk]
        assert data["effective_school_count"] == 2
        event = AuditEvent.objects.get()
        assert (event.action, event.actor, event.site) == (
            AuditAction.ASSOCIATION_CHANGED,
            admin.user,
            trust,
        )

    def test_the_cluster_rule(self, site_client, trust, schools, north, sam, admin):
        associate(sam, schools=[schools["ash"]], clusters=[north])
        before = counts()
        client = site_client(trust, admin.user)
        body = {"all_schools": False, "school_urns": [], "cluster_ids": [north.pk]}
        error = error_of(put(client, self.url(sam), body), 400, "invalid")
        assert error["fields"]["school_urns"] == [
            "Ash Primary is associated through the cluster “North”. Remove the cluster to "
            "remove this school."
        ]
        assert counts() == before
        body["cluster_ids"] = []
        assert put(client, self.url(sam), body).status_code == 200
        assert counts()[2:4] == (0, 0)

    @pytest.mark.parametrize("field", ["school_urns", "cluster_ids"])
    def test_another_groups_school_or_cluster_changes_nothing(
        self, site_client, trust, schools, north, sam, admin, foreign, field
    ):
        body = {"all_schools": True, "school_urns": ["100001"], "cluster_ids": [north.pk]}
        body[field].append(
            foreign["school"].urn if field == "school_urns" else foreign["cluster"].pk
        )
        missing = {**body, field: [*body[field][:-1], "299999" if field == "school_urns" else 0]}
        before = counts()
        client = site_client(trust, admin.user)
        error = error_of(put(client, self.url(sam), body), 404, "not_found")
        assert error == error_of(put(client, self.url(sam), missing), 404, "not_found")
        text = json.dumps(error, ensure_ascii=False)
        assert "Elsewhere" not in text and "Faraway" not in text
        assert counts() == before

    def test_a_value_that_is_no_urn_is_a_validation_error(self, site_client, trust, sam, admin):
        body = {"all_schools": True, "school_urns": ["100001", "ash"], "cluster_ids": []}
        before = counts()
        error = error_of(put(site_client(trust, admin.user), self.url(sam), body), 400, "invalid")
        assert error["fields"] == {
            "school_urns": ["Not a URN (six digits): ash. Nothing was changed."]
        }
        assert counts() == before

    def test_another_sites_profile_is_not_found(self, site_client, trust, admin, foreign):
        before = counts()
        body = {"all_schools": True, "school_urns": [], "cluster_ids": []}
        error_of(
            put(site_client(trust, admin.user), self.url(foreign["profile"]), body),
            404,
            "not_found",
        )
        assert counts() == before

    def test_a_school_site_has_none(self, site_client):
        school = InstitutionFactory()
        head = staff_admin(school)
        client = site_client(school, head.user)
        error_of(client.get(self.url(head)), 404, "not_found")
        body = {"all_schools": True, "school_urns": [], "cluster_ids": []}
        error_of(put(client, self.url(head), body), 404, "not_found")
        assert not StaffAssociation.objects.exists()


def test_the_schema_describes_the_endpoints(site_client, trust, sam):
    response = site_client(trust, sam.user).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    for path in (
        "/api/v1/staff/",
        "/api/v1/staff/{profile_id}/",
        "/api/v1/staff/{profile_id}/permissions/",
        "/api/v1/staff/{profile_id}/roles/",
        "/api/v1/staff/{profile_id}/associations/",
        "/api/v1/roles/",
    ):
        assert path in paths
    assert "put" in paths["/api/v1/staff/{profile_id}/associations/"]
