"""Factories for a school's MIS records: pupils with valid UPNs, marks, exclusions."""

import datetime
import itertools

import factory
from factory.django import DjangoModelFactory

from mis.codes import ExclusionKind, ExclusionReason, SenProvision, Session, upn_check_letter
from mis.models import AttendanceMark, Exclusion, Pupil

_serial = itertools.count(1)


def make_upn(la_code: str = "383", establishment: str = "2001", serial: int | None = None) -> str:
    """A valid UPN (right check letter) for ``la_code``/``establishment``."""
    serial = next(_serial) if serial is None else serial
    body = f"{la_code}{establishment}{(serial // 1000) % 100:02d}{serial % 1000:03d}"
    return upn_check_letter(body) + body


class PupilFactory(DjangoModelFactory):
    class Meta:
        model = Pupil

    upn = factory.LazyFunction(make_upn)
    legal_first_name = factory.Sequence(lambda n: f"Pupil{n}")
    legal_last_name = factory.Sequence(lambda n: f"Surname{n}")
    date_of_birth = datetime.date(2017, 3, 14)
    year_group = 3
    enrolled_on = datetime.date(2023, 9, 1)
    sen_provision = SenProvision.NONE


def mark(pupil: Pupil, day: datetime.date, session: str, code: str) -> AttendanceMark:
    return AttendanceMark.objects.create(
        site_id=pupil.site_id, pupil=pupil, date=day, session=Session(session), code=code
    )


def mark_days(pupil: Pupil, days, codes) -> None:
    """Marks for each day's AM and PM: ``codes`` is one code per session, in order."""
    sessions = [(day, session) for day in days for session in (Session.AM, Session.PM)]
    assert len(sessions) == len(codes), (len(sessions), len(codes))
    AttendanceMark.objects.bulk_create(
        AttendanceMark(site_id=pupil.site_id, pupil=pupil, date=day, session=session, code=code)
        for (day, session), code in zip(sessions, codes, strict=True)
    )


def suspend(pupil: Pupil, day: datetime.date, sessions: int = 2) -> Exclusion:
    return Exclusion.objects.create(
        site_id=pupil.site_id,
        pupil=pupil,
        kind=ExclusionKind.SUSPENSION,
        starts_on=day,
        sessions=sessions,
        reason=ExclusionReason.WILFUL_DEFIANCE,
    )


def exclude_permanently(pupil: Pupil, day: datetime.date) -> Exclusion:
    return Exclusion.objects.create(
        site_id=pupil.site_id,
        pupil=pupil,
        kind=ExclusionKind.PERMANENT,
        starts_on=day,
        reason=ExclusionReason.PHYSICAL_ADULT,
    )


def school_days(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """Weekdays from ``start`` to ``end`` inclusive."""
    days, day = [], start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += datetime.timedelta(days=1)
    return days
