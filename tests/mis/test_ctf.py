"""Common Transfer Files (issue 15): reading a file safely, its preview, the import (all or
nothing, audited), and the round trip export -> import keeping every field the schema
carries. Files are built from the schema's element names (tests/mis/ctf_files.py)."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from accounts import audit
from accounts.models import AuditAction, AuditEvent
from mis.codes import Sex
from mis.ctf.reader import MAX_BYTES, CtfRefused, read_ctf
from mis.ctf.records import CTF_VERSION
from mis.ctf.selectors import ctf_import_preview, school_ref, transfer_records
from mis.ctf.services import ctf_import_run, ctf_upload
from mis.ctf.writer import write_ctf
from mis.models import CtfImport, FsmPeriod, PriorAttendance, Pupil, PupilAddress, SenPeriod
from tests.factories import UserFactory
from tests.institutions.factories import SchoolFactory
from tests.mis.ctf_files import bad_check_letter, ctf_xml, pupil_xml, valid_ctf
from tests.mis.factories import PupilFactory, in_site, make_upn, mark_days

pytestmark = pytest.mark.django_db

JOINS = datetime.date(2026, 12, 1)


@pytest.fixture
def school():
    return SchoolFactory(name="Fenwick Primary", la_code="383", establishment_number="2001")


def actor_at(site):
    return audit.Actor(user=UserFactory(), site=site)


def upload(site, data: bytes, actor=None):
    with in_site(site):
        return ctf_upload(site=site, actor=actor or actor_at(site), name="in.xml", data=data)


def run(site, ctf_import, actor=None):
    with in_site(site):
        return ctf_import_run(
            site=site, ctf_import=ctf_import, enrolled_on=JOINS, actor=actor or actor_at(site)
        )


def counts(site) -> dict:
    with in_site(site):
        return {
            model.__name__: model.objects.count()
            for model in (Pupil, PupilAddress, FsmPeriod, SenPeriod, PriorAttendance, CtfImport)
        }


def refused(data: bytes) -> str:
    with pytest.raises(CtfRefused) as caught:
        read_ctf(data)
    return str(caught.value)


# --- A valid file ---------------------------------------------------------------------------


def test_a_valid_file_previews_then_imports_every_pupil_with_their_record(school):
    data, upns = valid_ctf(2)
    ctf_import = upload(school, data)
    with in_site(school):
        preview = ctf_import_preview(site=school, ctf_import=ctf_import)
    assert [m.record.upn for m in preview.new] == upns
    assert preview.can_import and not preview.document.rejections
    actor = actor_at(school)
    run(school, ctf_import, actor)
    with in_site(school):
        pupil = Pupil.objects.get(site=school, upn=upns[0])
        assert (pupil.legal_first_name, pupil.legal_last_name) == ("Evie0", "Ashworth0")
        assert pupil.date_of_birth == datetime.date(2016, 5, 2)
        assert (pupil.sex, pupil.year_group, pupil.enrolled_on) == (Sex.FEMALE, 4, JOINS)
        assert pupil.fsm_eligible and pupil.disadvantaged and pupil.sen_provision == "K"
        address = pupil.addresses.get()
        assert (address.paon, address.street, address.postcode) == ("14", "Mill Lane", "LS6 3AB")
        prior = pupil.prior_attendance.get()
        assert (prior.academic_year, prior.sessions_possible, prior.sessions_unauthorised) == (
            2025,
            380,
            4,
        )
        assert CtfImport.objects.get().state == CtfImport.State.IMPORTED
    event = AuditEvent.objects.get(action=AuditAction.CTF_IMPORTED, site=school)
    assert event.actor == actor.user and event.detail["new_pupils"] == 2


def test_a_file_is_imported_once(school):
    ctf_import = upload(school, valid_ctf(1)[0])
    run(school, ctf_import)
    with pytest.raises(ValidationError, match="already imported"):
        run(school, ctf_import)
    assert counts(school)["Pupil"] == 1


def test_a_pupil_already_here_is_updated_never_duplicated(school):
    data, (upn,) = valid_ctf(1)
    existing = PupilFactory(
        site=school,
        upn=upn,
        legal_first_name="Evie0",
        legal_last_name="ASHWORTH0",
        date_of_birth=datetime.date(2016, 5, 2),
        year_group=3,
        enrolled_on=datetime.date(2022, 9, 1),
    )
    ctf_import = upload(school, data)
    with in_site(school):
        preview = ctf_import_preview(site=school, ctf_import=ctf_import)
    assert [m.existing.pk for m in preview.same] == [existing.pk]
    run(school, ctf_import)
    with in_site(school):
        pupil = Pupil.objects.get(site=school)
    assert pupil.pk == existing.pk and pupil.year_group == 4
    assert pupil.enrolled_on == datetime.date(2022, 9, 1)


# --- Refused as a whole: nothing kept -------------------------------------------------------


def test_a_wrong_version_is_refused_by_name(school):
    data = ctf_xml(pupil_xml(make_upn()), version="24.0").encode()
    assert f"CTF version 24.0; matmis reads version {CTF_VERSION}" in refused(data)
    with pytest.raises(ValidationError, match=r"version 24\.0"):
        upload(school, data)
    assert counts(school)["CtfImport"] == 0


BILLION_LAUGHS = """
<!DOCTYPE CTfile [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>"""
EXTERNAL = """
<!DOCTYPE CTfile [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>"""


@pytest.mark.parametrize("prolog", [BILLION_LAUGHS, EXTERNAL], ids=["expansion", "external"])
def test_entities_and_document_types_are_refused_unexpanded(school, prolog):
    data = ctf_xml(pupil_xml(make_upn(), surname="&lol3;&secret;"), prolog=prolog)
    data = data.replace("&lol3;&secret;", "&lol3;" if "lol" in prolog else "&secret;").encode()
    assert "declares a document type or entities" in refused(data)
    with pytest.raises(ValidationError):
        upload(school, data)
    assert counts(school)["CtfImport"] == 0


def test_a_file_over_the_size_limit_is_refused_before_parsing():
    data = ctf_xml(pupil_xml(make_upn()) + "<!--" + "x" * MAX_BYTES + "-->").encode()
    assert "a Common Transfer File may be at most 20 MB" in refused(data)


def test_wrong_encodings_are_refused_clearly(school):
    latin = ctf_xml(pupil_xml(make_upn(), forename="Zoë")).encode("latin-1")
    assert "not UTF-8 text" in refused(latin)
    declared = ctf_xml(pupil_xml(make_upn())).replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    assert "says its encoding is ISO-8859-1" in refused(declared.encode("latin-1"))
    assert "UTF-16" in refused(ctf_xml(pupil_xml(make_upn())).encode("utf-16"))
    assert "not well-formed XML (line" in refused(b"<CTfile><Header></CTfile>")
    assert "root element is <html>" in refused(b"<html></html>")
    with pytest.raises(ValidationError):
        upload(school, latin)
    assert counts(school)["CtfImport"] == 0


def test_a_bom_is_accepted():
    data, upns = valid_ctf(1)
    assert [p.upn for p in read_ctf(b"\xef\xbb\xbf" + data).pupils] == upns


# --- Refused pupils: the preview says why, the import changes nothing -----------------------


def _refused_import(school, data: bytes) -> str:
    before = counts(school)
    ctf_import = upload(school, data)
    with pytest.raises(ValidationError) as caught:
        run(school, ctf_import)
    after = counts(school)
    assert after == {**before, "CtfImport": before["CtfImport"] + 1}  # only the kept file
    with in_site(school):
        assert CtfImport.objects.get(pk=ctf_import.pk).state == CtfImport.State.PREVIEWED
    assert not AuditEvent.objects.filter(action=AuditAction.CTF_IMPORTED).exists()
    return " ".join(caught.value.messages)


def test_duplicate_upns_refuse_the_whole_import(school):
    upn = make_upn()
    data = ctf_xml(pupil_xml(upn) + pupil_xml(upn, forename="Other")).encode()
    document = read_ctf(data)
    (rejection,) = document.rejections
    assert rejection.blocking and "same UPN as pupil 1" in rejection.reason
    assert "Nothing can be imported" in _refused_import(school, data)


def test_a_bad_check_letter_refuses_the_whole_import(school):
    good = make_upn()
    data = ctf_xml(pupil_xml(good, forename="Fine") + pupil_xml(bad_check_letter(good))).encode()
    (rejection,) = read_ctf(data).rejections
    assert rejection.element == "UPN"
    assert f"it should be {good[0]}" in rejection.reason
    _refused_import(school, data)


def test_a_upn_clash_with_another_person_refuses_the_import(school):
    data, (upn,) = valid_ctf(1)
    PupilFactory(site=school, upn=upn, legal_first_name="Someone", legal_last_name="Else")
    ctf_import = upload(school, data)
    with in_site(school):
        preview = ctf_import_preview(site=school, ctf_import=ctf_import)
    (clash,) = preview.clashes
    assert "Someone Else" in clash.clash_reason and "never merged" in clash.clash_reason
    with pytest.raises(ValidationError, match="Nothing can be imported"):
        run(school, ctf_import)
    with in_site(school):
        assert Pupil.objects.get(upn=upn).legal_first_name == "Someone"


def test_refused_details_are_left_out_and_listed_without_blocking(school):
    extra = """<FSMhistory><FSMinstance><FSMstartDate>2025-05-01</FSMstartDate>
      <FSMendDate>2025-01-01</FSMendDate></FSMinstance></FSMhistory>
      <SENhistory><SEN><StartDate>2025-01-01</StartDate><SENprovision>Z</SENprovision></SEN>
      </SENhistory>"""
    upn = make_upn()
    data = ctf_xml(pupil_xml(upn, sex="X", extra=extra)).encode()
    document = read_ctf(data)
    reasons = {r.element: r.reason for r in document.rejections}
    assert not document.blocking
    assert "ends (2025-01-01) before it starts" in reasons["FSM"]
    assert "not an SEN provision" in reasons["SEN"] and "not F or M" in reasons["Sex"]
    run(school, upload(school, data))
    with in_site(school):
        pupil = Pupil.objects.get(upn=upn)
        assert pupil.sex == "" and pupil.fsm_periods.count() == 1  # the valid one
        assert pupil.sen_periods.count() == 1


# --- Round trip -----------------------------------------------------------------------------


def test_export_then_import_keeps_every_field_the_schema_carries():
    source = SchoolFactory(la_code="383", establishment_number="2101")
    destination = SchoolFactory(la_code="384", establishment_number="4101")
    data, _ = valid_ctf(1)
    run(source, upload(source, data))  # a full record: address, FSM, SEN, an earlier year
    with in_site(source):
        pupil = Pupil.objects.get(site=source)
        pupil.preferred_first_name = "Eve"
        pupil.save(update_fields=["preferred_first_name"])
    mark_days(pupil, [datetime.date(2026, 11, 16), datetime.date(2026, 11, 17)], "/O/#")
    with in_site(source):
        (exported,) = transfer_records(site=source, pupil_ids=[pupil.pk])
        file = write_ctf(
            source=school_ref(source, today=JOINS),
            destination=school_ref(destination),
            generated_at="2026-12-08T09:00:00",
            records=[exported],
        )
    assert [year.academic_year for year in exported.attendance] == [2025, 2026]
    assert exported.attendance[1].sessions_possible == 3  # "#" (closure) is not a possible session
    assert exported.attendance[1].sessions_unauthorised == 1
    run(destination, upload(destination, file))
    with in_site(destination):
        arrived = Pupil.objects.get(site=destination)
        (again,) = transfer_records(site=destination, pupil_ids=[arrived.pk])
    assert again == exported
    assert read_ctf(file).pupils == (exported,)
    # The marks stayed where they were recorded.
    with in_site(destination):
        assert not arrived.marks.exists()
    with in_site(source):
        assert pupil.marks.count() == 4
