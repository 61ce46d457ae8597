"""``permission_holders``: everyone ``has_permission`` answers yes for, in one query."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import RoleAssignment
from accounts.permissions import (
    DATA_SHARING_REQUEST,
    INSTITUTION_DETAILS,
    Access,
    has_permission,
    permission_holders,
)
from tests.factories import InstitutionFactory, TrustFactory, UserFactory, grant_permission

pytestmark = pytest.mark.django_db


def test_the_holders_are_exactly_those_has_permission_says_yes_for():
    school = InstitutionFactory()
    other = InstitutionFactory()
    admin, viewer, ended, left, disabled, elsewhere, unrelated = (UserFactory() for _ in range(7))
    grant_permission(admin, school, DATA_SHARING_REQUEST, Access.ADMINISTER)
    grant_permission(viewer, school, DATA_SHARING_REQUEST, Access.VIEW)
    grant_permission(ended, school, DATA_SHARING_REQUEST)
    RoleAssignment.objects.filter(profile__user=ended).update(
        ends_on=timezone.localdate() - datetime.timedelta(days=1)
    )
    grant_permission(left, school, DATA_SHARING_REQUEST)
    left.staff_profiles.update(is_active=False)
    grant_permission(disabled, school, DATA_SHARING_REQUEST)
    disabled.is_active = False
    disabled.save(update_fields=["is_active"])
    grant_permission(elsewhere, other, DATA_SHARING_REQUEST)
    grant_permission(unrelated, school, INSTITUTION_DETAILS)

    with CaptureQueriesContext(connection) as queries:
        administer = set(
            permission_holders(site=school, code=DATA_SHARING_REQUEST, access=Access.ADMINISTER)
        )
    assert len(queries) == 1
    view = set(permission_holders(site=school, code=DATA_SHARING_REQUEST))
    assert administer == {admin}
    assert view == {admin, viewer}
    everyone = (admin, viewer, ended, left, disabled, elsewhere, unrelated)
    for access, holders in ((Access.ADMINISTER, administer), (Access.VIEW, view)):
        for user in everyone:
            may = has_permission(user=user, site=school, code=DATA_SHARING_REQUEST, access=access)
            assert may == (user in holders), user


def test_an_unknown_permission_code_is_a_programming_error():
    with pytest.raises(KeyError):
        permission_holders(site=TrustFactory(), code="no.such.permission")
