"""Taking a register (issue 15): a group's teacher, or staff with Attendance at
Administer, marks each pupil of the group with a DfE code and saves; an existing mark
changes only with a reason and the original is kept; late is L or U by the school's closing
time; the school's roll-ups are marked as changed; another school's group or pupils are
never reached; the page keeps one query count for 5 and 35 pupils."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent
from accounts.permissions import ATTENDANCE, STUDENTS, Access
from mis.models import AttendanceMark, MarkAmendment, RegisterSettings, RollupState
from mis.services.registers import LATE, register_marks_save
from tests.accounts.factories import hold, person, role_with
from tests.institutions.factories import SchoolFactory
from tests.mis.factories import PupilFactory, in_site, registration_group

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 25)
MORNING = timezone.make_aware(datetime.datetime(2026, 11, 25, 8, 50))


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """It is 08:50 on TODAY for the pages and the services."""
    monkeypatch.setattr(timezone, "now", lambda: MORNING)


def staff(site, grants):
    profile = person(site)
    hold(profile, role_with(site, f"Role {profile.pk}", grants))
    return profile


class World:
    def __init__(self, size=3):
        self.school = SchoolFactory(name="Fenwick Primary", slug="fenwick")
        self.teacher = staff(self.school, {STUDENTS: Access.VIEW, ATTENDANCE: Access.VIEW})
        self.other_teacher = staff(self.school, {STUDENTS: Access.VIEW, ATTENDANCE: Access.VIEW})
        self.office = staff(self.school, {STUDENTS: Access.VIEW, ATTENDANCE: Access.ADMINISTER})
        self.pupils = [
            PupilFactory(site=self.school, legal_last_name=f"Surname{n:02d}") for n in range(size)
        ]
        self.group = registration_group(
            self.school, "4B", teachers=[self.teacher], pupils=self.pupils
        )
        self.other_group = registration_group(self.school, "4C", teachers=[self.other_teacher])
        self.elsewhere = SchoolFactory(name="Other School", slug="other")
        self.foreign_pupil = PupilFactory(site=self.elsewhere)
        self.foreign_group = registration_group(self.elsewhere, "4B", pupils=[self.foreign_pupil])

    def marks(self, site=None):
        with in_site(site or self.school):
            return dict(
                AttendanceMark.objects.filter(date=TODAY, session="AM").values_list(
                    "pupil_id", "code"
                )
            )


@pytest.fixture
def world():
    return World()


def url(group, session="AM"):
    return f"/registers/{group.pk}/?date={TODAY.isoformat()}&session={session}"


def post_marks(client, group, marks: dict, reasons=None, **extra):
    data = {f"mark-{pk}": code for pk, code in marks.items()}
    data |= {f"reason-{pk}": reason for pk, reason in (reasons or {}).items()}
    return client.post(url(group), data, **extra)


def test_a_groups_teacher_takes_its_register_and_the_rollups_know(world, site_client):
    client = site_client(world.school, world.teacher.user)
    page = client.get(url(world.group))
    assert page.status_code == 200
    assert "3 not marked yet" in page.content.decode()
    a, b, c = world.pupils
    response = post_marks(client, world.group, {a.pk: "/", b.pk: "I", c.pk: ""})
    assert response.status_code == 302
    assert world.marks() == {a.pk: "/", b.pk: "I"}
    page = client.get(url(world.group)).content.decode()
    assert "Register saved: 2 marks added." in page
    assert "1 not marked yet" in page
    assert RollupState.objects.filter(school=world.school).exists()
    event = AuditEvent.objects.get(site=world.school, action="register_taken")
    assert event.detail["added"] == 2


def test_an_amendment_keeps_the_original_and_needs_a_reason(world, site_client):
    client = site_client(world.school, world.teacher.user)
    a = world.pupils[0]
    post_marks(client, world.group, {a.pk: "N"})
    refused = post_marks(client, world.group, {a.pk: "I"})
    assert refused.status_code == 400
    assert "give a reason to amend it" in refused.content.decode()
    assert world.marks() == {a.pk: "N"}
    post_marks(client, world.group, {a.pk: "I"}, {a.pk: "Parent phoned: ill"})
    assert world.marks() == {a.pk: "I"}
    with in_site(world.school):
        amendment = MarkAmendment.objects.get()
    assert (amendment.original_code, amendment.new_code, amendment.reason) == (
        "N",
        "I",
        "Parent phoned: ill",
    )
    assert amendment.amended_by == world.teacher.user
    history = client.get(url(world.group)).content.decode()
    assert "Parent phoned: ill" in history
    assert "<code>N</code>" in history and "<code>I</code>" in history


def test_late_is_l_before_the_register_closes_and_u_after(world):
    a, b = world.pupils[:2]
    actor = audit.Actor(user=world.teacher.user, site=world.school)
    with in_site(world.school):
        RegisterSettings.objects.create(site=world.school, am_closes_at=datetime.time(9, 0))
        register_marks_save(
            group=world.group, day=TODAY, session="AM", codes={a.pk: LATE}, actor=actor
        )
        late = MORNING.replace(hour=9, minute=5)
        register_marks_save(
            group=world.group, day=TODAY, session="AM", codes={b.pk: LATE}, actor=actor, now=late
        )
    assert world.marks() == {a.pk: "L", b.pk: "U"}


def test_bad_input_is_refused_by_name_and_changes_nothing(world, site_client):
    client = site_client(world.school, world.teacher.user)
    a, b = world.pupils[:2]
    for marks, words in (
        ({a.pk: "/", b.pk: "QQ"}, "“QQ” is not an attendance code"),
        ({a.pk: "/", world.foreign_pupil.pk: "/"}, "not on this group’s register"),
    ):
        response = post_marks(client, world.group, marks)
        assert response.status_code == 400
        assert words in response.content.decode()
        assert world.marks() == {}
    ahead = client.post(f"/registers/{world.group.pk}/?date=2026-11-26&session=AM", {})
    assert ahead.status_code == 400
    assert world.marks(world.elsewhere) == {}


def test_who_may_take_a_register(world, site_client):
    a = world.pupils[0]
    refused = post_marks(
        site_client(world.school, world.other_teacher.user), world.group, {a.pk: "/"}
    )
    assert refused.status_code == 403
    assert world.marks() == {}
    office = post_marks(site_client(world.school, world.office.user), world.group, {a.pk: "/"})
    assert office.status_code == 302
    assert world.marks() == {a.pk: "/"}
    nobody = staff(world.school, {STUDENTS: Access.VIEW})
    assert site_client(world.school, nobody.user).get(url(world.group)).status_code == 403


def test_another_schools_group_is_the_same_404_as_a_missing_one(world, site_client):
    client = site_client(world.school, world.office.user)
    foreign = client.get(url(world.foreign_group))
    missing = client.get("/registers/987654/")
    assert foreign.status_code == missing.status_code == 404
    posted = post_marks(client, world.foreign_group, {world.foreign_pupil.pk: "/"})
    assert posted.status_code == 404
    assert world.marks(world.elsewhere) == {}


def test_htmx_save_answers_the_register_fragment(world, site_client):
    client = site_client(world.school, world.teacher.user)
    a = world.pupils[0]
    response = post_marks(client, world.group, {a.pk: "/"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="register"')
    assert "Register saved: 1 mark added." in body
    refused = post_marks(client, world.group, {a.pk: "I"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 200
    assert "give a reason to amend it" in refused.content.decode()


def test_the_register_keeps_one_query_count_for_5_and_35_pupils(site_client):
    counts = []
    for size in (5, 35):
        world = World(size)
        client = site_client(world.school, world.teacher.user)
        marks = {pupil.pk: "/" for pupil in world.pupils[:-1]}
        with CaptureQueriesContext(connection) as read:
            assert client.get(url(world.group)).status_code == 200
        with CaptureQueriesContext(connection) as saved:
            assert post_marks(client, world.group, marks).status_code == 302
        amend = {pupil.pk: "I" for pupil in world.pupils[:3]}
        with CaptureQueriesContext(connection) as amended:
            response = post_marks(client, world.group, amend, {pk: "Illness" for pk in amend})
            assert response.status_code == 302
        counts.append((len(read), len(saved), len(amended)))
        world.school.slug = f"done-{size}"
        world.school.save()
        world.elsewhere.slug = f"done-other-{size}"
        world.elsewhere.save()
    assert counts[0] == counts[1], counts


def test_amendments_are_visible_only_in_their_schools_scope(world):
    actor = audit.Actor(user=world.teacher.user, site=world.school)
    a = world.pupils[0]
    with in_site(world.school):
        register_marks_save(
            group=world.group, day=TODAY, session="AM", codes={a.pk: "N"}, actor=actor
        )
        register_marks_save(
            group=world.group,
            day=TODAY,
            session="AM",
            codes={a.pk: "I"},
            reasons={a.pk: "Ill"},
            actor=actor,
        )
        assert MarkAmendment.objects.count() == 1
    with in_site(world.elsewhere):
        assert MarkAmendment.objects.count() == 0
        with pytest.raises(ValidationError):
            register_marks_save(
                group=world.group, day=TODAY, session="AM", codes={a.pk: "/"}, actor=actor
            )


def test_groups_page_creates_a_group_with_the_schools_staff_only(world, site_client):
    admin = staff(world.school, {STUDENTS: Access.ADMINISTER, ATTENDANCE: Access.VIEW})
    client = site_client(world.school, admin.user)
    page = client.get("/registration-groups/").content.decode()
    assert "4B" in page and "Create a registration group" in page
    foreign = staff(world.elsewhere, {STUDENTS: Access.VIEW})
    refused = client.post("/registration-groups/", {"name": "5A", "teachers": [foreign.pk]})
    assert refused.status_code == 400
    assert "Choose teachers from the school’s current staff" in refused.content.decode()
    clash = client.post("/registration-groups/", {"name": "4b"})
    assert "already has a group called" in clash.content.decode()
    created = client.post("/registration-groups/", {"name": "5A", "teachers": [world.teacher.pk]})
    assert created.status_code == 302
    group_page = client.get(created["Location"]).content.decode()
    assert "5A" in group_page and world.teacher.user.full_name in group_page
    viewer = site_client(world.school, world.teacher.user)
    assert viewer.get("/registration-groups/").status_code == 200
    assert viewer.post("/registration-groups/", {"name": "6A"}).status_code == 403


def test_the_days_registers_and_the_closing_times_page(world, site_client):
    a = world.pupils[0]
    client = site_client(world.school, world.office.user)
    post_marks(client, world.group, {a.pk: "/"})
    listing = client.get(f"/registers/?date={TODAY.isoformat()}").content.decode()
    assert "1 of 3 marked" in listing and "Not taken" in listing
    wrong = client.post("/registers/settings/", {"am_closes_at": "9am", "pm_closes_at": "13:45"})
    assert wrong.status_code == 400
    assert "Enter a time as hours:minutes" in wrong.content.decode()
    assert (
        client.post(
            "/registers/settings/", {"am_closes_at": "08:45", "pm_closes_at": "13:45"}
        ).status_code
        == 302
    )
    with in_site(world.school):
        assert RegisterSettings.objects.get(site=world.school).am_closes_at == datetime.time(8, 45)
    teacher = site_client(world.school, world.teacher.user)
    assert (
        teacher.post(
            "/registers/settings/", {"am_closes_at": "08:00", "pm_closes_at": "13:45"}
        ).status_code
        == 403
    )
