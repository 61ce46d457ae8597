"""Factories for a school's MIS records: pupils with valid UPNs, marks, exclusions."""

import datetime
import itertools
from contextlib import contextmanager

import factory
from django.db import transaction
from factory.django import DjangoModelFactory

from matmis.tenancy import site_scope
from mis.codes import ExclusionKind, ExclusionReason, SenProvision, Session, upn_check_letter
from mis.models import AttendanceMark, Exclusion, Pupil

_serial = itertools.count(1)


def make_upn(la_code: str = "383", establishment: str = "2001", serial: int | None = None) -> str:
    """A valid UPN (right check letter) for ``la_code``/``establishment``."""
    serial = next(_serial) if serial is None else serial
    body = f"{la_code}{establishment}{(serial // 1000) % 100:02d}{serial % 1000:03d}"
    return upn_check_letter(body) + body


@contextmanager
def in_site(site):
    """Read or write ``site``'s personal data in a test: a transaction bound to the site,
    as every request to the site's host is (Row-Level Security shows nothing otherwise)."""
    site_id = site if isinstance(site, int) else site.pk
    with transaction.atomic(), site_scope(site_id):
        yield


class PupilFactory(DjangoModelFactory):
    class Meta:
        model = Pupil

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        site = kwargs["site"]
        with in_site(site):
            return super()._create(model_class, *args, **kwargs)

    upn = factory.LazyFunction(make_upn)
    legal_first_name = factory.Sequence(lambda n: f"Pupil{n}")
    legal_last_name = factory.Sequence(lambda n: f"Surname{n}")
    date_of_birth = datetime.date(2017, 3, 14)
    year_group = 3
    enrolled_on = datetime.date(2023, 9, 1)
    sen_provision = SenProvision.NONE


def mark(pupil: Pupil, day: datetime.date, session: str, code: str) -> AttendanceMark:
    with in_site(pupil.site_id):
        return AttendanceMark.objects.create(
            site_id=pupil.site_id, pupil=pupil, date=day, session=Session(session), code=code
        )


def mark_days(pupil: Pupil, days, codes) -> None:
    """Marks for each day's AM and PM: ``codes`` is one code per session, in order."""
    sessions = [(day, session) for day in days for session in (Session.AM, Session.PM)]
    assert len(sessions) == len(codes), (len(sessions), len(codes))
    with in_site(pupil.site_id):
        AttendanceMark.objects.bulk_create(
            AttendanceMark(site_id=pupil.site_id, pupil=pupil, date=day, session=session, code=code)
            for (day, session), code in zip(sessions, codes, strict=True)
        )


def suspend(pupil: Pupil, day: datetime.date, sessions: int = 2) -> Exclusion:
    with in_site(pupil.site_id):
        return _exclusion(pupil, day, ExclusionKind.SUSPENSION, sessions)


def exclude_permanently(pupil: Pupil, day: datetime.date) -> Exclusion:
    with in_site(pupil.site_id):
        return _exclusion(pupil, day, ExclusionKind.PERMANENT, None)


def _exclusion(pupil, day, kind, sessions) -> Exclusion:
    return Exclusion.objects.create(
        site_id=pupil.site_id,
        pupil=pupil,
        kind=kind,
        starts_on=day,
        sessions=sessions,
        reason=(
            ExclusionReason.WILFUL_DEFIANCE
            if kind == ExclusionKind.SUSPENSION
            else ExclusionReason.PHYSICAL_ADULT
        ),
    )


def school_days(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """Weekdays from ``start`` to ``end`` inclusive."""
    days, day = [], start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += datetime.timedelta(days=1)
    return days


def registration_group(site, name: str = "4B", *, teachers=(), pupils=()):
    """A registration group of ``site`` with these teachers (staff profiles) and pupils."""
    from mis.models import RegistrationGroup, RegistrationGroupTeacher

    with in_site(site):
        group = RegistrationGroup.objects.create(site=site, name=name)
        RegistrationGroupTeacher.objects.bulk_create(
            RegistrationGroupTeacher(site=site, group=group, profile=profile)
            for profile in teachers
        )
        if pupils:
            Pupil.objects.filter(site=site, pk__in=[p.pk for p in pupils]).update(
                registration_group=group
            )
    return group
