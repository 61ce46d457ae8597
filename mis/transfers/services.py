"""Writes of leaving and arriving: take a pupil off roll (and, when the next school is on
the platform, send it the pupil's record), accept or reject an arrival. Each takes the
acting school's site and ``actor``, validates before writing, and audits in the same
transaction. The caller's transaction is bound to the acting school's site (every request
to a school's host is)."""

import datetime
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from accounts import audit
from accounts.models import AuditAction
from accounts.staff.selectors import site_has_active_staff
from institutions.models import Institution
from matmis.tenancy import site_scope
from mis.codes import URN_PATTERN, LeavingReason
from mis.ctf.selectors import Match, school_ref, transfer_records
from mis.ctf.services import records_put_on_roll
from mis.ctf.writer import write_ctf
from mis.models import Pupil, PupilArrival
from mis.rollups import records_changed

from .selectors import arrival_match, school_for_urn

# How far ahead a leaving date may be recorded (a pupil known to leave at the end of term).
LEAVING_AHEAD_DAYS = 31
REJECTION_MAX = 500


@dataclass(frozen=True)
class OffRoll:
    pupil: Pupil
    sent_to: Institution | None  # the school on the platform that now has a pending arrival
    ctf_needed: bool  # the next school is not on the platform: send it a CTF file


def _destination(*, site: Institution, urn: str) -> tuple[Institution | None, Institution | None]:
    """(the register's school with ``urn``, that school when it is on the platform)."""
    school = school_for_urn(urn)
    if school is None or school.pk == site.pk:
        return school, None
    if not school.is_current or not site_has_active_staff(site=school):
        return school, None
    return school, school


def pupil_take_off_roll(
    *,
    site: Institution,
    pupil_id: int,
    left_on: datetime.date,
    reason: str,
    destination_urn: str = "",
    destination_name: str = "",
    actor: audit.Actor,
) -> OffRoll:
    """Delete the pupil from the school's roll as of ``left_on`` (their last day), with the
    statutory ground and where they went. Nothing changes when anything is refused."""
    destination_urn = destination_urn.strip()
    destination_name = " ".join(destination_name.split())[:255]
    today = timezone.localdate()
    with transaction.atomic():
        pupil = Pupil.objects.select_for_update().filter(site=site, pk=pupil_id).first()
        if pupil is None:
            raise Http404("No such pupil.")
        errors: dict[str, list[str]] = {}
        if pupil.left_on is not None:
            raise ValidationError(
                f"{pupil.name} is already off roll: their last day was {pupil.left_on:%d/%m/%Y}."
            )
        if left_on < pupil.enrolled_on:
            errors["left_on"] = [
                f"The last day cannot be before {pupil.name} joined ({pupil.enrolled_on:%d/%m/%Y})."
            ]
        elif left_on > today + datetime.timedelta(days=LEAVING_AHEAD_DAYS):
            errors["left_on"] = [
                f"A last day may be at most {LEAVING_AHEAD_DAYS} days ahead "
                f"(until {today + datetime.timedelta(days=LEAVING_AHEAD_DAYS):%d/%m/%Y})."
            ]
        if reason not in LeavingReason.values:
            errors["reason"] = ["Choose the ground for taking the pupil off roll."]
        school = sent_to = None
        if destination_urn:
            if not re.fullmatch(URN_PATTERN, destination_urn):
                errors["destination_urn"] = ["A URN is six digits."]
            elif destination_urn == site.urn:
                errors["destination_urn"] = ["That is this school's own URN."]
            else:
                school, sent_to = _destination(site=site, urn=destination_urn)
                if school is None:
                    errors["destination_urn"] = [
                        f"No school has URN {destination_urn} in the register. Leave the URN "
                        "empty and give the next school's name instead."
                    ]
        if reason == LeavingReason.OTHER_SCHOOL and not (destination_urn or destination_name):
            errors["destination_urn"] = [
                "Name the next school: its URN, or its name when it has none (a school abroad)."
            ]
        if errors:
            raise ValidationError(errors)
        before = {"left_on": None, "leaving_reason": "", "destination": ""}
        pupil.left_on = left_on
        pupil.leaving_reason = reason
        pupil.destination_urn = destination_urn
        pupil.destination_name = school.name if school is not None else destination_name
        pupil.save(
            update_fields=["left_on", "leaving_reason", "destination_urn", "destination_name"]
        )
        records_changed(school_ids=[site.pk])
        detail = {
            "pupil": pupil.pk,
            "upn": pupil.upn,
            "before": before,
            "after": {
                "left_on": left_on.isoformat(),
                "leaving_reason": reason,
                "destination": pupil.destination_name,
                "destination_urn": destination_urn,
                "sent_on_platform": sent_to is not None,
            },
        }
        audit.record(
            actor=actor, action=AuditAction.PUPIL_OFF_ROLL, target=pupil.name, detail=detail
        )
        if sent_to is not None:
            _arrival_send(site=site, pupil=pupil, destination=sent_to, actor=actor)
    return OffRoll(
        pupil=pupil,
        sent_to=sent_to,
        ctf_needed=sent_to is None and reason == LeavingReason.OTHER_SCHOOL,
    )


def _arrival_send(
    *, site: Institution, pupil: Pupil, destination: Institution, actor: audit.Actor
) -> PupilArrival:
    """Read the transferable record here (the source's scope), then write the arrival at
    the destination inside the destination's scope: no read ever crosses sites."""
    (record,) = transfer_records(site=site, pupil_ids=[pupil.pk])
    document = write_ctf(
        source=school_ref(site, today=timezone.localdate()),
        destination=school_ref(destination),
        generated_at=timezone.localtime().strftime("%Y-%m-%dT%H:%M:%S"),
        records=[record],
    )
    sender = actor.email
    if actor.acting_from is not None:
        sender = f"{sender} (from {actor.acting_from.name})"[:254]
    with site_scope(destination.pk):
        arrival = PupilArrival.objects.create(
            site=destination,
            from_school=site,
            upn=pupil.upn,
            legal_first_name=pupil.legal_first_name,
            legal_last_name=pupil.legal_last_name,
            date_of_birth=pupil.date_of_birth,
            left_on=pupil.left_on,
            record=document.decode("utf-8"),
            sent_by=sender,
        )
    audit.record(
        actor=actor,
        action=AuditAction.ARRIVAL_RECEIVED,
        target=f"{pupil.legal_first_name} {pupil.legal_last_name}",
        detail={"arrival": arrival.pk, "from_school": site.name, "upn": pupil.upn},
        site=destination,
    )
    return arrival


def _pending(*, site: Institution, arrival_id) -> PupilArrival:
    try:
        arrival_id = int(arrival_id)
    except (TypeError, ValueError):
        raise Http404("No such arrival.") from None
    arrival = (
        PupilArrival.objects.select_for_update()
        .select_related("from_school")
        .filter(site=site, pk=arrival_id)
        .first()
    )
    if arrival is None:
        raise Http404("No such arrival.")
    if arrival.state != PupilArrival.State.PENDING:
        raise ValidationError(
            f"This arrival was already {arrival.get_state_display().lower()} on "
            f"{timezone.localtime(arrival.decided_at):%d/%m/%Y}."
        )
    return arrival


def arrival_accept(
    *, site: Institution, arrival_id, enrolled_on: datetime.date, actor: audit.Actor
) -> Pupil:
    """Put the arriving pupil on the school's roll from ``enrolled_on``: a new pupil, or the
    school's own pupil with the same UPN when it is the same person. A UPN that is someone
    else's here is refused with both identities, and nothing changes."""
    with transaction.atomic():
        arrival = _pending(site=site, arrival_id=arrival_id)
        match = arrival_match(site=site, arrival=arrival)
        if match.outcome == Match.CLASH:
            raise ValidationError(match.clash_reason)
        if enrolled_on < arrival.left_on:
            raise ValidationError(
                {
                    "enrolled_on": [
                        f"The first day here cannot be before the pupil's last day at "
                        f"{arrival.from_school.name} ({arrival.left_on:%d/%m/%Y})."
                    ]
                }
            )
        (pupil,) = records_put_on_roll(site=site, matches=[match], enrolled_on=enrolled_on)
        arrival.state = PupilArrival.State.ACCEPTED
        arrival.pupil = pupil
        arrival.decided_by = actor.user
        arrival.decided_at = timezone.now()
        arrival.save(update_fields=["state", "pupil", "decided_by", "decided_at"])
        audit.record(
            actor=actor,
            action=AuditAction.ARRIVAL_ACCEPTED,
            target=pupil.name,
            detail={
                "arrival": arrival.pk,
                "pupil": pupil.pk,
                "upn": pupil.upn,
                "from_school": arrival.from_school.name,
                "matched_existing_pupil": match.outcome == Match.SAME_PUPIL,
            },
        )
    return pupil


def arrival_reject(
    *, site: Institution, arrival_id, reason: str, actor: audit.Actor
) -> PupilArrival:
    """Refuse an arrival, with the reason (kept and shown)."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError({"reason": ["Say why the pupil is not joining this school."]})
    if len(reason) > REJECTION_MAX:
        raise ValidationError({"reason": [f"At most {REJECTION_MAX} characters."]})
    with transaction.atomic():
        arrival = _pending(site=site, arrival_id=arrival_id)
        arrival.state = PupilArrival.State.REJECTED
        arrival.rejection_reason = reason
        arrival.decided_by = actor.user
        arrival.decided_at = timezone.now()
        arrival.save(update_fields=["state", "rejection_reason", "decided_by", "decided_at"])
        audit.record(
            actor=actor,
            action=AuditAction.ARRIVAL_REJECTED,
            target=f"{arrival.legal_first_name} {arrival.legal_last_name}",
            detail={"arrival": arrival.pk, "upn": arrival.upn, "reason": reason},
        )
    return arrival
