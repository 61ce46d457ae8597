"""Taking a register and amending its marks.

``register_marks_save`` is the one writer of attendance marks outside the bench's
generators: it inserts new marks and changes existing ones by the mark's natural key
(site, date, session, pupil), never by the column order of the table's key, in a constant
number of statements whatever the group's size. An existing mark is never overwritten
silently: changing it needs a reason, and the original code, the new one, who, when and
why are kept in ``MarkAmendment`` (its own table, no foreign key to the marks). The school's
roll-ups are marked as changed in the same transaction (``rollups.records_changed``), so
the next sweep counts the new marks.

"Late" (``LATE``) is decided by the school's closing time (``RegisterSettings``) at the
moment the register is saved: L (late, present) before the register closes, U
(unauthorised: arrived after registers closed) after it. An explicit L or U is taken as
entered.
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditAction
from institutions.models import Institution

from ..codes import ATTENDANCE_CODES, Session
from ..models import AttendanceMark, MarkAmendment, Pupil, RegisterSettings, RegistrationGroup
from ..rollups import records_changed

LATE = "late"
REASON_MAX = MarkAmendment._meta.get_field("reason").max_length

_INSERT_SQL = """
INSERT INTO mis_attendancemark (site_id, pupil_id, date, session, code)
SELECT %(site)s, v.pupil_id, %(date)s, %(session)s, v.code
FROM unnest(%(pupils)s::bigint[], %(codes)s::varchar[]) AS v(pupil_id, code)
ON CONFLICT (site_id, pupil_id, date, session) DO NOTHING
RETURNING pupil_id
"""

_UPDATE_SQL = """
UPDATE mis_attendancemark m SET code = v.code
FROM unnest(%(pupils)s::bigint[], %(codes)s::varchar[], %(was)s::varchar[])
    AS v(pupil_id, code, was)
WHERE m.site_id = %(site)s AND m.date = %(date)s AND m.session = %(session)s
  AND m.pupil_id = v.pupil_id AND m.code = v.was
RETURNING m.pupil_id
"""


def register_settings(*, site: Institution) -> RegisterSettings:
    """The school's closing times (the defaults when it never set them; nothing saved)."""
    found = RegisterSettings.objects.filter(site=site).first()
    return found if found is not None else RegisterSettings(site=site)


@transaction.atomic
def register_settings_change(
    *, site: Institution, am_closes_at: datetime.time, pm_closes_at: datetime.time, actor
) -> RegisterSettings:
    if not am_closes_at < pm_closes_at:
        raise ValidationError(
            {"pm_closes_at": "The afternoon register closes after the morning one."}
        )
    settings_row = register_settings(site=site)
    before = [settings_row.am_closes_at.isoformat(), settings_row.pm_closes_at.isoformat()]
    settings_row.am_closes_at, settings_row.pm_closes_at = am_closes_at, pm_closes_at
    settings_row.save()
    audit.record(
        actor=actor,
        action=AuditAction.REGISTER_SETTINGS_CHANGED,
        target="Register closing times",
        detail={"before": before, "after": [am_closes_at.isoformat(), pm_closes_at.isoformat()]},
        site=site,
    )
    return settings_row


def register_is_closed(
    *, settings_row: RegisterSettings, day: datetime.date, session: str, now: datetime.datetime
) -> bool:
    """Whether the register of ``day``'s ``session`` had closed at ``now``."""
    local = timezone.localtime(now)
    if day != local.date():
        return day < local.date()
    return local.time() >= settings_row.closes_at(session)


def late_code(
    *, settings_row: RegisterSettings, day: datetime.date, session: str, now: datetime.datetime
) -> str:
    return (
        "U"
        if register_is_closed(settings_row=settings_row, day=day, session=session, now=now)
        else "L"
    )


@dataclass(frozen=True)
class RegisterSaved:
    added: int
    amended: int
    unchanged: int

    @property
    def message(self) -> str:
        if not self.added and not self.amended:
            return "Nothing to save: no mark was chosen or changed."
        parts = []
        if self.added:
            parts.append(f"{self.added} mark{'s' if self.added != 1 else ''} added")
        if self.amended:
            noun = "" if self.added else (" marks" if self.amended != 1 else " mark")
            parts.append(f"{self.amended}{noun} amended")
        return "Register saved: " + ", ".join(parts) + "."


def _refuse(errors: dict[int, str]):
    raise ValidationError({f"pupil_{pupil_id}": message for pupil_id, message in errors.items()})


@transaction.atomic
def register_marks_save(
    *,
    group: RegistrationGroup,
    day: datetime.date,
    session: str,
    codes: Mapping[int, str],
    reasons: Mapping[int, str] | None = None,
    actor: audit.Actor,
    now: datetime.datetime | None = None,
) -> RegisterSaved:
    """Save a register's marks: ``codes`` maps a pupil of the group (on roll that day) to
    a DfE code or ``LATE``; a pupil left out, or with an empty code, keeps what they have.
    A pupil already marked with another code is an amendment and needs a reason in
    ``reasons``. All or nothing: one refused entry refuses the save, naming each pupil."""
    site_id = group.site_id
    now = now or timezone.now()
    reasons = reasons or {}
    if session not in Session.values:
        raise ValidationError({"session": "Choose the morning (AM) or afternoon (PM) register."})
    if day > timezone.localdate(now):
        raise ValidationError({"date": "A register cannot be taken for a day still to come."})
    wanted = {int(pupil_id): (code or "").strip() for pupil_id, code in codes.items()}
    wanted = {pupil_id: code for pupil_id, code in wanted.items() if code}
    on_register = dict(
        Pupil.objects.filter(site_id=site_id, registration_group=group)
        .filter(enrolled_on__lte=day)
        .exclude(left_on__lt=day)
        .filter(pk__in=list(wanted))
        .values_list("pk", "legal_last_name")
    )
    errors: dict[int, str] = {}
    settings_row = None
    for pupil_id, code in wanted.items():
        if pupil_id not in on_register:
            errors[pupil_id] = "This pupil is not on this group’s register for that day."
        elif code == LATE:
            if settings_row is None:
                settings_row = register_settings(site=group.site)
            wanted[pupil_id] = late_code(
                settings_row=settings_row, day=day, session=session, now=now
            )
        elif code not in ATTENDANCE_CODES:
            errors[pupil_id] = f"“{code[:4]}” is not an attendance code: choose one from the list."
    if errors:
        _refuse(errors)
    existing = dict(
        AttendanceMark.objects.select_for_update()
        .filter(site_id=site_id, date=day, session=session, pupil_id__in=list(wanted))
        .values_list("pupil_id", "code")
    )
    new = {pupil_id: code for pupil_id, code in wanted.items() if pupil_id not in existing}
    changed = {
        pupil_id: code
        for pupil_id, code in wanted.items()
        if pupil_id in existing and existing[pupil_id] != code
    }
    for pupil_id in changed:
        reason = " ".join((reasons.get(pupil_id) or "").split())
        if not reason:
            errors[pupil_id] = (
                f"This pupil is already marked {existing[pupil_id]}: give a reason to amend it."
            )
        elif len(reason) > REASON_MAX:
            errors[pupil_id] = f"Give a reason of {REASON_MAX} characters or fewer."
    if errors:
        _refuse(errors)
    params = {"site": site_id, "date": day, "session": session}
    with connection.cursor() as cursor:
        if new:
            cursor.execute(
                _INSERT_SQL, {**params, "pupils": list(new), "codes": list(new.values())}
            )
            if len(cursor.fetchall()) != len(new):
                raise ValidationError(
                    "Someone else marked this register while you were taking it: reload it "
                    "to see their marks, then save yours again."
                )
        if changed:
            cursor.execute(
                _UPDATE_SQL,
                {
                    **params,
                    "pupils": list(changed),
                    "codes": list(changed.values()),
                    "was": [existing[pupil_id] for pupil_id in changed],
                },
            )
    if changed:
        MarkAmendment.objects.bulk_create(
            MarkAmendment(
                site_id=site_id,
                pupil_id=pupil_id,
                date=day,
                session=session,
                original_code=existing[pupil_id],
                new_code=code,
                amended_by=actor.user,
                amended_at=now,
                reason=" ".join(reasons[pupil_id].split()),
            )
            for pupil_id, code in changed.items()
        )
    if new or changed:
        records_changed(school_ids=[site_id])
        audit.record(
            actor=actor,
            action=AuditAction.MARK_AMENDED if changed and not new else AuditAction.REGISTER_TAKEN,
            target=f"Register {group.name} {day.isoformat()} {session}",
            detail={
                "group": group.pk,
                "date": day.isoformat(),
                "session": session,
                "added": len(new),
                "amended": {
                    str(pupil_id): [existing[pupil_id], code] for pupil_id, code in changed.items()
                },
            },
            site=group.site,
        )
    return RegisterSaved(
        added=len(new), amended=len(changed), unchanged=len(wanted) - len(new) - len(changed)
    )
