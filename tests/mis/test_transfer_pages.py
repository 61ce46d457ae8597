"""The pages and REST endpoints of taking off roll, arrivals and Common Transfer Files
(issue 15): the permission ladder, the flows through forms and the API, clear refusals
that change nothing, a transfer made inside a hop, and constant query counts."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditAction, AuditEvent, BusinessRole, RoleGrant
from accounts.permissions import STUDENTS, Access
from mis.codes import LeavingReason
from mis.ctf.reader import read_ctf
from mis.models import CtfImport, Pupil, PupilArrival
from tests.factories import StaffProfileFactory, pupil_data_staff
from tests.hop.factories import World
from tests.institutions.factories import SchoolFactory
from tests.mis.ctf_files import ctf_xml, pupil_xml, valid_ctf
from tests.mis.factories import PupilFactory, in_site, make_upn

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


@pytest.fixture
def world():
    source = SchoolFactory(name="Fenwick Primary", la_code="383", establishment_number="2001")
    destination = SchoolFactory(name="Harewood Primary", la_code="383", establishment_number="2002")
    pupil = PupilFactory(site=source, legal_first_name="Maisie", legal_last_name="Thornbury")
    return source, destination, pupil


def arrive(source, destination, pupil, client):
    response = client.post(
        f"/api/v1/pupils/{pupil.pk}/off-roll/",
        {"left_on": TODAY.isoformat(), "reason": "school", "destination_urn": destination.urn},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    with in_site(destination):
        return PupilArrival.objects.filter(site=destination).latest("id")


# --- The ladder -----------------------------------------------------------------------------


def test_reads_need_students_at_view_and_writes_at_administer(world, site_client):
    source, destination, pupil = world
    StaffProfileFactory(site=destination)
    admin = site_client(source, pupil_data_staff(source, Access.ADMINISTER))
    arrival = arrive(source, destination, pupil, admin)
    other = PupilFactory(site=source)
    viewer = site_client(destination, pupil_data_staff(destination, Access.VIEW))
    for path in ("/students/arrivals/", f"/students/arrivals/{arrival.pk}/", "/students/ctf/"):
        assert viewer.get(path).status_code == 200, path
    assert viewer.get("/api/v1/arrivals/").status_code == 200
    assert viewer.get(f"/api/v1/arrivals/{arrival.pk}/").json()["match"]["match"] == "new"
    source_viewer = site_client(source, pupil_data_staff(source, Access.VIEW))
    refused = [
        source_viewer.get(f"/students/{other.pk}/off-roll/"),
        source_viewer.post("/students/ctf/export/", {"pupil": other.pk}),
        source_viewer.post(f"/api/v1/pupils/{other.pk}/off-roll/", {}),
        viewer.post(f"/students/arrivals/{arrival.pk}/", {"enrolled_on": TODAY.isoformat()}),
        viewer.post(f"/api/v1/arrivals/{arrival.pk}/accept/", {"enrolled_on": "2026-12-08"}),
        viewer.post("/api/v1/ctf/export/", {"pupils": [other.pk]}, content_type="application/json"),
    ]
    assert [r.status_code for r in refused] == [403] * 6
    assert b"Students: Student Records" in refused[0].content
    # Another school's staff, anonymous: the arrival does not exist for them.
    assert admin.get(f"/students/arrivals/{arrival.pk}/").status_code == 404
    assert admin.get(f"/api/v1/arrivals/{arrival.pk}/").status_code == 404
    assert site_client(destination).get("/students/arrivals/").status_code == 302
    assert site_client(destination).get("/api/v1/arrivals/").status_code == 403
    with in_site(destination):
        assert PupilArrival.objects.get().state == PupilArrival.State.PENDING


# --- Off roll through the page --------------------------------------------------------------


def test_the_off_roll_page_explains_refusals_and_then_takes_the_pupil_off(world, site_client):
    source, _destination, pupil = world
    client = site_client(source, pupil_data_staff(source, Access.ADMINISTER))
    page = client.get(f"/students/{pupil.pk}/off-roll/").content.decode()
    assert "Registered at another school" in page and "Next school" in page
    bad = client.post(
        f"/students/{pupil.pk}/off-roll/",
        {"left_on": TODAY.isoformat(), "reason": "school", "destination_urn": "12"},
    )
    assert bad.status_code == 400 and "A URN is six digits." in bad.content.decode()
    with in_site(source):
        assert Pupil.objects.get(pk=pupil.pk).left_on is None
    done = client.post(
        f"/students/{pupil.pk}/off-roll/",
        {"left_on": TODAY.isoformat(), "reason": "home"},
        follow=True,
    )
    text = done.content.decode()
    assert "Maisie Thornbury is off roll" in text
    assert "Educated otherwise than at school" in text
    with in_site(source):
        assert Pupil.objects.get(pk=pupil.pk).leaving_reason == LeavingReason.HOME_EDUCATION
    foreign = client.get(f"/students/{PupilFactory(site=_destination).pk}/off-roll/")
    assert foreign.status_code == 404


# --- CTF through the page and the API -------------------------------------------------------


def test_a_ctf_is_uploaded_previewed_and_imported_through_the_pages(world, site_client):
    _source, destination, _pupil = world
    client = site_client(destination, pupil_data_staff(destination, Access.ADMINISTER))
    data, upns = valid_ctf(2)
    uploaded = client.post("/students/ctf/", {"file": SimpleUploadedFile("in.xml", data)})
    assert uploaded.status_code == 302
    preview = client.get(uploaded["Location"]).content.decode()
    assert "New pupil" in preview and upns[0] in preview and "Import all 2 pupils" in preview
    imported = client.post(uploaded["Location"], {"enrolled_on": TODAY.isoformat()}, follow=True)
    assert "2 new pupils, 0 updated" in imported.content.decode()
    with in_site(destination):
        assert set(Pupil.objects.values_list("upn", flat=True)) == set(upns)


def test_a_refused_file_says_why_on_the_page_and_keeps_nothing(world, site_client):
    _source, destination, _pupil = world
    client = site_client(destination, pupil_data_staff(destination, Access.ADMINISTER))
    old = ctf_xml(pupil_xml(make_upn()), version="19.0").encode()
    response = client.post("/students/ctf/", {"file": SimpleUploadedFile("old.xml", old)})
    assert response.status_code == 400
    assert "This file is CTF version 19.0" in response.content.decode()
    api = client.post("/api/v1/ctf/imports/", {"file": SimpleUploadedFile("old.xml", old)})
    assert api.status_code == 400 and "version 19.0" in api.json()["error"]["fields"]["file"][0]
    with in_site(destination):
        assert not CtfImport.objects.exists()


def test_the_api_uploads_previews_imports_and_exports(world, site_client):
    _source, destination, pupil = world
    client = site_client(destination, pupil_data_staff(destination, Access.ADMINISTER))
    upn = make_upn()
    data = ctf_xml(pupil_xml(upn) + pupil_xml(upn, forename="Twin")).encode()
    created = client.post("/api/v1/ctf/imports/", {"file": SimpleUploadedFile("d.xml", data)})
    assert created.status_code == 201
    body = created.json()
    assert not body["can_import"] and body["rejections"][0]["blocking"]
    refused = client.post(
        f"/api/v1/ctf/imports/{body['file']['id']}/import/",
        {"enrolled_on": "2026-12-08"},
        content_type="application/json",
    )
    assert (
        refused.status_code == 400
        and "Nothing can be imported" in refused.json()["error"]["message"]
    )
    good, _ = valid_ctf(1)
    created = client.post("/api/v1/ctf/imports/", {"file": SimpleUploadedFile("g.xml", good)})
    done = client.post(
        f"/api/v1/ctf/imports/{created.json()['file']['id']}/import/",
        {"enrolled_on": "2026-12-08"},
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["file"]["state"] == "imported"
    with in_site(destination):
        new = Pupil.objects.get()
    exported = client.post(
        "/api/v1/ctf/export/", {"pupils": [new.pk]}, content_type="application/json"
    )
    assert exported["Content-Type"].startswith("application/xml")
    assert [p.upn for p in read_ctf(exported.content).pupils] == [new.upn]
    foreign = client.post(
        "/api/v1/ctf/export/", {"pupils": [new.pk, pupil.pk]}, content_type="application/json"
    )
    assert foreign.status_code == 404  # another school's pupil, as a missing one
    assert AuditEvent.objects.filter(action=AuditAction.CTF_EXPORTED).count() == 1


# --- Arrivals through the API and the page --------------------------------------------------


def test_an_arrival_is_accepted_through_the_page_and_another_rejected_by_the_api(
    world, site_client
):
    source, destination, pupil = world
    StaffProfileFactory(site=destination)
    sender = site_client(source, pupil_data_staff(source, Access.ADMINISTER))
    arrival = arrive(source, destination, pupil, sender)
    client = site_client(destination, pupil_data_staff(destination, Access.ADMINISTER))
    listing = client.get("/students/arrivals/").content.decode()
    assert "Maisie Thornbury" in listing and "Fenwick Primary" in listing
    accepted = client.post(
        f"/students/arrivals/{arrival.pk}/",
        {"decision": "accept", "enrolled_on": TODAY.isoformat()},
        follow=True,
    )
    assert "Maisie Thornbury is on roll" in accepted.content.decode()
    second = arrive(source, destination, PupilFactory(site=source), sender)
    rejected = client.post(
        f"/api/v1/arrivals/{second.pk}/reject/",
        {"reason": "No place in Year 3."},
        content_type="application/json",
    )
    assert rejected.json()["state"] == "rejected"
    again = client.post(
        f"/api/v1/arrivals/{second.pk}/accept/",
        {"enrolled_on": TODAY.isoformat()},
        content_type="application/json",
    )
    assert again.status_code == 400 and "already rejected" in again.json()["error"]["message"]


def test_the_arrivals_and_preview_pages_keep_their_query_counts(world, site_client):
    source, destination, _pupil = world
    StaffProfileFactory(site=destination)
    sender = site_client(source, pupil_data_staff(source, Access.ADMINISTER))
    client = site_client(destination, pupil_data_staff(destination, Access.ADMINISTER))
    arrive(source, destination, PupilFactory(site=source), sender)

    def queries(path):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return len(captured)

    queries("/students/arrivals/")  # the session's first request does more
    one = queries("/students/arrivals/")
    for _ in range(4):
        arrive(source, destination, PupilFactory(site=source), sender)
    assert queries("/students/arrivals/") == one
    small = client.post(
        "/api/v1/ctf/imports/", {"file": SimpleUploadedFile("s.xml", valid_ctf(1)[0])}
    )
    large = client.post(
        "/api/v1/ctf/imports/", {"file": SimpleUploadedFile("l.xml", valid_ctf(8)[0])}
    )
    assert queries(f"/students/ctf/{small.json()['file']['id']}/") == queries(
        f"/students/ctf/{large.json()['file']['id']}/"
    )


# --- A transfer while the source is under a hop ---------------------------------------------


def test_a_transfer_made_inside_a_hop_is_audited_with_the_group(site_client):
    hop = World()
    trust_admin = BusinessRole.objects.get(site=hop.trust, name="Trust Administrator")
    RoleGrant.objects.filter(role=trust_admin, code=STUDENTS, in_school=True).update(
        access=int(Access.ADMINISTER)
    )
    destination = SchoolFactory(name="Harewood Primary")
    StaffProfileFactory(site=destination)
    pupil = PupilFactory(site=hop.school, legal_first_name="Hopper", legal_last_name="Moved")
    client = hop.hop_in()
    response = client.post(
        f"/api/v1/pupils/{pupil.pk}/off-roll/",
        {"left_on": TODAY.isoformat(), "reason": "school", "destination_urn": destination.urn},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["sent_to_school_urn"] == destination.urn
    with in_site(destination):
        arrival = PupilArrival.objects.get()
    assert arrival.sent_by == f"{hop.user.email} (from Oak Ridge Trust)"
    event = AuditEvent.objects.get(action=AuditAction.PUPIL_OFF_ROLL)
    assert event.site == hop.school and event.acting_from == hop.trust
    assert event.detail["before"]["left_on"] is None
    assert AuditEvent.objects.filter(action=AuditAction.HOP_WRITE).exists()
