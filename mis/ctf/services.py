"""Writes of Common Transfer Files: keep an uploaded file for its preview, import it (all
or nothing), and the writer both an import and an accepted transfer use to put
transferable records on a school's roll. Each takes the school's site and ``actor`` and
records what it did in the audit trail, in the same transaction."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditAction
from institutions.models import Institution
from mis.models import CtfImport, FsmPeriod, PriorAttendance, Pupil, PupilAddress, SenPeriod
from mis.rollups import records_changed

from .reader import MAX_BYTES, CtfRefused, read_ctf
from .records import TransferRecord
from .selectors import CtfPreview, Match, PupilMatch, ctf_import_preview

MAX_NAME = 255


def ctf_upload(*, site: Institution, actor: audit.Actor, name: str, data: bytes) -> CtfImport:
    """Keep a file for its preview, once it reads as a CTF at all; a file refused as a
    whole raises ``ValidationError`` (on ``file``) and nothing is kept."""
    try:
        document = read_ctf(data)
    except CtfRefused as refused:
        raise ValidationError({"file": [str(refused)]}) from None
    source = document.source
    return CtfImport.objects.create(
        site=site,
        uploaded_by=actor.user,
        original_name=(name or "ctf.xml")[:MAX_NAME],
        content=data.removeprefix(b"\xef\xbb\xbf").decode("utf-8"),
        source_school=(source.name or f"{source.la_code}/{source.establishment_number}")[:MAX_NAME],
        pupils_in_file=len(document.pupils)
        + len({r.where for r in document.rejections if r.blocking}),
    )


def ctf_import_run(
    *,
    site: Institution,
    ctf_import: CtfImport,
    enrolled_on: datetime.date,
    actor: audit.Actor,
) -> CtfPreview:
    """Put every pupil of a previewed file on the school's roll (new pupils from
    ``enrolled_on``; a pupil already here with the same UPN and the same identity updated),
    or none: a file with any refused pupil or UPN clash raises ``ValidationError`` and
    changes nothing. A file imported once is not imported again."""
    with transaction.atomic():
        locked = CtfImport.objects.select_for_update().get(site=site, pk=ctf_import.pk)
        if locked.state != CtfImport.State.PREVIEWED:
            raise ValidationError(
                "This file was already imported on "
                f"{timezone.localtime(locked.imported_at):%d/%m/%Y at %H:%M}."
            )
        preview = ctf_import_preview(site=site, ctf_import=locked)
        if not preview.can_import:
            raise ValidationError(preview.refusal)
        pupils = records_put_on_roll(site=site, matches=preview.matches, enrolled_on=enrolled_on)
        locked.state = CtfImport.State.IMPORTED
        locked.imported_at = timezone.now()
        locked.save(update_fields=["state", "imported_at"])
        audit.record(
            actor=actor,
            action=AuditAction.CTF_IMPORTED,
            target=locked.original_name,
            detail={
                "file": locked.pk,
                "source_school": locked.source_school,
                "new_pupils": len(preview.new),
                "updated_pupils": len(preview.same),
                "left_out": [
                    f"{r.where}: {r.element}: {r.reason}" for r in preview.document.rejections
                ],
                "pupil_ids": [pupil.pk for pupil in pupils],
            },
        )
    return preview


_IDENTITY = (
    "legal_first_name",
    "legal_last_name",
    "preferred_first_name",
    "sex",
    "year_group",
    "fsm_eligible",
    "disadvantaged",
    "sen_provision",
)


def records_put_on_roll(
    *, site: Institution, matches: list[PupilMatch], enrolled_on: datetime.date
) -> list[Pupil]:
    """The writer an import and an accepted transfer share: new pupils created, pupils
    already here (same UPN, same person) updated and, if they had left, back on roll; each
    one's addresses, FSM and SEN history and earlier schools' attendance replaced by the
    record's. The caller has refused clashes. A constant number of queries."""
    if any(match.outcome == Match.CLASH for match in matches):
        raise ValidationError("A pupil's UPN belongs to someone else here.")  # caller's bug
    today = timezone.localdate()
    new = [
        _pupil_fields(Pupil(site=site, upn=m.record.upn, enrolled_on=enrolled_on), m.record, today)
        for m in matches
        if m.outcome == Match.NEW
    ]
    same = []
    for match in matches:
        if match.outcome == Match.SAME_PUPIL:
            pupil = _pupil_fields(match.existing, match.record, today)
            pupil.left_on = None
            pupil.leaving_reason = pupil.destination_urn = pupil.destination_name = ""
            same.append(pupil)
    Pupil.objects.bulk_create(new, batch_size=1000)
    if same:
        Pupil.objects.bulk_update(
            same,
            [*_IDENTITY, "left_on", "leaving_reason", "destination_urn", "destination_name"],
            batch_size=1000,
        )
        same_ids = [pupil.pk for pupil in same]
        for model in (PupilAddress, FsmPeriod, SenPeriod, PriorAttendance):
            model.objects.filter(site=site, pupil_id__in=same_ids).delete()
    by_upn = {pupil.upn: pupil for pupil in [*new, *same]}
    _histories_create(site=site, records=[m.record for m in matches], pupils=by_upn)
    records_changed(school_ids=[site.pk])
    return [*new, *same]


def _pupil_fields(pupil: Pupil, record: TransferRecord, today: datetime.date) -> Pupil:
    pupil.legal_first_name = record.legal_first_name
    pupil.legal_last_name = record.legal_last_name
    pupil.preferred_first_name = record.preferred_first_name
    pupil.date_of_birth = record.date_of_birth
    pupil.sex = record.sex
    pupil.year_group = record.year_group
    pupil.fsm_eligible = record.fsm_eligible_on(today)
    pupil.disadvantaged = record.disadvantaged_on(today)
    pupil.sen_provision = record.sen_provision
    return pupil


def _histories_create(
    *, site: Institution, records: list[TransferRecord], pupils: dict[str, Pupil]
) -> None:
    addresses, fsm, sen, prior = [], [], [], []
    own = (site.la_code, site.establishment_number)
    for record in records:
        pupil = pupils[record.upn]
        common = {"site": site, "pupil": pupil}
        addresses += [PupilAddress(**common, **vars(address)) for address in record.addresses]
        fsm += [
            FsmPeriod(**common, starts_on=p.starts_on, ends_on=p.ends_on, uk_country=p.uk_country)
            for p in record.fsm
        ]
        sen += [
            SenPeriod(**common, starts_on=s.starts_on, provision=s.provision) for s in record.sen
        ]
        # This school's own years come from its own marks, never from a file.
        prior += [
            PriorAttendance(**common, **vars(year))
            for year in record.attendance
            if (year.la_code, year.establishment_number) != own
        ]
    for model, rows in (
        (PupilAddress, addresses),
        (FsmPeriod, fsm),
        (SenPeriod, sen),
        (PriorAttendance, prior),
    ):
        if rows:
            model.objects.bulk_create(rows, batch_size=2000)


def ctf_file_too_large(size: int | None) -> str | None:
    """The refusal for an upload larger than a CTF may be, before it is read."""
    if size is not None and size > MAX_BYTES:
        return (
            f"The file is {size / 1024 / 1024:.1f} MB; a Common Transfer File may be at most "
            f"{MAX_BYTES // 1024 // 1024} MB here."
        )
    return None
