import datetime

import pytest
from django.utils import timezone

from accounts.models import BusinessRole, RoleGrant
from accounts.permissions import (
    DATA_SHARING_REQUEST,
    INSTITUTION_DETAILS,
    LOGIN_TO_MIS,
    REGISTRY,
    USER_DETAILS,
    Access,
    access_level,
    has_permission,
)
from accounts.staff.services import role_assign, roles_ensure_defaults
from tests.factories import InstitutionFactory, StaffProfileFactory, TrustFactory, grant_permission

pytestmark = pytest.mark.django_db


def test_registry_keeps_the_labels_users_know():
    assert {p.label for p in REGISTRY.values()} == {
        "Institution: Administer Institution Details",
        "Login to MIS: Associated institutions",
        "Data Sharing Request: Administer",
        "User Details: Manage All Users",
        "Students: Student Records",
        "Attendance: Attendance Records",
        "Behaviour: Behaviour and Exclusions",
        "Analytics: Group Analytics",
        "Sharing Networks: Administer",
        "Sharing Networks: Leadership Approval",
        "Third-party Apps: Administer",
    }


def test_no_role_means_off(trust, trust_staff):
    assert access_level(user=trust_staff, site=trust, code=INSTITUTION_DETAILS) == Access.OFF
    assert not has_permission(user=trust_staff, site=trust, code=INSTITUTION_DETAILS)


def test_the_highest_grant_among_roles_wins(trust, trust_staff):
    grant_permission(trust_staff, trust, INSTITUTION_DETAILS, Access.VIEW)
    assert has_permission(user=trust_staff, site=trust, code=INSTITUTION_DETAILS)
    assert not has_permission(
        user=trust_staff, site=trust, code=INSTITUTION_DETAILS, access=Access.ADMINISTER
    )
    grant_permission(trust_staff, trust, INSTITUTION_DETAILS, Access.ADMINISTER)
    assert has_permission(
        user=trust_staff, site=trust, code=INSTITUTION_DETAILS, access=Access.ADMINISTER
    )


def test_a_role_at_one_site_grants_nothing_at_another(trust, trust_staff):
    other = TrustFactory()
    StaffProfileFactory(site=other, user=trust_staff)
    grant_permission(trust_staff, trust, INSTITUTION_DETAILS)
    assert not has_permission(user=trust_staff, site=other, code=INSTITUTION_DETAILS)


def test_an_inactive_profile_grants_nothing(trust, trust_staff):
    grant_permission(trust_staff, trust, INSTITUTION_DETAILS)
    trust_staff.staff_profiles.update(is_active=False)
    assert not has_permission(user=trust_staff, site=trust, code=INSTITUTION_DETAILS)


@pytest.mark.parametrize(
    ("starts", "ends", "in_force"),
    [(-10, None, True), (1, None, False), (None, -1, False), (None, 0, True), (-5, 5, True)],
)
def test_assignment_dates_bound_the_grant(trust, trust_staff, starts, ends, in_force):
    today = timezone.localdate()
    roles = roles_ensure_defaults(site=trust)
    profile = trust_staff.staff_profiles.get(site=trust)
    role_assign(
        profile=profile,
        role=roles["Trust Administrator"],
        starts_on=None if starts is None else today + datetime.timedelta(days=starts),
        ends_on=None if ends is None else today + datetime.timedelta(days=ends),
    )
    assert has_permission(user=trust_staff, site=trust, code=LOGIN_TO_MIS) is in_force


def test_default_roles_are_seeded_once_per_site_kind():
    trust, school = TrustFactory(), InstitutionFactory()
    group_roles = roles_ensure_defaults(site=trust)
    roles_ensure_defaults(site=trust)
    assert set(group_roles) == {
        "Chief Executive / Executive Head Teacher",
        "Trust Administrator",
        "Data Lead",
        "Central Team Member",
    }
    assert BusinessRole.objects.filter(site=trust).count() == 4
    school_roles = roles_ensure_defaults(site=school)
    assert set(school_roles) == {
        "Head Teacher",
        "Executive Head Teacher",
        "Deputy Head Teacher",
        "Data Manager",
        "Teacher",
        "Office Administrator",
    }
    approvers = set(
        RoleGrant.objects.filter(site=school, code=DATA_SHARING_REQUEST).values_list(
            "role__name", flat=True
        )
    )
    assert approvers == {"Head Teacher"}


def test_a_role_cannot_be_assigned_across_sites(trust, trust_staff):
    other_roles = roles_ensure_defaults(site=TrustFactory())
    with pytest.raises(ValueError, match="its own site"):
        role_assign(
            profile=trust_staff.staff_profiles.get(site=trust),
            role=other_roles["Trust Administrator"],
        )


def test_an_unknown_permission_code_is_a_programming_error(trust, trust_staff):
    with pytest.raises(KeyError):
        has_permission(user=trust_staff, site=trust, code="institution.detials")


def test_user_details_is_granted_to_trust_administrators(trust, trust_staff):
    roles = roles_ensure_defaults(site=trust)
    role_assign(profile=trust_staff.staff_profiles.get(site=trust), role=roles["Data Lead"])
    assert not has_permission(user=trust_staff, site=trust, code=USER_DETAILS)
    role_assign(
        profile=trust_staff.staff_profiles.get(site=trust), role=roles["Trust Administrator"]
    )
    assert has_permission(user=trust_staff, site=trust, code=USER_DETAILS, access=Access.ADMINISTER)


def test_in_school_grants_apply_only_inside_a_school_reached_from_the_group(trust, trust_staff):
    school = InstitutionFactory()
    roles = roles_ensure_defaults(site=trust)
    role_assign(
        profile=trust_staff.staff_profiles.get(site=trust), role=roles["Trust Administrator"]
    )
    # At the group site, the role's own grants apply; its school-level set does not.
    assert has_permission(user=trust_staff, site=trust, code=LOGIN_TO_MIS)
    # Inside the school through a hop: only the school-level set.
    assert has_permission(
        user=trust_staff,
        site=school,
        code=INSTITUTION_DETAILS,
        access=Access.ADMINISTER,
        via_group=trust,
    )
    assert not has_permission(
        user=trust_staff, site=school, code=DATA_SHARING_REQUEST, via_group=trust
    )
    # Without a hop the user holds nothing at the school.
    assert not has_permission(user=trust_staff, site=school, code=INSTITUTION_DETAILS)


def test_a_school_level_set_is_not_a_group_level_grant(trust, trust_staff):
    role = BusinessRole.objects.create(site=trust, name="Visitor")
    RoleGrant.objects.create(
        site=trust, role=role, code=USER_DETAILS, access=int(Access.ADMINISTER), in_school=True
    )
    role_assign(profile=trust_staff.staff_profiles.get(site=trust), role=role)
    assert not has_permission(user=trust_staff, site=trust, code=USER_DETAILS)


def test_a_seeded_role_the_site_deleted_is_not_brought_back(trust):
    roles_ensure_defaults(site=trust)
    BusinessRole.objects.filter(site=trust, name="Central Team Member").delete()
    assert "Central Team Member" not in roles_ensure_defaults(site=trust)
