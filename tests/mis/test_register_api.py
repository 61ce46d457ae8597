"""The REST twins of the register and group pages (issue 15): read a register, submit
marks, amend with a reason; registration groups listed, created and changed; the closing
times. The same rules as the pages, the same 404 for another school's objects, and one
query count for a register of 5 pupils and of 35."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.permissions import ATTENDANCE, STUDENTS, Access
from mis.models import AttendanceMark, MarkAmendment, RegistrationGroup
from tests.accounts.factories import hold, person, role_with
from tests.institutions.factories import SchoolFactory
from tests.mis.factories import PupilFactory, in_site, registration_group

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 25)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    moment = timezone.make_aware(datetime.datetime(2026, 11, 25, 8, 50))
    monkeypatch.setattr(timezone, "now", lambda: moment)


def staff(site, grants):
    profile = person(site)
    hold(profile, role_with(site, f"Role {profile.pk}", grants))
    return profile


class World:
    def __init__(self, size=3):
        self.school = SchoolFactory()
        self.teacher = staff(self.school, {STUDENTS: Access.VIEW, ATTENDANCE: Access.VIEW})
        self.admin = staff(
            self.school, {STUDENTS: Access.ADMINISTER, ATTENDANCE: Access.ADMINISTER}
        )
        self.pupils = [PupilFactory(site=self.school) for _ in range(size)]
        self.group = registration_group(
            self.school, "4B", teachers=[self.teacher], pupils=self.pupils
        )
        self.elsewhere = SchoolFactory()
        self.foreign_staff = staff(self.elsewhere, {STUDENTS: Access.VIEW})
        self.foreign_group = registration_group(self.elsewhere, "9Z")


@pytest.fixture
def world():
    return World()


def register_url(group, session="AM"):
    return f"/api/v1/registers/{group.pk}/?date={TODAY.isoformat()}&session={session}"


def test_read_submit_and_amend_a_register(world, site_client):
    client = site_client(world.school, world.teacher.user)
    empty = client.get(register_url(world.group)).json()
    assert (empty["marked"], empty["not_marked"], empty["may_take"]) == (0, 3, True)
    a, b, _ = world.pupils
    saved = client.post(
        register_url(world.group),
        {"marks": [{"pupil": a.pk, "code": "/"}, {"pupil": b.pk, "code": "late"}]},
        content_type="application/json",
    )
    assert saved.status_code == 200, saved.json()
    codes = {entry["pupil"]["id"]: entry["code"] for entry in saved.json()["entries"]}
    assert codes[a.pk] == "/" and codes[b.pk] == "L"
    refused = client.post(
        register_url(world.group),
        {"marks": [{"pupil": a.pk, "code": "I"}]},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert f"pupil_{a.pk}" in refused.json()["error"]["fields"]
    amended = client.post(
        register_url(world.group),
        {"marks": [{"pupil": a.pk, "code": "I", "reason": "Sent home ill"}]},
        content_type="application/json",
    ).json()
    assert amended["amendments"][0]["original_code"] == "/"
    assert amended["amendments"][0]["new_code"] == "I"
    assert amended["amendments"][0]["reason"] == "Sent home ill"


def test_a_teacher_of_another_group_may_read_but_not_take(world, site_client):
    other = staff(world.school, {STUDENTS: Access.VIEW, ATTENDANCE: Access.VIEW})
    client = site_client(world.school, other.user)
    assert client.get(register_url(world.group)).json()["may_take"] is False
    response = client.post(
        register_url(world.group),
        {"marks": [{"pupil": world.pupils[0].pk, "code": "/"}]},
        content_type="application/json",
    )
    assert response.status_code == 403
    with in_site(world.school):
        assert not AttendanceMark.objects.exists()


def test_another_schools_group_and_pupils_are_not_reached(world, site_client):
    client = site_client(world.school, world.admin.user)
    assert client.get(register_url(world.foreign_group)).status_code == 404
    assert client.get("/api/v1/registration-groups/987654/").status_code == 404
    assert client.get(f"/api/v1/registration-groups/{world.foreign_group.pk}/").status_code == 404
    foreign_pupil = PupilFactory(site=world.elsewhere)
    response = client.post(
        register_url(world.group),
        {"marks": [{"pupil": foreign_pupil.pk, "code": "/"}]},
        content_type="application/json",
    )
    assert response.status_code == 400
    teachers = client.post(
        "/api/v1/registration-groups/",
        {"name": "5C", "teachers": [world.foreign_staff.pk]},
        content_type="application/json",
    )
    assert teachers.status_code == 400
    assert "current staff" in str(teachers.json())
    with in_site(world.school):
        assert not RegistrationGroup.objects.filter(name="5C").exists()


def test_groups_are_created_renamed_and_given_teachers(world, site_client):
    client = site_client(world.school, world.admin.user)
    created = client.post(
        "/api/v1/registration-groups/",
        {"name": " 5C ", "teachers": [world.teacher.pk]},
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    group = created.json()
    assert (group["name"], [t["id"] for t in group["teachers"]]) == ("5C", [world.teacher.pk])
    clash = client.put(
        f"/api/v1/registration-groups/{group['id']}/",
        {"name": "4b", "teachers": []},
        content_type="application/json",
    )
    assert clash.status_code == 400
    assert "already has a group called" in str(clash.json())
    renamed = client.put(
        f"/api/v1/registration-groups/{group['id']}/",
        {"name": "5D", "teachers": []},
        content_type="application/json",
    ).json()
    assert (renamed["name"], renamed["teachers"]) == ("5D", [])
    listed = client.get("/api/v1/registration-groups/").json()
    assert [(g["name"], g["pupils_on_roll"]) for g in listed] == [("4B", 3), ("5D", 0)]
    assert AuditEvent.objects.filter(action="registration_group_changed").count() == 2
    viewer = site_client(world.school, world.teacher.user)
    assert (
        viewer.post(
            "/api/v1/registration-groups/", {"name": "6A"}, content_type="application/json"
        ).status_code
        == 403
    )


def test_closing_times(world, site_client):
    admin = site_client(world.school, world.admin.user)
    assert admin.get("/api/v1/registers/settings/").json() == {
        "am_closes_at": "09:30",
        "pm_closes_at": "13:45",
    }
    wrong = admin.put(
        "/api/v1/registers/settings/",
        {"am_closes_at": "14:00", "pm_closes_at": "13:00"},
        content_type="application/json",
    )
    assert wrong.status_code == 400
    ok = admin.put(
        "/api/v1/registers/settings/",
        {"am_closes_at": "08:45", "pm_closes_at": "13:15"},
        content_type="application/json",
    )
    assert ok.json() == {"am_closes_at": "08:45", "pm_closes_at": "13:15"}
    teacher = site_client(world.school, world.teacher.user)
    assert (
        teacher.put(
            "/api/v1/registers/settings/",
            {"am_closes_at": "08:00", "pm_closes_at": "13:00"},
            content_type="application/json",
        ).status_code
        == 403
    )
    # 08:50 is after 08:45: late is now U.
    pupil = world.pupils[0]
    response = teacher.post(
        register_url(world.group),
        {"marks": [{"pupil": pupil.pk, "code": "late"}]},
        content_type="application/json",
    )
    assert {e["pupil"]["id"]: e["code"] for e in response.json()["entries"]}[pupil.pk] == "U"


def test_a_register_reads_in_the_same_queries_for_5_and_35_pupils(site_client):
    counts = []
    for size in (5, 35):
        world = World(size)
        client = site_client(world.school, world.teacher.user)
        marks = [{"pupil": p.pk, "code": "/"} for p in world.pupils]
        client.post(register_url(world.group), {"marks": marks}, content_type="application/json")
        amend = [{"pupil": p.pk, "code": "I", "reason": "Ill"} for p in world.pupils[:2]]
        client.post(register_url(world.group), {"marks": amend}, content_type="application/json")
        with CaptureQueriesContext(connection) as read:
            assert client.get(register_url(world.group)).status_code == 200
        counts.append(len(read))
        with in_site(world.school):
            assert MarkAmendment.objects.count() == 2
    assert counts[0] == counts[1], counts
