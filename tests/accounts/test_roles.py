"""Assigning business roles: the service (validation, audit, the last-administrator guard)
and the Assign roles page."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.audit import Actor
from accounts.models import AuditAction, AuditEvent, BusinessRole, RoleAssignment
from accounts.permissions import INSTITUTION_DETAILS, USER_DETAILS, Access, has_permission
from accounts.staff.services import role_assignments_set
from tests.accounts.factories import (
    another_trust,
    hold,
    person,
    role_with,
    staff_admin,
    staff_viewer,
)
from tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
YESTERDAY = TODAY - datetime.timedelta(days=1)
TOMORROW = TODAY + datetime.timedelta(days=1)


@pytest.fixture
def manager(trust):
    """A role that manages staff."""
    return role_with(trust, "Staff Manager", {USER_DETAILS: Access.ADMINISTER})


@pytest.fixture
def viewer_role(trust):
    return role_with(trust, "Reader", {INSTITUTION_DETAILS: Access.VIEW})


@pytest.fixture
def ada(trust, manager):
    profile = person(trust, name="Ada Admin", email="ada@oak.test")
    hold(profile, manager)
    return profile


@pytest.fixture
def sam(trust):
    return person(trust, name="Sam Smith", email="sam@oak.test")


def actor_of(profile) -> Actor:
    return Actor(user=profile.user, site=profile.site, ip_address="192.0.2.9")


def held(profile) -> set[tuple]:
    return set(
        RoleAssignment.objects.filter(profile=profile).values_list(
            "role__name", "starts_on", "ends_on"
        )
    )


class TestRoleAssignmentsSet:
    def test_assigns_with_dates_and_audits(self, trust, sam, ada, viewer_role):
        start, end = datetime.date(2026, 9, 1), datetime.date(2027, 8, 31)
        change = role_assignments_set(
            profile=sam, assignments=[(viewer_role, start, end)], actor=actor_of(ada)
        )
        assert change.assigned == ("Reader",)
        assert held(sam) == {("Reader", start, end)}
        event = AuditEvent.objects.get()
        assert event.action == AuditAction.ROLE_ASSIGNED
        assert (event.site, event.actor, event.actor_email) == (trust, ada.user, "ada@oak.test")
        assert event.target == "sam@oak.test: Reader"
        assert event.detail["starts_on"] == "2026-09-01"
        assert event.detail["ends_on"] == "2027-08-31"
        assert event.ip_address == "192.0.2.9"
        assert RoleAssignment.objects.get(profile=sam).site == trust

    def test_removes_what_is_left_out(self, trust, sam, ada, viewer_role, manager):
        hold(sam, viewer_role)
        hold(sam, manager)
        change = role_assignments_set(
            profile=sam, assignments=[(manager, None, None)], actor=actor_of(ada)
        )
        assert change.removed == ("Reader",)
        assert held(sam) == {("Staff Manager", None, None)}
        event = AuditEvent.objects.get()
        assert event.action == AuditAction.ROLE_REMOVED
        assert event.target == "sam@oak.test: Reader"

    def test_new_dates_are_audited_with_the_old_ones(self, trust, sam, ada, viewer_role):
        hold(sam, viewer_role)
        change = role_assignments_set(
            profile=sam, assignments=[(viewer_role, None, TOMORROW)], actor=actor_of(ada)
        )
        assert change.redated == ("Reader",)
        event = AuditEvent.objects.get()
        assert event.action == AuditAction.ROLE_ASSIGNED
        assert event.detail["previous"] == {"starts_on": None, "ends_on": None}
        assert event.detail["ends_on"] == TOMORROW.isoformat()

    def test_no_change_writes_nothing(self, trust, sam, ada, viewer_role):
        hold(sam, viewer_role)
        change = role_assignments_set(
            profile=sam, assignments=[(viewer_role, None, None)], actor=actor_of(ada)
        )
        assert not change.changed
        assert not AuditEvent.objects.exists()

    def test_another_sites_role_changes_nothing(self, trust, sam, ada, viewer_role):
        foreign = role_with(another_trust(), "Their Role", {USER_DETAILS: Access.ADMINISTER})
        hold(sam, viewer_role)
        with pytest.raises(ValidationError) as error:
            role_assignments_set(
                profile=sam,
                assignments=[(viewer_role, None, None), (foreign, None, None)],
                actor=actor_of(ada),
            )
        assert "Their Role" not in str(error.value)
        assert held(sam) == {("Reader", None, None)}
        assert not AuditEvent.objects.exists()

    def test_dates_must_be_in_order(self, trust, sam, ada, viewer_role):
        with pytest.raises(ValidationError, match="must be the same as or after"):
            role_assignments_set(
                profile=sam, assignments=[(viewer_role, TOMORROW, YESTERDAY)], actor=actor_of(ada)
            )
        assert held(sam) == set()

    def test_a_role_given_twice_is_refused(self, trust, sam, ada, viewer_role):
        with pytest.raises(ValidationError, match="given twice"):
            role_assignments_set(
                profile=sam,
                assignments=[(viewer_role, None, None), (viewer_role, None, TOMORROW)],
                actor=actor_of(ada),
            )

    def test_permissions_follow(self, trust, sam, ada, manager):
        role_assignments_set(profile=sam, assignments=[(manager, None, None)], actor=actor_of(ada))
        assert has_permission(
            user=sam.user, site=trust, code=USER_DETAILS, access=Access.ADMINISTER
        )


class TestTheLastAdministrator:
    """Nobody can leave the site without anyone able to manage its staff."""

    def test_the_only_administrator_cannot_remove_their_own_role(self, trust, ada, viewer_role):
        with pytest.raises(ValidationError) as error:
            role_assignments_set(
                profile=ada, assignments=[(viewer_role, None, None)], actor=actor_of(ada)
            )
        assert error.value.messages == [
            "You cannot remove your own last role with “User Details: Manage All Users” at "
            "Administer: you are the only person who can manage staff at Oak Ridge Trust. "
            "Give someone else that permission first."
        ]
        assert held(ada) == {("Staff Manager", None, None)}
        assert not AuditEvent.objects.exists()

    @pytest.mark.parametrize(
        ("starts_on", "ends_on"), [(None, YESTERDAY), (TOMORROW, None)], ids=["ended", "future"]
    )
    def test_nor_date_it_out_of_force(self, trust, ada, manager, starts_on, ends_on):
        with pytest.raises(ValidationError, match="only person who can manage staff"):
            role_assignments_set(
                profile=ada, assignments=[(manager, starts_on, ends_on)], actor=actor_of(ada)
            )
        assert held(ada) == {("Staff Manager", None, None)}

    def test_fine_when_someone_else_administers(self, trust, ada, manager):
        staff_admin(trust)
        role_assignments_set(profile=ada, assignments=[], actor=actor_of(ada))
        assert held(ada) == set()

    def test_swapping_for_another_administering_role_is_fine(self, trust, ada):
        other = role_with(trust, "Head of People", {USER_DETAILS: Access.ADMINISTER})
        role_assignments_set(profile=ada, assignments=[(other, None, None)], actor=actor_of(ada))
        assert held(ada) == {("Head of People", None, None)}

    @pytest.mark.parametrize("how", ["ended", "inactive profile", "inactive user"])
    def test_an_administrator_who_cannot_act_does_not_count(self, trust, ada, manager, how):
        other = person(trust)
        if how == "ended":
            hold(other, manager, ends_on=YESTERDAY)
        else:
            hold(other, manager)
            if how == "inactive profile":
                other.is_active = False
                other.save()
            else:
                other.user.is_active = False
                other.user.save()
        with pytest.raises(ValidationError):
            role_assignments_set(profile=ada, assignments=[], actor=actor_of(ada))

    def test_someone_else_cannot_remove_the_last_administrator_either(self, trust, ada):
        # e.g. a person inside the site from its group, holding it at school level
        visitor = Actor(user=person(another_trust()).user, site=trust)
        with pytest.raises(ValidationError) as error:
            role_assignments_set(profile=ada, assignments=[], actor=visitor)
        assert "Ada Admin is the only person who can manage staff" in error.value.messages[0]

    def test_other_roles_of_the_last_administrator_can_change(
        self, trust, ada, manager, viewer_role
    ):
        role_assignments_set(
            profile=ada,
            assignments=[(manager, None, TOMORROW), (viewer_role, None, None)],
            actor=actor_of(ada),
        )
        assert len(held(ada)) == 2


# --- The page --------------------------------------------------------------------------------


def roles_url(profile) -> str:
    return f"/staff/{profile.pk}/roles/"


class TestPageAccess:
    def test_anonymous_visitors_are_sent_to_sign_in(self, site_client, trust, sam):
        response = site_client(trust).get(roles_url(sam))
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/sign-in/")

    def test_staff_of_another_site_get_not_found(self, site_client, trust, sam):
        outsider = staff_admin(another_trust())
        assert site_client(trust, outsider.user).get(roles_url(sam)).status_code == 404

    @pytest.mark.parametrize("who", [person, staff_viewer])
    def test_staff_without_administer_are_refused(self, site_client, trust, sam, viewer_role, who):
        client = site_client(trust, who(trust).user)
        assert client.get(roles_url(sam)).status_code == 403
        response = client.post(roles_url(sam), {f"role_{viewer_role.pk}": "on"})
        assert response.status_code == 403
        assert held(sam) == set()

    def test_administrators_see_it(self, site_client, trust, sam, ada):
        response = site_client(trust, ada.user).get(roles_url(sam))
        assert response.status_code == 200
        assert "Roles" in response.content.decode()

    def test_another_sites_profile_is_not_found(self, site_client, trust, ada, viewer_role):
        elsewhere = person(another_trust())
        client = site_client(trust, ada.user)
        assert client.get(roles_url(elsewhere)).status_code == 404
        assert (
            client.post(roles_url(elsewhere), {f"role_{viewer_role.pk}": "on"}).status_code == 404
        )
        assert held(elsewhere) == set()


class TestPage:
    def test_seeds_the_default_roles(self, site_client, trust, sam, ada):
        html = site_client(trust, ada.user).get(roles_url(sam)).content.decode()
        for name in (
            "Chief Executive / Executive Head Teacher",
            "Trust Administrator",
            "Data Lead",
        ):
            assert name in html
        assert BusinessRole.objects.filter(site=trust, is_seeded=True).count() == 4
        # What each role gives, including inside schools
        assert "Login to MIS: Associated institutions (Administer)" in html
        assert "In schools, after Log in to MIS" in html

    def test_a_school_site_gets_its_own_roles(self, site_client):
        school = InstitutionFactory(name="Ash Primary")
        head = staff_admin(school)
        html = site_client(school, head.user).get(roles_url(head)).content.decode()
        assert "Head Teacher" in html and "Trust Administrator" not in html

    def test_saving(self, site_client, trust, sam, ada, viewer_role):
        response = site_client(trust, ada.user).post(
            roles_url(sam),
            {
                f"role_{viewer_role.pk}": "on",
                f"starts_{viewer_role.pk}": "2026-09-01",
                f"ends_{viewer_role.pk}": "",
            },
            follow=True,
        )
        html = response.content.decode()
        assert response.redirect_chain[-1][0] == f"/staff/{sam.pk}/"
        assert "Roles of Sam Smith saved: “Reader” given." in html
        assert "1 Sep 2026" in html
        assert held(sam) == {("Reader", datetime.date(2026, 9, 1), None)}
        event = AuditEvent.objects.get()
        assert (event.actor, event.site, event.action) == (
            ada.user,
            trust,
            AuditAction.ROLE_ASSIGNED,
        )

    def test_end_before_start_is_an_error(self, site_client, trust, sam, ada, viewer_role):
        response = site_client(trust, ada.user).post(
            roles_url(sam),
            {
                f"role_{viewer_role.pk}": "on",
                f"starts_{viewer_role.pk}": "2026-09-01",
                f"ends_{viewer_role.pk}": "2026-08-01",
            },
        )
        html = response.content.decode()
        assert "There is a problem" in html
        assert "The end date of “Reader” must be the same as or after its start date." in html
        assert held(sam) == set()

    def test_another_sites_role_id_is_ignored(self, site_client, trust, sam, ada):
        foreign = role_with(another_trust(), "Their Role", {USER_DETAILS: Access.ADMINISTER})
        response = site_client(trust, ada.user).post(
            roles_url(sam), {f"role_{foreign.pk}": "on"}, follow=True
        )
        assert "Their Role" not in response.content.decode()
        assert held(sam) == set()
        assert not AuditEvent.objects.exists()

    def test_the_last_administrator_guard_says_why(self, site_client, trust, ada, manager):
        response = site_client(trust, ada.user).post(roles_url(ada), {})
        html = response.content.decode()
        assert "You cannot remove your own last role" in html
        assert held(ada) == {("Staff Manager", None, None)}
