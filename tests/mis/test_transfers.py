"""Taking a pupil off roll and transfers inside the platform (issue 15): the destination
gets a pending arrival with the transferable record, accepts it (matched by UPN, never
merged with someone else) or rejects it; a destination off the platform gets a CTF
instead; the source reads only its own rows and the destination's are written in its own
scope; attendance marks stay where they were recorded."""

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from accounts import audit
from accounts.models import AuditAction, AuditEvent
from mis.codes import LeavingReason
from mis.ctf.reader import read_ctf
from mis.models import AttendanceMark, Pupil, PupilArrival
from mis.transfers.services import arrival_accept, arrival_reject, pupil_take_off_roll
from tests.factories import StaffProfileFactory, UserFactory
from tests.institutions.factories import SchoolFactory
from tests.mis.factories import PupilFactory, in_site, mark_days

pytestmark = pytest.mark.django_db

LEFT = datetime.date(2026, 12, 4)
JOINS = datetime.date(2026, 12, 7)


@pytest.fixture
def schools():
    source = SchoolFactory(name="Fenwick Primary", la_code="383", establishment_number="2001")
    destination = SchoolFactory(name="Harewood Primary", la_code="383", establishment_number="2002")
    StaffProfileFactory(site=destination)  # someone works there: it is on the platform
    pupil = PupilFactory(
        site=source,
        legal_first_name="Maisie",
        legal_last_name="Thornbury",
        date_of_birth=datetime.date(2017, 1, 9),
        enrolled_on=datetime.date(2021, 9, 1),
    )
    mark_days(pupil, [datetime.date(2026, 11, 16)], ["/", "O"])
    return source, destination, pupil


def actor_at(site, **kwargs):
    return audit.Actor(user=UserFactory(), site=site, **kwargs)


def off_roll(site, pupil_id, actor=None, **kwargs):
    values = {"left_on": LEFT, "reason": LeavingReason.OTHER_SCHOOL} | kwargs
    with in_site(site):
        return pupil_take_off_roll(
            site=site, pupil_id=pupil_id, actor=actor or actor_at(site), **values
        )


def accept(site, arrival, actor=None, enrolled_on=JOINS):
    with in_site(site):
        return arrival_accept(
            site=site, arrival_id=arrival.pk, enrolled_on=enrolled_on, actor=actor or actor_at(site)
        )


def arrival_at(site) -> PupilArrival:
    with in_site(site):
        return PupilArrival.objects.select_related("from_school").get(site=site)


def test_a_transfer_accepted_puts_the_pupil_on_the_next_schools_roll(schools):
    source, destination, pupil = schools
    outcome = off_roll(source, pupil.pk, destination_urn=destination.urn)
    assert outcome.sent_to == destination and not outcome.ctf_needed
    with in_site(source):
        left = Pupil.objects.get(pk=pupil.pk)
        assert (left.left_on, left.leaving_reason) == (LEFT, LeavingReason.OTHER_SCHOOL)
        assert (left.destination_urn, left.destination_name) == (
            destination.urn,
            "Harewood Primary",
        )
        assert not PupilArrival.objects.exists()  # the arrival is the destination's row
    arrival = arrival_at(destination)
    assert arrival.state == PupilArrival.State.PENDING and arrival.from_school == source
    (record,) = read_ctf(arrival.record.encode()).pupils
    assert (record.upn, record.legal_last_name) == (pupil.upn, "Thornbury")
    assert record.attendance[0].sessions_possible == 2  # the summary travels, not the marks

    arrived = accept(destination, arrival)
    with in_site(destination):
        assert arrived.site_id == destination.pk and arrived.upn == pupil.upn
        assert arrived.enrolled_on == JOINS and arrived.left_on is None
        assert not AttendanceMark.objects.exists()
        assert PupilArrival.objects.get().state == PupilArrival.State.ACCEPTED
    with in_site(source):
        assert AttendanceMark.objects.filter(pupil_id=pupil.pk).count() == 2
    actions = set(AuditEvent.objects.values_list("site_id", "action"))
    assert (source.pk, AuditAction.PUPIL_OFF_ROLL) in actions
    assert (destination.pk, AuditAction.ARRIVAL_RECEIVED) in actions
    assert (destination.pk, AuditAction.ARRIVAL_ACCEPTED) in actions
    with pytest.raises(ValidationError, match="already accepted"):
        accept(destination, arrival)


def test_a_transfer_rejected_keeps_its_reason_and_adds_no_pupil(schools):
    source, destination, pupil = schools
    off_roll(source, pupil.pk, destination_urn=destination.urn)
    arrival = arrival_at(destination)
    with in_site(destination), pytest.raises(ValidationError, match="Say why"):
        arrival_reject(
            site=destination, arrival_id=arrival.pk, reason="  ", actor=actor_at(destination)
        )
    with in_site(destination):
        arrival_reject(
            site=destination,
            arrival_id=arrival.pk,
            reason="No place was offered in Year 4.",
            actor=actor_at(destination),
        )
        assert not Pupil.objects.exists()
        rejected = PupilArrival.objects.get()
    assert rejected.state == PupilArrival.State.REJECTED
    assert rejected.rejection_reason == "No place was offered in Year 4."
    with pytest.raises(ValidationError, match="already rejected"):
        accept(destination, arrival)


def test_a_upn_clash_is_refused_with_both_identities_and_nothing_merged(schools):
    source, destination, pupil = schools
    someone_else = PupilFactory(
        site=destination, upn=pupil.upn, legal_first_name="Oscar", legal_last_name="Pendle"
    )
    off_roll(source, pupil.pk, destination_urn=destination.urn)
    arrival = arrival_at(destination)
    with pytest.raises(ValidationError) as caught:
        accept(destination, arrival)
    message = " ".join(caught.value.messages)
    assert "Oscar Pendle" in message and "Maisie Thornbury" in message
    with in_site(destination):
        assert Pupil.objects.get().pk == someone_else.pk
        assert Pupil.objects.get().legal_first_name == "Oscar"
        assert PupilArrival.objects.get().state == PupilArrival.State.PENDING


def test_a_returning_pupil_is_matched_to_their_old_record(schools):
    source, destination, pupil = schools
    old = PupilFactory(
        site=destination,
        upn=pupil.upn,
        legal_first_name="Maisie",
        legal_last_name="Thornbury",
        date_of_birth=pupil.date_of_birth,
        enrolled_on=datetime.date(2019, 9, 1),
        left_on=datetime.date(2021, 7, 20),
    )
    off_roll(source, pupil.pk, destination_urn=destination.urn)
    arrived = accept(destination, arrival_at(destination))
    assert arrived.pk == old.pk and arrived.left_on is None


def test_a_destination_off_the_platform_gets_a_ctf_instead(schools):
    source, _destination, pupil = schools
    nobody_works_there = SchoolFactory(name="Quarry Hill School")
    outcome = off_roll(source, pupil.pk, destination_urn=nobody_works_there.urn)
    assert outcome.sent_to is None and outcome.ctf_needed
    with in_site(source):
        assert Pupil.objects.get(pk=pupil.pk).destination_name == "Quarry Hill School"
    with in_site(nobody_works_there):
        assert not PupilArrival.objects.exists()
    other = PupilFactory(site=source)
    abroad = off_roll(source, other.pk, destination_name="Lycée Molière, Paris")
    assert abroad.sent_to is None and abroad.ctf_needed


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"left_on": datetime.date(2020, 1, 1)}, "left_on", "before Maisie Thornbury joined"),
        ({"left_on": datetime.date(2027, 6, 1)}, "left_on", "at most 31 days ahead"),
        ({"reason": "bored"}, "reason", "Choose the ground"),
        ({"destination_urn": "12345"}, "destination_urn", "six digits"),
        ({"destination_urn": "999998"}, "destination_urn", "No school has URN 999998"),
        ({}, "destination_urn", "Name the next school"),
    ],
)
def test_bad_input_is_refused_by_field_and_changes_nothing(schools, values, field, words):
    source, _destination, pupil = schools
    with pytest.raises(ValidationError) as caught:
        off_roll(source, pupil.pk, **values)
    assert words in " ".join(caught.value.message_dict[field])
    with in_site(source):
        assert Pupil.objects.get(pk=pupil.pk).left_on is None
    assert not AuditEvent.objects.exists()


def test_another_schools_pupil_is_a_404_and_a_leaver_cannot_leave_twice(schools):
    source, destination, pupil = schools
    with pytest.raises(Http404):
        off_roll(destination, pupil.pk, destination_name="Anywhere")
    off_roll(source, pupil.pk, destination_name="Anywhere")
    with pytest.raises(ValidationError, match="already off roll"):
        off_roll(source, pupil.pk, destination_name="Anywhere")


def test_the_source_reads_only_its_own_rows_and_writes_the_arrival_in_the_destinations_scope(
    schools,
):
    source, destination, pupil = schools
    bystander = SchoolFactory()
    PupilFactory(site=destination)
    PupilFactory(site=bystander)
    with CaptureQueriesContext(connection) as queries:
        off_roll(source, pupil.pk, destination_urn=destination.urn)
    personal = [
        q["sql"]
        for q in queries.captured_queries
        if re.search(r"\bFROM \"?mis_", q["sql"]) and q["sql"].lstrip().upper().startswith("SELECT")
    ]
    assert personal, "the record is read"
    for sql in personal:
        assert re.search(rf"site_id\"? = {source.pk}\b", sql), sql
        assert not re.search(rf"site_id\"? = ({destination.pk}|{bystander.pk})\b", sql), sql
    # Row-Level Security itself: in the source's scope the arrival does not exist, and the
    # destination's pupils are invisible; in the destination's, the source's pupil is.
    with in_site(source):
        assert not PupilArrival.objects.exists()
        assert not Pupil.objects.filter(site=destination).exists()
    with in_site(destination):
        assert PupilArrival.objects.count() == 1
        assert not Pupil.objects.filter(pk=pupil.pk).exists()
