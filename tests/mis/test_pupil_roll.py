"""Pupils on the roll (issue 15): add (with a checked UPN or a temporary one), edit and
readmit, on the pages and through the API, with Students at Administer; each change is
audited with before and after; bad input is refused by name and changes nothing; another
school's pupil or group is the same 404 as a missing one."""

import datetime

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.permissions import ATTENDANCE, STUDENTS, Access
from mis.codes import LeavingReason, upn_problem
from mis.models import Pupil
from tests.accounts.factories import hold, person, role_with
from tests.institutions.factories import SchoolFactory
from tests.mis.factories import PupilFactory, in_site, make_upn, registration_group

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 25)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr(
        timezone, "now", lambda: timezone.make_aware(datetime.datetime(2026, 11, 25, 10, 0))
    )


def staff(site, grants):
    profile = person(site)
    hold(profile, role_with(site, f"Role {profile.pk}", grants))
    return profile.user


@pytest.fixture
def school():
    school = SchoolFactory(name="Fenwick Primary", slug="fenwick", la_code="383")
    school.establishment_number = "2001"
    school.save()
    school.admin = staff(school, {STUDENTS: Access.ADMINISTER, ATTENDANCE: Access.VIEW})
    school.group = registration_group(school, "4B")
    return school


@pytest.fixture
def elsewhere():
    other = SchoolFactory(name="Other School", slug="other")
    other.pupil = PupilFactory(site=other, legal_last_name="Foreignpupil")
    other.group = registration_group(other, "4F")
    return other


def form(**overrides):
    data = {
        "legal_first_name": "Ada",
        "preferred_first_name": "",
        "legal_last_name": "Lovelace",
        "date_of_birth": "2018-03-14",
        "sex": "F",
        "upn": make_upn(serial=901),
        "year_group": "3",
        "registration_group_id": "",
        "enrolled_on": "2026-09-01",
        "sen_provision": "N",
    }
    return data | overrides


def pupils(site):
    with in_site(site):
        return list(Pupil.objects.order_by("pk"))


def test_add_a_pupil_with_a_checked_upn_and_a_group(school, site_client):
    client = site_client(school, school.admin)
    response = client.post("/students/new/", form(registration_group_id=str(school.group.pk)))
    assert response.status_code == 302
    (pupil,) = pupils(school)
    assert (pupil.legal_last_name, pupil.registration_group_id, pupil.sex) == (
        "Lovelace",
        school.group.pk,
        "F",
    )
    event = AuditEvent.objects.get(site=school, action="pupil_added")
    assert event.detail["after"]["upn"] == pupil.upn
    page = client.get(f"/students/{pupil.pk}/").content.decode()
    assert "4B" in page and "Edit record" in page


def test_a_temporary_upn_is_made_when_none_is_known(school, site_client):
    client = site_client(school, school.admin)
    for _ in range(2):
        assert client.post("/students/new/", form(upn="", temporary_upn="on")).status_code == 302
    first, second = pupils(school)
    assert first.upn != second.upn
    for pupil in (first, second):
        assert pupil.upn_is_temporary and upn_problem(pupil.upn) is None
        assert pupil.upn[1:10] == "383200126"


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"upn": "A" + make_upn(serial=902)[1:]}, "The check letter is wrong"),
        ({"upn": ""}, "or choose a temporary UPN"),
        ({"legal_first_name": "   "}, "legal first name"),
        ({"date_of_birth": "2030-01-01"}, "must be in the past"),
        ({"date_of_birth": "1990-01-01"}, "check the date of birth"),
        ({"enrolled_on": "2010-01-01"}, "cannot be before the date of birth"),
        ({"year_group": "99"}, "Choose a year group from the list."),
        ({"year_group": ""}, "Choose a year group."),
        ({"registration_group_id": "987654"}, "Choose one of the school’s registration groups"),
    ],
)
def test_bad_input_is_refused_by_name_and_changes_nothing(school, site_client, overrides, words):
    client = site_client(school, school.admin)
    response = client.post("/students/new/", form(**overrides))
    assert response.status_code == 400
    assert words in response.content.decode()
    assert pupils(school) == []
    assert not AuditEvent.objects.filter(action="pupil_added").exists()


def test_a_upn_held_by_another_pupil_is_refused_and_another_schools_group_too(
    school, elsewhere, site_client
):
    client = site_client(school, school.admin)
    upn = make_upn(serial=903)
    assert client.post("/students/new/", form(upn=upn)).status_code == 302
    again = client.post("/students/new/", form(upn=upn))
    assert "already has the UPN" in again.content.decode()
    foreign_group = client.post(
        "/students/new/", form(upn=make_upn(serial=904), registration_group_id=elsewhere.group.pk)
    )
    assert foreign_group.status_code == 400
    assert len(pupils(school)) == 1


def test_edit_is_audited_with_before_and_after(school, site_client):
    pupil = PupilFactory(site=school, legal_first_name="Ben", year_group=3)
    client = site_client(school, school.admin)
    data = form(
        upn=pupil.upn, legal_first_name="Benedict", year_group="4", date_of_birth="2017-03-14"
    )
    assert client.post(f"/students/{pupil.pk}/edit/", data).status_code == 302
    event = AuditEvent.objects.get(site=school, action="pupil_changed")
    assert event.detail["changes"]["legal_first_name"] == ["Ben", "Benedict"]
    assert event.detail["changes"]["year_group"] == [3, 4]
    assert "upn" not in event.detail["changes"]


def test_readmit_a_pupil_who_left(school, site_client):
    pupil = PupilFactory(site=school, left_on=datetime.date(2026, 10, 31))
    client = site_client(school, school.admin)
    early = client.post(f"/students/{pupil.pk}/readmit/", {"readmitted_on": "2026-10-01"})
    assert early.status_code == 400
    assert "must be after that day" in early.content.decode()
    ok = client.post(f"/students/{pupil.pk}/readmit/", {"readmitted_on": "2026-11-23"})
    assert ok.status_code == 302
    (pupil,) = pupils(school)
    assert (pupil.enrolled_on, pupil.left_on) == (datetime.date(2026, 11, 23), None)
    event = AuditEvent.objects.get(site=school, action="pupil_readmitted")
    assert event.detail["changes"]["left_on"] == ["2026-10-31", None]
    again = client.post(f"/students/{pupil.pk}/readmit/", {"readmitted_on": "2026-11-24"})
    assert "on the roll already" in again.content.decode()


def test_readmitting_a_leaver_clears_the_ground_and_next_school_they_left_with(school, site_client):
    pupil = PupilFactory(
        site=school,
        left_on=datetime.date(2026, 10, 31),
        leaving_reason=LeavingReason.values[0],
        destination_urn="100001",
        destination_name="Elsewhere Primary",
    )
    client = site_client(school, school.admin)
    assert (
        client.post(f"/students/{pupil.pk}/readmit/", {"readmitted_on": "2026-11-23"}).status_code
        == 302
    )
    (pupil,) = pupils(school)
    assert (pupil.left_on, pupil.leaving_reason, pupil.destination_urn) == (None, "", "")
    assert pupil.destination_name == ""
    changes = AuditEvent.objects.get(site=school, action="pupil_readmitted").detail["changes"]
    assert changes["destination_urn"] == ["100001", ""]


def test_view_only_staff_may_not_change_pupils(school, site_client):
    pupil = PupilFactory(site=school)
    viewer = staff(school, {STUDENTS: Access.VIEW})
    client = site_client(school, viewer)
    assert client.get("/students/new/").status_code == 403
    assert client.post("/students/new/", form()).status_code == 403
    assert client.post(f"/students/{pupil.pk}/edit/", form()).status_code == 403
    assert (
        client.put(
            f"/api/v1/pupils/{pupil.pk}/", form(), content_type="application/json"
        ).status_code
        == 403
    )
    assert len(pupils(school)) == 1


def test_another_schools_pupil_is_the_same_404_as_a_missing_one(school, elsewhere, site_client):
    client = site_client(school, school.admin)
    for path in ("/students/{}/edit/", "/students/{}/readmit/"):
        assert client.get(path.format(elsewhere.pupil.pk)).status_code == 404
        assert client.get(path.format(987654)).status_code == 404
        assert client.post(path.format(elsewhere.pupil.pk), form()).status_code == 404
    api = client.put(
        f"/api/v1/pupils/{elsewhere.pupil.pk}/", form(), content_type="application/json"
    )
    assert api.status_code == 404
    (foreign,) = pupils(elsewhere)
    assert foreign.legal_last_name == "Foreignpupil"


def test_the_api_adds_edits_and_readmits(school, site_client):
    client = site_client(school, school.admin)
    body = form(registration_group=school.group.pk, year_group=3)
    del body["registration_group_id"]
    created = client.post("/api/v1/pupils/", body, content_type="application/json")
    assert created.status_code == 201, created.json()
    record = created.json()
    assert record["registration_group"] == {"id": school.group.pk, "name": "4B"}
    refused = client.post(
        "/api/v1/pupils/", {**body, "upn": "A" + body["upn"][1:]}, content_type="application/json"
    )
    assert refused.status_code == 400
    assert "check letter" in str(refused.json()["error"]["fields"]["upn"])
    changed = client.put(
        f"/api/v1/pupils/{record['id']}/",
        {**body, "legal_last_name": "Byron"},
        content_type="application/json",
    )
    assert changed.json()["legal_last_name"] == "Byron"
    not_left = client.post(
        f"/api/v1/pupils/{record['id']}/readmit/",
        {"readmitted_on": "2026-11-25"},
        content_type="application/json",
    )
    assert not_left.status_code == 400
    assert "on the roll already" in str(not_left.json())
