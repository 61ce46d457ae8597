"""A trust sees, per member school, which apps are authorised with which scopes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.permissions import INSTITUTION_DETAILS, Access
from tests.factories import (
    InstitutionFactory,
    MembershipFactory,
    StaffProfileFactory,
    UserFactory,
    grant_permission,
)

from .factories import authorise, make_app

pytestmark = pytest.mark.django_db


def test_per_school_apps_and_scopes_for_member_schools_only(site_client, trust):
    member = InstitutionFactory(name="Oak Member School", urn="100001", status="Open")
    MembershipFactory(group=trust, school=member)
    outsider = InstitutionFactory(name="Elm Outside School", urn="100002", status="Open")
    app, _ = make_app(required=("students",), optional=("attendance",), name="Reading Stars")
    authorise(app, member, optional=["attendance"])
    other, _ = make_app(name="Secret Outside App")
    authorise(other, outsider)
    viewer = UserFactory()
    grant_permission(viewer, trust, INSTITUTION_DETAILS, Access.VIEW)
    page = site_client(trust, viewer).get("/institutions/apps/").content.decode()
    assert "Oak Member School" in page
    assert "Reading Stars" in page and "Students, Attendance" in page
    assert "Secret Outside App" not in page and "Elm Outside School" not in page


def test_the_ladder_and_constant_queries(site_client, trust):
    assert site_client(trust).get("/institutions/apps/").status_code == 302
    nobody = StaffProfileFactory(site=trust).user
    assert site_client(trust, nobody).get("/institutions/apps/").status_code == 403
    school = InstitutionFactory(urn="100003", status="Open")
    assert (
        site_client(school, StaffProfileFactory(site=school).user)
        .get("/institutions/apps/")
        .status_code
        == 404
    )
    viewer = UserFactory()
    grant_permission(viewer, trust, INSTITUTION_DETAILS, Access.VIEW)
    client = site_client(trust, viewer)

    def add_school(n):
        school = InstitutionFactory(urn=f"20{n:04d}", status="Open")
        MembershipFactory(group=trust, school=school)
        authorise(make_app()[0], school)

    add_school(1)
    client.get("/institutions/apps/")
    with CaptureQueriesContext(connection) as few:
        client.get("/institutions/apps/")
    for n in range(2, 8):
        add_school(n)
    with CaptureQueriesContext(connection) as many:
        client.get("/institutions/apps/")
    assert len(many) == len(few)
