"""Business roles: the services (create, rename, retire, reinstate, grants; the
last-administrator rule; the audit), the pages (Staff > Business roles) and the REST API
(/api/v1/roles/...), with bad input changing nothing."""

import datetime
import json
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.audit import Actor
from accounts.models import AuditAction, AuditEvent, BusinessRole, RoleAssignment, RoleGrant
from accounts.permissions import (
    DATA_SHARING_REQUEST,
    INSTITUTION_DETAILS,
    LOGIN_TO_MIS,
    REGISTRY,
    USER_DETAILS,
    Access,
    PermissionDef,
    has_permission,
    permission_holders,
)
from accounts.roles.selectors import editable_permissions, role_list
from accounts.roles.services import (
    role_create,
    role_grants_set,
    role_reinstate,
    role_rename,
    role_retire,
)
from accounts.staff.selectors import permission_summary
from accounts.staff.services import role_assignments_set
from tests.accounts.factories import another_trust, hold, person, role_with, staff_viewer
from tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db


def grants_form(site, fields: dict[str, str]) -> dict[str, str]:
    """The role page's form as a browser sends it: every permission the registry offers
    the site (and a group role's in-school set) at Off, except ``fields``."""
    form = {f"grant:{d.code}": "off" for d in editable_permissions(site=site)}
    form |= {f"school:{d.code}": "off" for d in editable_permissions(site=site, in_school=True)}
    return form | fields


@pytest.fixture
def manager(trust):
    return role_with(trust, "Staff Manager", {USER_DETAILS: Access.ADMINISTER})


@pytest.fixture
def ada(trust, manager):
    profile = person(trust, name="Ada Admin", email="ada@oak.test")
    hold(profile, manager)
    return profile


@pytest.fixture
def reader(trust):
    return role_with(trust, "Reader", {INSTITUTION_DETAILS: Access.VIEW})


@pytest.fixture
def sam(trust, reader):
    profile = person(trust, name="Sam Smith", email="sam@oak.test")
    hold(profile, reader)
    return profile


def actor_of(profile) -> Actor:
    return Actor(user=profile.user, site=profile.site, ip_address="192.0.2.7")


def snapshot() -> tuple:
    """Everything a role change could touch."""
    return (
        sorted(BusinessRole.objects.values_list("pk", "name", "retired_at")),
        sorted(RoleGrant.objects.values_list("role_id", "code", "access", "in_school")),
        RoleAssignment.objects.count(),
        AuditEvent.objects.count(),
    )


def role_events():
    return list(AuditEvent.objects.filter(action=AuditAction.ROLE_CHANGED).order_by("pk"))


# =============================================================================================
# Services
# =============================================================================================


class TestCreateAndRename:
    def test_create_tidies_the_name_and_audits(self, trust, ada):
        role = role_create(site=trust, name="  Exams   Officer ", actor=actor_of(ada))
        assert (role.site, role.name, role.is_retired) == (trust, "Exams Officer", False)
        assert not role.grants.exists()
        (event,) = role_events()
        assert (event.site, event.actor, event.target) == (trust, ada.user, "Exams Officer")
        assert event.detail == {
            "role_id": role.pk,
            "role": "Exams Officer",
            "change": "created",
            "before": {},
            "after": {"name": "Exams Officer"},
        }

    @pytest.mark.parametrize(
        ("name", "words"),
        [
            ("", "Enter a name"),
            ("   ", "Enter a name"),
            ("reader", "already has a role called “reader”"),
            ("READER", "already has a role called"),
            ("x" * 101, "at most 100 characters"),
        ],
    )
    def test_bad_names_are_refused_and_change_nothing(self, trust, ada, reader, name, words):
        before = snapshot()
        with pytest.raises(Exception) as caught:
            role_create(site=trust, name=name, actor=actor_of(ada))
        assert words in " ".join(caught.value.messages)
        assert snapshot() == before

    def test_the_same_name_at_another_site_is_fine(self, trust, ada, reader):
        other = another_trust()
        assert role_create(site=other, name="Reader", actor=actor_of(ada)).site == other

    def test_rename_audits_before_and_after(self, trust, ada, reader):
        assert role_rename(role=reader, name="Governor", actor=actor_of(ada)) is True
        reader.refresh_from_db()
        assert reader.name == "Governor"
        (event,) = role_events()
        assert event.detail["before"] == {"name": "Reader"}
        assert event.detail["after"] == {"name": "Governor"}

    def test_rename_to_its_own_name_changes_nothing(self, trust, ada, reader):
        before = snapshot()
        assert role_rename(role=reader, name=" Reader ", actor=actor_of(ada)) is False
        assert snapshot() == before

    def test_rename_only_in_capitals_is_allowed(self, trust, ada, reader):
        assert role_rename(role=reader, name="READER", actor=actor_of(ada)) is True

    def test_rename_to_another_roles_name_is_refused(self, trust, ada, reader, manager):
        before = snapshot()
        with pytest.raises(Exception, match="already has a role called"):
            role_rename(role=reader, name="staff manager", actor=actor_of(ada))
        assert snapshot() == before


class TestRetire:
    def test_a_retired_role_grants_nothing_from_that_moment(self, trust, ada, sam, reader):
        assert has_permission(user=sam.user, site=trust, code=INSTITUTION_DETAILS)
        assert role_retire(role=reader, actor=actor_of(ada)) is True
        assert not has_permission(user=sam.user, site=trust, code=INSTITUTION_DETAILS)
        assert sam.user not in permission_holders(site=trust, code=INSTITUTION_DETAILS)
        # The holder keeps it on their record.
        assert RoleAssignment.objects.filter(profile=sam, role=reader).exists()
        (event,) = role_events()
        assert event.detail["change"] == "retired"
        assert (event.detail["before"], event.detail["after"]) == (
            {"retired": False},
            {"retired": True},
        )

    def test_what_a_person_may_do_agrees(self, site_client, trust, ada, sam, reader):
        """The staff permissions summary and profile say what ``has_permission`` says."""
        role_retire(role=reader, actor=actor_of(ada))
        summary = permission_summary(site=trust, profile=sam)
        line = next(line for line in summary.permissions if line.code == INSTITUTION_DETAILS)
        assert (line.access, line.granted_by) == (Access.OFF, ())
        page = site_client(trust, ada.user).get(f"/staff/{sam.pk}/").content.decode()
        assert "Retired</strong>" in page and "Grants nothing" in page

    def test_retiring_twice_changes_nothing_the_second_time(self, trust, ada, reader):
        role_retire(role=reader, actor=actor_of(ada))
        before = snapshot()
        assert role_retire(role=reader, actor=actor_of(ada)) is False
        assert snapshot() == before

    def test_a_retired_role_cannot_be_newly_assigned(self, trust, ada, reader):
        role_retire(role=reader, actor=actor_of(ada))
        newcomer = person(trust)
        before = snapshot()
        with pytest.raises(Exception, match="“Reader” is retired"):
            role_assignments_set(
                profile=newcomer, assignments=[(reader, None, None)], actor=actor_of(ada)
            )
        assert snapshot() == before

    def test_reinstating_gives_the_permissions_back(self, trust, ada, sam, reader):
        role_retire(role=reader, actor=actor_of(ada))
        assert role_reinstate(role=reader, actor=actor_of(ada)) is True
        assert has_permission(user=sam.user, site=trust, code=INSTITUTION_DETAILS)
        assert role_events()[-1].detail["change"] == "reinstated"
        assert role_reinstate(role=reader, actor=actor_of(ada)) is False

    def test_the_last_administering_role_cannot_be_retired(self, trust, ada, manager):
        before = snapshot()
        with pytest.raises(Exception) as caught:
            role_retire(role=manager, actor=actor_of(ada))
        assert caught.value.code == "last_administrator"
        assert "“Staff Manager” is the only role" in caught.value.messages[0]
        assert "Nothing was changed" in caught.value.messages[0]
        assert snapshot() == before

    def test_it_can_be_when_another_role_lets_someone_manage_staff(self, trust, ada, manager):
        other = role_with(trust, "Deputy", {USER_DETAILS: Access.ADMINISTER})
        hold(person(trust), other)
        assert role_retire(role=manager, actor=actor_of(ada)) is True

    def test_another_role_held_by_nobody_active_does_not_count(self, trust, ada, manager):
        other = role_with(trust, "Deputy", {USER_DETAILS: Access.ADMINISTER})
        gone = person(trust)
        gone.is_active = False
        gone.save()
        hold(gone, other)
        ended = person(trust)
        hold(ended, other, ends_on=timezone.localdate() - datetime.timedelta(days=1))
        with pytest.raises(Exception, match="only role"):
            role_retire(role=manager, actor=actor_of(ada))

    def test_an_administering_role_nobody_holds_can_be_retired(self, trust, ada):
        unused = role_with(trust, "Unused", {USER_DETAILS: Access.ADMINISTER})
        assert role_retire(role=unused, actor=actor_of(ada)) is True


class TestGrants:
    def test_sets_exactly_the_levels_given_and_audits_what_changed(self, trust, ada, reader):
        change = role_grants_set(
            role=reader,
            grants={INSTITUTION_DETAILS: "view", LOGIN_TO_MIS: Access.ADMINISTER},
            in_school={USER_DETAILS: "view"},
            actor=actor_of(ada),
        )
        assert set(reader.grants.values_list("code", "access", "in_school")) == {
            (INSTITUTION_DETAILS, 1, False),
            (LOGIN_TO_MIS, 2, False),
            (USER_DETAILS, 1, True),
        }
        # Only what changed: Institution details was already at View.
        expected = {
            "before": {"grants": {LOGIN_TO_MIS: "off"}, "in_school": {USER_DETAILS: "off"}},
            "after": {
                "grants": {LOGIN_TO_MIS: "administer"},
                "in_school": {USER_DETAILS: "view"},
            },
        }
        assert change == expected
        (event,) = role_events()
        assert event.detail == {
            "role_id": reader.pk,
            "role": "Reader",
            "change": "permissions",
            **expected,
        }

    def test_a_permission_left_out_is_off(self, trust, ada, reader):
        role_grants_set(role=reader, grants={}, actor=actor_of(ada))
        assert not reader.grants.exists()
        assert role_events()[0].detail["after"] == {"grants": {INSTITUTION_DETAILS: "off"}}

    def test_none_leaves_a_scope_alone(self, trust, ada):
        role = role_with(trust, "Lead", {}, in_school={INSTITUTION_DETAILS: Access.VIEW})
        role_grants_set(role=role, grants={USER_DETAILS: "view"}, actor=actor_of(ada))
        assert set(role.grants.values_list("code", "in_school")) == {
            (USER_DETAILS, False),
            (INSTITUTION_DETAILS, True),
        }

    def test_no_change_records_nothing(self, trust, ada, reader):
        before = snapshot()
        assert (
            role_grants_set(role=reader, grants={INSTITUTION_DETAILS: "view"}, actor=actor_of(ada))
            == {}
        )
        assert snapshot() == before

    @pytest.mark.parametrize(
        ("grants", "in_school", "words"),
        [
            ({"no.such.permission": "view"}, None, "“no.such.permission” is not a permission"),
            ({INSTITUTION_DETAILS: "everything"}, None, "can be Off or View or Administer"),
            ({INSTITUTION_DETAILS: 7}, None, "not “7”"),
            # A school's permission is not a trust's.
            ({DATA_SHARING_REQUEST: "administer"}, None, "is not a permission a role can"),
            # Log in to MIS is Administer or nothing.
            ({LOGIN_TO_MIS: "view"}, None, "can be Off or Administer"),
            # Log in to MIS means nothing inside a school.
            (None, {LOGIN_TO_MIS: "administer"}, "inside a school"),
        ],
    )
    def test_bad_input_changes_nothing(self, trust, ada, reader, grants, in_school, words):
        before = snapshot()
        with pytest.raises(Exception) as caught:
            role_grants_set(role=reader, grants=grants, in_school=in_school, actor=actor_of(ada))
        text = " ".join(caught.value.messages)
        assert words in text
        assert "Nothing was changed" in text
        assert snapshot() == before

    def test_a_school_role_has_no_in_school_set(self, ada):
        school = InstitutionFactory(kind="school", name="Ash Primary")
        role = role_with(school, "Teacher", {})
        with pytest.raises(Exception, match="Only a trust"):
            role_grants_set(role=role, in_school={USER_DETAILS: "view"}, actor=actor_of(ada))
        assert not role.grants.exists()

    def test_the_last_administering_role_cannot_lose_it(self, trust, ada, manager):
        before = snapshot()
        for level in ("view", "off"):
            with pytest.raises(Exception) as caught:
                role_grants_set(role=manager, grants={USER_DETAILS: level}, actor=actor_of(ada))
            assert caught.value.error_dict["grants"][0].code == "last_administrator"
            assert (
                "cannot lose “User Details: Manage All Users” at Administer"
                in (caught.value.messages[0])
            )
        assert snapshot() == before
        assert has_permission(
            user=ada.user, site=trust, code=USER_DETAILS, access=Access.ADMINISTER
        )

    def test_it_can_once_someone_else_manages_staff(self, trust, ada, manager, reader, sam):
        role_grants_set(
            role=reader,
            grants={INSTITUTION_DETAILS: "view", USER_DETAILS: "administer"},
            actor=actor_of(ada),
        )
        role_grants_set(role=manager, grants={USER_DETAILS: "view"}, actor=actor_of(ada))
        assert not has_permission(
            user=ada.user, site=trust, code=USER_DETAILS, access=Access.ADMINISTER
        )
        assert has_permission(
            user=sam.user, site=trust, code=USER_DETAILS, access=Access.ADMINISTER
        )

    def test_the_editor_is_built_from_the_registry(self, trust, monkeypatch):
        """A permission added to the registry (pupil data, say) is offered with no more work."""
        new = PermissionDef("students", "Students: Pupil records", "See pupils.", ("school",))
        monkeypatch.setitem(REGISTRY, "students", new)
        school = InstitutionFactory(kind="school", name="Ash Primary")
        assert new in editable_permissions(site=school)
        assert new in editable_permissions(site=trust, in_school=True)
        assert new not in editable_permissions(site=trust)


class TestRoleList:
    def test_counts_current_active_holders(self, trust, ada, manager, reader, sam):
        hold(person(trust), reader, starts_on=timezone.localdate() + datetime.timedelta(days=3))
        gone = person(trust)
        gone.user.is_active = False
        gone.user.save()
        hold(gone, reader)
        counts = {role.name: role.holder_count for role in role_list(site=trust)}
        assert counts == {"Reader": 1, "Staff Manager": 1}

    def test_one_query_however_many_roles_and_holders(self, trust, reader):
        for n in range(6):
            role = role_with(trust, f"Role {n}", {INSTITUTION_DETAILS: Access.VIEW})
            for _ in range(3):
                hold(person(trust), role)
        with CaptureQueriesContext(connection) as queries:
            roles = list(role_list(site=trust))
        assert len(queries) == 1
        assert {role.holder_count for role in roles if role.name != "Reader"} == {3}


# =============================================================================================
# Pages
# =============================================================================================


def count_queries(client, url) -> int:
    client.get(url)  # the session's first use costs a few queries of its own
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context)


class TestPages:
    def test_ladder(self, site_client, trust, ada, sam):
        url = "/staff/roles/"
        assert site_client(trust).get(url).status_code == 302
        outsider = another_trust()
        assert site_client(trust, person(outsider).user).get(url).status_code == 404
        refused = site_client(trust, sam.user).get(url)
        assert refused.status_code == 403
        assert "User Details: Manage All Users" in refused.content.decode()
        viewer = staff_viewer(trust)
        page = site_client(trust, viewer.user).get(url).content.decode()
        assert "Reader" in page and "Create a role" not in page
        assert "Create a role" in site_client(trust, ada.user).get(url).content.decode()

    def test_a_new_site_lists_its_standard_roles(self, site_client):
        school = InstitutionFactory(kind="school", name="Ash Primary")
        head = person(school)
        hold(head, role_with(school, "Own", {USER_DETAILS: Access.VIEW}))
        page = site_client(school, head.user).get("/staff/roles/").content.decode()
        assert "Head Teacher" in page and "Office Administrator" in page

    def test_list_shows_holders_and_retired_roles_apart(self, site_client, trust, ada, reader):
        role_retire(role=reader, actor=actor_of(ada))
        page = site_client(trust, ada.user).get("/staff/roles/").content.decode()
        in_use, retired = page.split("Retired roles</h2>")
        assert "Staff Manager" in in_use and "Reader" not in in_use
        assert "Reader" in retired

    def test_list_queries_do_not_grow(self, site_client, trust, ada):
        client = site_client(trust, ada.user)
        few = count_queries(client, "/staff/roles/")
        for n in range(8):
            role = role_with(trust, f"Role {n}", {INSTITUTION_DETAILS: Access.VIEW})
            for _ in range(4):
                hold(person(trust), role)
        assert count_queries(client, "/staff/roles/") == few

    def test_create_then_set_permissions_on_the_page(self, site_client, trust, ada):
        client = site_client(trust, ada.user)
        response = client.post("/staff/roles/new/", {"name": "Exams Officer"})
        role = BusinessRole.objects.get(site=trust, name="Exams Officer")
        assert response.headers["Location"] == f"/staff/roles/{role.pk}/"
        page = client.get(f"/staff/roles/{role.pk}/").content.decode()
        # Every permission of a trust, and the in-school set, as Off / View / Administer
        # where the registry allows (Log in to MIS: Off or Administer only).
        assert 'name="grant:institution.details" type="radio" value="view"' in page
        assert 'name="grant:login_to_mis.associated" type="radio" value="view"' not in page
        assert 'name="school:user_details.all_users" type="radio" value="administer"' in page
        assert "In schools, after Log in to MIS" in page
        response = client.post(
            f"/staff/roles/{role.pk}/",
            grants_form(
                trust,
                {
                    "grant:institution.details": "view",
                    "grant:login_to_mis.associated": "administer",
                    "grant:user_details.all_users": "off",
                    "school:institution.details": "administer",
                    "school:user_details.all_users": "off",
                },
            ),
        )
        assert response.status_code == 302
        assert set(role.grants.values_list("code", "access", "in_school")) == {
            (INSTITUTION_DETAILS, 1, False),
            (LOGIN_TO_MIS, 2, False),
            (INSTITUTION_DETAILS, 2, True),
        }

    def test_page_refusals_say_why_and_change_nothing(self, site_client, trust, ada, manager):
        client = site_client(trust, ada.user)
        before = snapshot()
        response = client.post(
            f"/staff/roles/{manager.pk}/",
            grants_form(
                trust,
                {
                    "grant:institution.details": "off",
                    "grant:login_to_mis.associated": "off",
                    "grant:user_details.all_users": "view",
                    "school:institution.details": "off",
                    "school:user_details.all_users": "off",
                },
            ),
        )
        assert "is the only role at Oak Ridge Trust" in response.content.decode()
        response = client.post(f"/staff/roles/{manager.pk}/retire/")
        assert "cannot be retired" in response.content.decode()
        response = client.post(f"/staff/roles/{manager.pk}/rename/", {"name": " "})
        assert "Enter a name for the role." in response.content.decode()
        response = client.post("/staff/roles/new/", {"name": "staff MANAGER"})
        assert "already has a role called" in response.content.decode()
        response = client.post(
            f"/staff/roles/{manager.pk}/", {"grant:user_details.all_users": "everything"}
        )
        assert "Choose one of the levels offered" in response.content.decode()
        assert snapshot() == before

    def test_retire_rename_reinstate_on_the_page(self, site_client, trust, ada, reader):
        client = site_client(trust, ada.user)
        assert (
            client.post(f"/staff/roles/{reader.pk}/rename/", {"name": "Governor"}).status_code
            == 302
        )
        assert client.post(f"/staff/roles/{reader.pk}/retire/").status_code == 302
        reader.refresh_from_db()
        assert (reader.name, reader.is_retired) == ("Governor", True)
        assert "Reinstate “Governor”" in client.get(f"/staff/roles/{reader.pk}/").content.decode()
        client.post(f"/staff/roles/{reader.pk}/reinstate/")
        reader.refresh_from_db()
        assert not reader.is_retired
        assert [e.detail["change"] for e in role_events()] == ["renamed", "retired", "reinstated"]

    def test_the_audit_trail_says_what_changed(self, site_client, trust, ada, reader):
        role_rename(role=reader, name="Governor", actor=actor_of(ada))
        role_grants_set(role=reader, in_school={USER_DETAILS: "view"}, actor=actor_of(ada))
        page = site_client(trust, ada.user).get("/audit/").content.decode()
        assert "Renamed from “Reader”" in page
        assert "user_details.all_users (in schools): view" in page

    def test_a_viewer_sees_the_role_but_cannot_change_it(self, site_client, trust, reader):
        viewer = staff_viewer(trust)
        client = site_client(trust, viewer.user)
        page = client.get(f"/staff/roles/{reader.pk}/").content.decode()
        assert "Institution: Administer Institution Details (View)" in page
        assert "Save permissions" not in page
        before = snapshot()
        assert client.post(f"/staff/roles/{reader.pk}/retire/").status_code == 403
        assert client.post(f"/staff/roles/{reader.pk}/", {}).status_code == 403
        assert snapshot() == before

    def test_another_sites_role_is_not_found(self, site_client, trust, ada):
        theirs = role_with(another_trust(), "Theirs", {})
        client = site_client(trust, ada.user)
        before = snapshot()
        for url in ("", "rename/", "retire/", "reinstate/"):
            assert client.get(f"/staff/roles/{theirs.pk}/").status_code == 404
            assert client.post(f"/staff/roles/{theirs.pk}/{url}", {"name": "X"}).status_code == 404
        assert snapshot() == before

    def test_the_assign_roles_page_offers_no_retired_role(self, site_client, trust, ada, reader):
        role_retire(role=reader, actor=actor_of(ada))
        newcomer = person(trust)
        page = site_client(trust, ada.user).get(f"/staff/{newcomer.pk}/roles/").content.decode()
        assert "Staff Manager" in page and "Reader" not in page


class TestNextRequest:
    """A role edit changes what its holders can see on their next request."""

    def test_page_and_api(self, site_client, trust, ada, sam, reader):
        holder = site_client(trust, sam.user)
        assert holder.get("/staff/roles/").status_code == 403
        assert holder.get(f"/api/v1/roles/{reader.pk}/").status_code == 403
        site_client(trust, ada.user).post(
            f"/staff/roles/{reader.pk}/",
            grants_form(
                trust,
                {
                    "grant:institution.details": "view",
                    "grant:login_to_mis.associated": "off",
                    "grant:user_details.all_users": "view",
                    "school:institution.details": "off",
                    "school:user_details.all_users": "off",
                },
            ),
        )
        assert holder.get("/staff/roles/").status_code == 200
        assert holder.get(f"/api/v1/roles/{reader.pk}/").status_code == 200
        # Retired: refused again on the next request.
        site_client(trust, ada.user).post(f"/staff/roles/{reader.pk}/retire/")
        assert holder.get("/staff/roles/").status_code == 403
        assert holder.get(f"/api/v1/roles/{reader.pk}/").status_code == 403


# =============================================================================================
# API
# =============================================================================================


def send(client, method, url, body=None):
    return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json")


def error_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"]["code"] == code
    return body["error"]


class TestApi:
    def test_list_has_holder_counts_and_retired_roles(self, site_client, trust, ada, sam, reader):
        role_retire(role=reader, actor=actor_of(ada))
        rows = {
            row["name"]: row for row in site_client(trust, ada.user).get("/api/v1/roles/").json()
        }
        assert rows["Reader"]["retired_at"] is not None
        assert rows["Reader"]["holder_count"] == 1
        assert rows["Staff Manager"]["holder_count"] == 1
        assert rows["Staff Manager"]["retired_at"] is None

    def test_create_rename_retire_reinstate_grants(self, site_client, trust, ada):
        client = site_client(trust, ada.user)
        created = send(client, "post", "/api/v1/roles/", {"name": "Exams Officer"})
        assert created.status_code == 201
        role_id = created.json()["id"]
        url = f"/api/v1/roles/{role_id}/"
        assert send(client, "patch", url, {"name": "Exams Lead"}).json()["name"] == "Exams Lead"
        result = send(
            client,
            "put",
            f"{url}grants/",
            {"grants": {INSTITUTION_DETAILS: "view"}, "in_school": {USER_DETAILS: "administer"}},
        ).json()
        assert result["change"]["after"] == {
            "grants": {INSTITUTION_DETAILS: "view"},
            "in_school": {USER_DETAILS: "administer"},
        }
        assert {(g["code"], g["access"], g["in_school"]) for g in result["role"]["grants"]} == {
            (INSTITUTION_DETAILS, "view", False),
            (USER_DETAILS, "administer", True),
        }
        assert client.post(f"{url}retire/").json()["retired_at"] is not None
        assert client.post(f"{url}reinstate/").json()["retired_at"] is None
        assert [e.detail["change"] for e in role_events()] == [
            "created",
            "renamed",
            "permissions",
            "retired",
            "reinstated",
        ]

    @pytest.mark.parametrize(
        ("method", "suffix", "body", "field"),
        [
            ("post", "", {"name": ""}, "name"),
            ("post", "", {"name": "staff manager"}, "name"),
            ("post", "", {}, "name"),
            ("patch", "{id}/", {"name": "   "}, "name"),
            ("put", "{id}/grants/", {"grants": {"nope": "view"}}, "grants"),
            ("put", "{id}/grants/", {"grants": {INSTITUTION_DETAILS: "all"}}, "grants"),
            ("put", "{id}/grants/", {"grants": {USER_DETAILS: "off"}}, "grants"),
            ("put", "{id}/grants/", {"in_school": {LOGIN_TO_MIS: "administer"}}, "in_school"),
            ("put", "{id}/grants/", {}, "grants"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(
        self, site_client, trust, ada, manager, method, suffix, body, field
    ):
        before = snapshot()
        url = "/api/v1/roles/" + suffix.format(id=manager.pk)
        response = send(site_client(trust, ada.user), method, url, body)
        error = error_of(response, 400, "invalid")
        assert field in error["fields"]
        assert snapshot() == before

    def test_a_retired_role_cannot_be_given_through_the_api(self, site_client, trust, ada, reader):
        role_retire(role=reader, actor=actor_of(ada))
        newcomer = person(trust)
        before = snapshot()
        response = send(
            site_client(trust, ada.user),
            "put",
            f"/api/v1/staff/{newcomer.pk}/roles/",
            {"assignments": [{"role": reader.pk}]},
        )
        error = error_of(response, 400, "invalid")
        assert "“Reader” is retired" in error["fields"]["assignments"][0]
        assert snapshot() == before

    def test_the_last_administering_role_cannot_be_retired(self, site_client, trust, ada, manager):
        before = snapshot()
        response = site_client(trust, ada.user).post(f"/api/v1/roles/{manager.pk}/retire/")
        assert "is the only role" in error_of(response, 400, "invalid")["message"]
        assert snapshot() == before

    def test_another_sites_role_is_404(self, site_client, trust, ada):
        theirs = role_with(another_trust(), "Theirs", {})
        client = site_client(trust, ada.user)
        before = snapshot()
        error_of(client.get(f"/api/v1/roles/{theirs.pk}/"), 404, "not_found")
        error_of(
            send(client, "patch", f"/api/v1/roles/{theirs.pk}/", {"name": "X"}), 404, "not_found"
        )
        error_of(client.post(f"/api/v1/roles/{theirs.pk}/retire/"), 404, "not_found")
        error_of(
            send(client, "put", f"/api/v1/roles/{theirs.pk}/grants/", {"grants": {}}),
            404,
            "not_found",
        )
        assert snapshot() == before

    def test_ladder(self, site_client, trust, ada, sam, reader):
        url = f"/api/v1/roles/{reader.pk}/"
        error_of(site_client(trust).get(url), 403, "not_authenticated")
        error_of(site_client(trust, sam.user).get(url), 403, "permission_denied")
        viewer = site_client(trust, staff_viewer(trust).user)
        assert viewer.get(url).status_code == 200
        before = snapshot()
        error_of(send(viewer, "patch", url, {"name": "X"}), 403, "permission_denied")
        error_of(send(viewer, "post", "/api/v1/roles/", {"name": "X"}), 403, "permission_denied")
        assert snapshot() == before

    def test_in_the_schema(self, site_client, trust, ada):
        schema = site_client(trust).get("/api/schema/", {"format": "json"}).json()
        paths = schema["paths"]
        assert "post" in paths["/api/v1/roles/"]
        assert {"get", "patch"} <= set(paths["/api/v1/roles/{role_id}/"])
        assert "post" in paths["/api/v1/roles/{role_id}/retire/"]
        assert "post" in paths["/api/v1/roles/{role_id}/reinstate/"]
        assert "put" in paths["/api/v1/roles/{role_id}/grants/"]
        assert "get" in paths["/api/v1/access-check/"]


# =============================================================================================
# Concurrency: two administrators, two connections
# =============================================================================================


def _in_thread(target, results, key):
    def run():
        try:
            results[key] = target()
        except Exception as error:  # reported by the test
            results[key] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_two_administrators_cannot_each_take_away_the_others_last_role():
    """Two roles let someone manage staff; two administrators each take it from one at the
    same moment. The second waits for the first, then sees it was the last: refused, and
    the site keeps someone who can manage staff."""
    from tests.factories import TrustFactory

    trust = TrustFactory()
    first = role_with(trust, "First", {USER_DETAILS: Access.ADMINISTER})
    second = role_with(trust, "Second", {USER_DETAILS: Access.ADMINISTER})
    ada, bob = person(trust), person(trust)
    hold(ada, first)
    hold(bob, second)
    changed, release = threading.Event(), threading.Event()
    results = {}

    def taking_first():
        with transaction.atomic():
            change = role_grants_set(role=first, grants={}, actor=actor_of(bob))
            changed.set()
            release.wait(5)
        return change

    def taking_second():
        changed.wait(5)
        return role_grants_set(role=second, grants={}, actor=actor_of(ada))

    one = _in_thread(taking_first, results, "first")
    two = _in_thread(taking_second, results, "second")
    changed.wait(5)
    two.join(0.5)  # blocked behind the first
    assert "second" not in results
    release.set()
    one.join(10)
    two.join(10)
    assert results["first"]["after"] == {"grants": {USER_DETAILS: "off"}}
    assert isinstance(results["second"], ValidationError)
    assert "is the only role" in results["second"].messages[0]
    assert has_permission(user=bob.user, site=trust, code=USER_DETAILS, access=Access.ADMINISTER)
