"""Reads of registration groups and registers, always with the school's site.

A group from a client's id goes through ``registration_group_for_id``: the same 404 for
another school's group as for one that does not exist. A register reads in a constant
number of queries whatever the group's size (its pupils, their marks of the session, the
session's amendments, the closing time)."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, FilteredRelation, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import StaffProfile
from institutions.models import Institution

from .codes import ATTENDANCE_CODES, MarkCategory, Session, mark_category, mark_meaning
from .models import (
    AttendanceMark,
    MarkAmendment,
    Pupil,
    RegisterSettings,
    RegistrationGroup,
    RegistrationGroupTeacher,
)
from .services.registers import register_is_closed, register_settings


def _teachers_prefetch() -> Prefetch:
    return Prefetch(
        "teachers",
        queryset=StaffProfile.objects.select_related("user").order_by("user__full_name"),
        to_attr="teacher_list",
    )


def _on_roll(day: datetime.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}enrolled_on__lte": day}) & (
        Q(**{f"{prefix}left_on__isnull": True}) | Q(**{f"{prefix}left_on__gte": day})
    )


def registration_group_list(*, site: Institution, day: datetime.date) -> QuerySet:
    """The school's groups by name, each with its teachers (``teacher_list``), its pupils
    on roll on ``day`` (``pupils_on_roll``) and how many of them have a mark of ``day``'s
    morning and afternoon (``am_marked``, ``pm_marked``)."""
    return (
        RegistrationGroup.objects.filter(site=site)
        .annotate(
            day_marks=FilteredRelation(
                "pupils__marks",
                condition=Q(pupils__marks__date=day, pupils__marks__site=site),
            )
        )
        .annotate(
            pupils_on_roll=Count("pupils", filter=_on_roll(day, "pupils__"), distinct=True),
            am_marked=Count(
                "day_marks",
                filter=Q(day_marks__session=Session.AM) & _on_roll(day, "pupils__"),
            ),
            pm_marked=Count(
                "day_marks",
                filter=Q(day_marks__session=Session.PM) & _on_roll(day, "pupils__"),
            ),
        )
        .prefetch_related(_teachers_prefetch())
        .order_by("name")
    )


def registration_group_for_id(*, site: Institution, group_id: int | str) -> RegistrationGroup:
    """The school's group ``group_id`` with its teachers; 404 when missing or another
    school's."""
    try:
        group_id = int(group_id)
    except (TypeError, ValueError):
        raise Http404("No such registration group.") from None
    group = (
        RegistrationGroup.objects.filter(site=site, pk=group_id)
        .prefetch_related(_teachers_prefetch())
        .first()
    )
    if group is None:
        raise Http404("No such registration group.")
    return group


def registration_group_choices(*, site: Institution) -> list[tuple[int, str]]:
    return list(
        RegistrationGroup.objects.filter(site=site).order_by("name").values_list("pk", "name")
    )


def group_pupils(*, site: Institution, group: RegistrationGroup, day: datetime.date):
    """The group's pupils on roll on ``day``, by surname."""
    return (
        Pupil.objects.filter(site=site, registration_group=group)
        .filter(_on_roll(day))
        .order_by("legal_last_name", "legal_first_name", "pk")
    )


def staff_choices(*, site: Institution) -> list[tuple[int, str]]:
    """The school's active staff, as teachers to choose from."""
    return [
        (profile.pk, f"{profile.user.full_name} ({profile.user.email})")
        for profile in StaffProfile.objects.filter(site=site, is_active=True)
        .select_related("user")
        .order_by("user__full_name", "pk")
    ]


def is_group_teacher(*, site: Institution, group: RegistrationGroup, user) -> bool:
    return RegistrationGroupTeacher.objects.filter(
        site=site, group=group, profile__user=user, profile__is_active=True
    ).exists()


@dataclass(frozen=True)
class RegisterRow:
    pupil: Pupil
    code: str | None

    @property
    def meaning(self) -> str:
        return mark_meaning(self.code) if self.code else ""

    @property
    def category(self) -> MarkCategory | None:
        return mark_category(self.code) if self.code else None


@dataclass(frozen=True)
class Register:
    group: RegistrationGroup
    day: datetime.date
    session: str
    rows: list[RegisterRow]
    amendments: list[MarkAmendment]
    settings: RegisterSettings
    closed: bool

    @property
    def session_label(self) -> str:
        return Session(self.session).label

    @property
    def closes_at(self) -> datetime.time:
        return self.settings.closes_at(self.session)

    @property
    def unmarked(self) -> list[RegisterRow]:
        return [row for row in self.rows if row.code is None]

    @property
    def marked_count(self) -> int:
        return len(self.rows) - len(self.unmarked)


def register_for(
    *,
    site: Institution,
    group: RegistrationGroup,
    day: datetime.date,
    session: str,
    now: datetime.datetime | None = None,
) -> Register:
    """The register of ``group`` for ``day``'s ``session``: its pupils on roll with their
    mark (None: not marked yet), the amendments made to its marks, and whether it closed."""
    now = now or timezone.now()
    pupils = list(group_pupils(site=site, group=group, day=day))
    codes = dict(
        AttendanceMark.objects.filter(
            site=site, date=day, session=session, pupil__registration_group=group
        ).values_list("pupil_id", "code")
    )
    by_id = {pupil.pk: pupil for pupil in pupils}
    amendments = [
        amendment
        for amendment in MarkAmendment.objects.filter(site=site, date=day, session=session)
        .filter(pupil__registration_group=group)
        .select_related("amended_by")
        .order_by("amended_at", "pk")
    ]
    for amendment in amendments:
        amendment.pupil_on_register = by_id.get(amendment.pupil_id)
    settings_row = register_settings(site=site)
    return Register(
        group=group,
        day=day,
        session=session,
        rows=[RegisterRow(pupil, codes.get(pupil.pk)) for pupil in pupils],
        amendments=amendments,
        settings=settings_row,
        closed=register_is_closed(settings_row=settings_row, day=day, session=session, now=now),
    )


@dataclass(frozen=True)
class CodeOption:
    code: str
    meaning: str


@dataclass(frozen=True)
class CodeGroup:
    category: MarkCategory
    options: list[CodeOption]


def code_groups() -> list[CodeGroup]:
    """Every DfE code with its meaning, by category (present first)."""
    return [
        CodeGroup(
            category,
            [
                CodeOption(code, meaning)
                for code, (cat, meaning) in ATTENDANCE_CODES.items()
                if cat == category
            ],
        )
        for category in MarkCategory
    ]
