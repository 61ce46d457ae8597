"""Deactivating a member of staff ends their Log in to MIS hops at once (issue 13, item 1):
deactivated at the group, every hop that hangs from their group session ends; deactivated
at a school, their hop into it ends. Recorded at both sites."""

import pytest

from accounts.audit import Actor
from accounts.models import AuditAction, AuditEvent, StaffProfile
from accounts.staff.onboarding import staff_deactivate
from tests.accounts.factories import staff_admin

pytestmark = pytest.mark.django_db


def hop_ends(world) -> list:
    return list(
        AuditEvent.objects.filter(action=AuditAction.HOP_ENDED)
        .order_by("site_id")
        .values_list("site_id", "detail")
    )


def test_deactivated_at_the_group_their_hop_ends_now(world):
    inside = world.hop_in()
    assert inside.get("/").status_code == 200  # inside the hop
    other_admin = staff_admin(world.trust)
    result = staff_deactivate(
        profile=world.profile, actor=Actor(user=other_admin.user, site=world.trust)
    )
    assert result.sessions_ended == 1  # the group session
    response = inside.get("/")
    assert response.status_code == 302 and "/accounts/sign-in/" in response.url
    ends = hop_ends(world)
    assert {site for site, _ in ends} == {world.trust.pk, world.school.pk}
    assert all("was deactivated at Oak Ridge Trust" in detail["reason"] for _, detail in ends)


def test_deactivated_at_the_school_their_hop_into_it_ends(world):
    school_profile = StaffProfile.objects.create(site=world.school, user=world.user)
    inside = world.hop_in()
    head = staff_admin(world.school)
    result = staff_deactivate(
        profile=school_profile, actor=Actor(user=head.user, site=world.school)
    )
    assert result.sessions_ended == 1  # the hop's session at the school
    assert inside.get("/").status_code == 302
    ends = hop_ends(world)
    assert {site for site, _ in ends} == {world.trust.pk, world.school.pk}
    # Their group session goes on: they still work at the trust.
    assert world.group_client().get("/staff/").status_code == 200
