"""The one rule for "a role assignment in force on a day", at its boundaries: the queryset
method, the ``Q`` through a relation and the in-memory check give the same answer."""

import datetime

import pytest
from django.utils import timezone

from accounts.models import RoleAssignment, RoleGrant, dates_in_force, in_force_q
from accounts.permissions import INSTITUTION_DETAILS, Access
from tests.factories import TrustFactory

from .factories import hold, person, role_with

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 3, 10)
BEFORE, AFTER = DAY - datetime.timedelta(days=1), DAY + datetime.timedelta(days=1)

CASES = [
    pytest.param(None, None, True, id="open-ended"),
    pytest.param(DAY, None, True, id="starts-that-day"),
    pytest.param(AFTER, None, False, id="starts-the-day-after"),
    pytest.param(None, DAY, True, id="ends-that-day"),
    pytest.param(None, BEFORE, False, id="ended-the-day-before"),
    pytest.param(BEFORE, AFTER, True, id="between"),
]


@pytest.mark.parametrize(("starts_on", "ends_on", "expected"), CASES)
def test_the_three_forms_agree(starts_on, ends_on, expected):
    site = TrustFactory()
    role = role_with(site, "Reader", {INSTITUTION_DETAILS: Access.VIEW})
    assignment = hold(person(site), role, starts_on=starts_on, ends_on=ends_on)
    hold(person(site), role)  # open-ended, always in force: the filter must leave it apart

    in_force = RoleAssignment.objects.in_force(on=DAY).filter(pk=assignment.pk).exists()
    through_role = RoleGrant.objects.filter(
        in_force_q(DAY, prefix="role__assignments__"), role__assignments=assignment
    ).exists()
    assert in_force is through_role is dates_in_force(starts_on, ends_on, DAY) is expected


def test_in_force_defaults_to_today():
    site = TrustFactory()
    role = role_with(site, "Reader", {})
    today = timezone.localdate()
    yesterday, tomorrow = today - datetime.timedelta(days=1), today + datetime.timedelta(days=1)
    today_on = hold(person(site), role, starts_on=today)
    hold(person(site), role, ends_on=yesterday)
    hold(person(site), role, starts_on=tomorrow)
    open_ended = hold(person(site), role)
    assert set(RoleAssignment.objects.in_force()) == {today_on, open_ended}
