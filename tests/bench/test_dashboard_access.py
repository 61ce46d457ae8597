"""The dashboard bench's staff member may open the pages it times: Analytics at the group
(it answered 403 once Analytics needed its permission) and Students at a school."""

import pytest

from accounts.permissions import ANALYTICS, STUDENTS
from bench.scenarios.dashboard import _grant
from tests.factories import StaffProfileFactory, TrustFactory, UserFactory
from tests.institutions.factories import add_school

pytestmark = pytest.mark.django_db


def test_the_bench_reader_opens_analytics_and_students(site_client):
    group = TrustFactory()
    school = add_school(group)
    user = UserFactory()
    StaffProfileFactory(site=group, user=user)  # on the staff, as the bench made them
    assert site_client(group, user).get("/analytics/").status_code == 403
    _grant(group, user, ANALYTICS)
    _grant(group, user, ANALYTICS)  # kept once made
    _grant(school, user, STUDENTS)
    assert site_client(group, user).get("/analytics/").status_code == 200
    assert site_client(school, user).get("/students/").status_code == 200
