"""Writes of Common Transfer Files: keep an uploaded file for its preview, import it (all
or nothing), and the writer both an import and an accepted transfer use to put
transferable records on a school's roll. Each takes the school's site and ``actor`` and
records what it did in the audit trail, in the same transaction."""

import datetime
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone

from accounts import audit
from accounts.models import AuditAction
from institutions.models import Institution
from mis.models import CtfImport, FsmPeriod, PriorAttendance, Pupil, PupilAddress, SenPeriod
from mis.rollups import records_changed

from .reader import MAX_BYTES, CtfRefused, read_ctf
from .records import TransferRecord
from .selectors import (
    CtfPreview,
    Match,
    PupilMatch,
    ctf_import_preview,
    school_ref,
    transfer_records,
)
from .writer import write_ctf

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


# The four histories, written set-based: one INSERT ... SELECT FROM unnest(...) a table
# (thousands of rows for a large file; no model instance is needed for any of them).
_HISTORY_SQL = {
    "addresses": """
        INSERT INTO mis_pupiladdress (site_id, pupil_id, saon, paon, street, locality, town,
            administrative_area, post_town, postcode)
        SELECT %(site)s, u.* FROM unnest(%(pupil)s::bigint[], %(saon)s::text[],
            %(paon)s::text[], %(street)s::text[], %(locality)s::text[], %(town)s::text[],
            %(administrative_area)s::text[], %(post_town)s::text[], %(postcode)s::text[]) AS u
    """,
    "fsm": """
        INSERT INTO mis_fsmperiod (site_id, pupil_id, starts_on, ends_on, uk_country)
        SELECT %(site)s, u.* FROM unnest(%(pupil)s::bigint[], %(starts_on)s::date[],
            %(ends_on)s::date[], %(uk_country)s::text[]) AS u
    """,
    "sen": """
        INSERT INTO mis_senperiod (site_id, pupil_id, starts_on, provision)
        SELECT %(site)s, u.* FROM unnest(%(pupil)s::bigint[], %(starts_on)s::date[],
            %(provision)s::text[]) AS u
    """,
    "attendance": """
        INSERT INTO mis_priorattendance (site_id, pupil_id, academic_year, school_name,
            la_code, establishment_number, sessions_possible, sessions_authorised,
            sessions_unauthorised)
        SELECT %(site)s, u.* FROM unnest(%(pupil)s::bigint[], %(academic_year)s::int[],
            %(school_name)s::text[], %(la_code)s::text[], %(establishment_number)s::text[],
            %(sessions_possible)s::int[], %(sessions_authorised)s::int[],
            %(sessions_unauthorised)s::int[]) AS u
    """,
}


def _histories_create(
    *, site: Institution, records: list[TransferRecord], pupils: dict[str, Pupil]
) -> None:
    columns: dict[str, dict[str, list]] = {name: defaultdict(list) for name in _HISTORY_SQL}
    own = (site.la_code, site.establishment_number)
    for record in records:
        pupil_id = pupils[record.upn].pk
        # This school's own years come from its own marks, never from a file.
        years = [
            year for year in record.attendance if (year.la_code, year.establishment_number) != own
        ]
        for name, rows in (
            ("addresses", record.addresses),
            ("fsm", record.fsm),
            ("sen", record.sen),
            ("attendance", years),
        ):
            for row in rows:
                values = columns[name]
                values["pupil"].append(pupil_id)
                for field, value in vars(row).items():
                    values[field].append(value)
    with connection.cursor() as cursor:
        for name, sql in _HISTORY_SQL.items():
            if columns[name]["pupil"]:
                cursor.execute(sql, {"site": site.pk, **columns[name]})


def ctf_file_too_large(size: int | None) -> str | None:
    """The refusal for an upload larger than a CTF may be, before it is read."""
    if size is not None and size > MAX_BYTES:
        return (
            f"The file is {size / 1024 / 1024:.1f} MB; a Common Transfer File may be at most "
            f"{MAX_BYTES // 1024 // 1024} MB here."
        )
    return None


MAX_EXPORT = 2000


def ctf_export(*, site: Institution, pupil_ids: list[int], actor: audit.Actor) -> tuple[str, bytes]:
    """A CTF of the school's pupils ``pupil_ids`` (one leaver, or a chosen set), with the
    next school as its destination when they all go to the same one: (file name, bytes).
    An id that is not one of the school's pupils is a 404, as a missing one; the export is
    audited (who took which pupils' records)."""
    ids = sorted(set(pupil_ids))
    if not ids:
        raise ValidationError({"pupil": ["Choose at least one pupil."]})
    if len(ids) > MAX_EXPORT:
        raise ValidationError({"pupil": [f"At most {MAX_EXPORT:,} pupils in one file."]})
    records = transfer_records(site=site, pupil_ids=ids)
    if len(records) != len(ids):
        raise Http404("No such pupil.")
    destinations = set(
        Pupil.objects.filter(site=site, pk__in=ids).values_list("destination_urn", flat=True)
    )
    destination = None
    if len(destinations) == 1 and (urn := destinations.pop()):
        school = Institution.objects.filter(urn=urn).first()
        destination = school_ref(school) if school is not None else None
    now = timezone.localtime()
    data = write_ctf(
        source=school_ref(site, today=now.date()),
        destination=destination,
        generated_at=now.strftime("%Y-%m-%dT%H:%M:%S"),
        records=records,
    )
    audit.record(
        actor=actor,
        action=AuditAction.CTF_EXPORTED,
        target=f"{len(records)} pupil{'s' if len(records) != 1 else ''}",
        detail={"pupil_ids": ids, "upns": [record.upn for record in records]},
    )
    name = f"{site.la_code}{site.establishment_number}_CTF_{now:%Y%m%d%H%M}.xml"
    return name, data
