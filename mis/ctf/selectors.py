"""Reads for Common Transfer Files: a school's pupils as transferable records, its
uploaded files, and a file's preview against the school's pupils. Every read takes the
school's site and runs inside its Row-Level Security scope."""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from institutions.models import Institution
from mis.codes import MarkCategory
from mis.models import CtfImport, FsmPeriod, PriorAttendance, Pupil, PupilAddress, SenPeriod

from .reader import read_ctf
from .records import (
    Address,
    CtfDocument,
    FsmInstance,
    SchoolRef,
    SenEntry,
    TransferRecord,
    YearAttendance,
)

# A school's own marks, per pupil and academic year (September to August): the summary a
# CTF carries. The marks themselves never leave the school.
_YEAR_SUMMARY_SQL = """
    SELECT pupil_id,
           extract(year FROM date - interval '8 months')::int AS academic_year,
           count(*) FILTER (WHERE category <> %(not_possible)s) AS possible,
           count(*) FILTER (WHERE category = %(authorised)s) AS authorised,
           count(*) FILTER (WHERE category = %(unauthorised)s) AS unauthorised
    FROM mis_attendancemark
    WHERE site_id = %(site)s AND pupil_id = ANY(%(pupils)s)
    GROUP BY pupil_id, academic_year
"""


def school_ref(school: Institution, *, today: datetime.date | None = None) -> SchoolRef:
    year = ""
    if today is not None:
        year = str(today.year if today.month >= 9 else today.year - 1)
    return SchoolRef(
        la_code=school.la_code,
        establishment_number=school.establishment_number,
        name=school.name,
        academic_year=year,
    )


def _own_year_summaries(*, site: Institution, pupil_ids: list[int]) -> dict[int, list]:
    summaries: dict[int, list] = defaultdict(list)
    if not pupil_ids:
        return summaries
    with connection.cursor() as cursor:
        cursor.execute(
            _YEAR_SUMMARY_SQL,
            {
                "site": site.pk,
                "pupils": pupil_ids,
                "not_possible": int(MarkCategory.NOT_POSSIBLE),
                "authorised": int(MarkCategory.AUTHORISED),
                "unauthorised": int(MarkCategory.UNAUTHORISED),
            },
        )
        for pupil_id, year, possible, authorised, unauthorised in cursor.fetchall():
            summaries[pupil_id].append(
                YearAttendance(
                    academic_year=year,
                    school_name=site.name,
                    la_code=site.la_code,
                    establishment_number=site.establishment_number,
                    sessions_possible=possible,
                    sessions_authorised=authorised,
                    sessions_unauthorised=unauthorised,
                )
            )
    return summaries


def transfer_records(*, site: Institution, pupil_ids: list[int]) -> list[TransferRecord]:
    """The school's pupils ``pupil_ids`` (others' ids are simply not there) as transferable
    records: identity, addresses, FSM and SEN history, and attendance by year (the years at
    earlier schools as their files gave them, then this school's own from its marks). Five
    queries however many pupils."""
    pupils = list(
        Pupil.objects.filter(site=site, pk__in=pupil_ids)
        .order_by("legal_last_name", "legal_first_name", "pk")
        .prefetch_related(
            Prefetch("addresses", queryset=PupilAddress.objects.filter(site=site).order_by("pk")),
            Prefetch("fsm_periods", queryset=FsmPeriod.objects.filter(site=site)),
            Prefetch("sen_periods", queryset=SenPeriod.objects.filter(site=site)),
            Prefetch("prior_attendance", queryset=PriorAttendance.objects.filter(site=site)),
        )
    )
    own = _own_year_summaries(site=site, pupil_ids=[pupil.pk for pupil in pupils])
    return [_record(pupil, own.get(pupil.pk, [])) for pupil in pupils]


def _record(pupil: Pupil, own_years: list[YearAttendance]) -> TransferRecord:
    prior = [
        YearAttendance(
            academic_year=row.academic_year,
            school_name=row.school_name,
            la_code=row.la_code,
            establishment_number=row.establishment_number,
            sessions_possible=row.sessions_possible,
            sessions_authorised=row.sessions_authorised,
            sessions_unauthorised=row.sessions_unauthorised,
        )
        for row in pupil.prior_attendance.all()
    ]
    return TransferRecord(
        upn=pupil.upn,
        legal_last_name=pupil.legal_last_name,
        legal_first_name=pupil.legal_first_name,
        preferred_first_name=pupil.preferred_first_name,
        date_of_birth=pupil.date_of_birth,
        sex=pupil.sex,
        year_group=pupil.year_group,
        addresses=tuple(
            Address(
                saon=a.saon,
                paon=a.paon,
                street=a.street,
                locality=a.locality,
                town=a.town,
                administrative_area=a.administrative_area,
                post_town=a.post_town,
                postcode=a.postcode,
            )
            for a in pupil.addresses.all()
        ),
        attendance=tuple(prior + sorted(own_years, key=lambda year: year.academic_year)),
        fsm=tuple(
            FsmInstance(p.starts_on, p.ends_on, p.uk_country) for p in pupil.fsm_periods.all()
        ),
        sen=tuple(SenEntry(s.starts_on, s.provision) for s in pupil.sen_periods.all()),
    )


def ctf_import_list(*, site: Institution) -> QuerySet[CtfImport]:
    return (
        CtfImport.objects.filter(site=site)
        .select_related("uploaded_by")
        .defer("content")
        .order_by("-uploaded_at", "-id")
    )


def ctf_import_for_id(*, site: Institution, import_id) -> CtfImport:
    """The school's uploaded file ``import_id``; 404 when missing or another school's."""
    try:
        import_id = int(import_id)
    except (TypeError, ValueError):
        raise Http404("No such file.") from None
    found = CtfImport.objects.filter(site=site, pk=import_id).select_related("uploaded_by").first()
    if found is None:
        raise Http404("No such file.")
    return found


# --- Matching a file's pupils with the school's ---------------------------------------------


class Match:
    NEW = "new"
    SAME_PUPIL = "same"  # the school's pupil with this UPN, and the same person
    CLASH = "clash"  # the school's pupil with this UPN is someone else


@dataclass(frozen=True)
class PupilMatch:
    record: TransferRecord
    outcome: str
    existing: Pupil | None = None

    @property
    def clash_reason(self) -> str:
        if self.outcome != Match.CLASH or self.existing is None:
            return ""
        pupil = self.existing
        return (
            f"UPN {pupil.upn} is already this school's {pupil.legal_first_name} "
            f"{pupil.legal_last_name} (born {pupil.date_of_birth:%d/%m/%Y}), not "
            f"{self.record.legal_first_name} {self.record.legal_last_name} (born "
            f"{self.record.date_of_birth:%d/%m/%Y}). Records of different people are never "
            "merged: correct the UPN at one school first."
        )


def same_person(pupil: Pupil, record: TransferRecord) -> bool:
    """Identity beyond the UPN: date of birth and legal names (case and spacing aside)."""

    def norm(value: str) -> str:
        return " ".join(value.split()).casefold()

    return (
        pupil.date_of_birth == record.date_of_birth
        and norm(pupil.legal_last_name) == norm(record.legal_last_name)
        and norm(pupil.legal_first_name) == norm(record.legal_first_name)
    )


def match_records(*, site: Institution, records: list[TransferRecord]) -> list[PupilMatch]:
    """Each record against the school's pupils by UPN, in one query."""
    existing = {
        pupil.upn: pupil
        for pupil in Pupil.objects.filter(site=site, upn__in=[record.upn for record in records])
    }
    matches = []
    for record in records:
        pupil = existing.get(record.upn)
        if pupil is None:
            matches.append(PupilMatch(record, Match.NEW))
        elif same_person(pupil, record):
            matches.append(PupilMatch(record, Match.SAME_PUPIL, pupil))
        else:
            matches.append(PupilMatch(record, Match.CLASH, pupil))
    return matches


@dataclass(frozen=True)
class CtfPreview:
    document: CtfDocument
    matches: list[PupilMatch]

    @property
    def new(self) -> list[PupilMatch]:
        return [m for m in self.matches if m.outcome == Match.NEW]

    @property
    def same(self) -> list[PupilMatch]:
        return [m for m in self.matches if m.outcome == Match.SAME_PUPIL]

    @property
    def clashes(self) -> list[PupilMatch]:
        return [m for m in self.matches if m.outcome == Match.CLASH]

    @property
    def can_import(self) -> bool:
        return bool(self.matches) and not self.document.blocking and not self.clashes

    @property
    def refusal(self) -> str:
        if self.document.blocking or self.clashes:
            count = len(self.document.blocking) + len(self.clashes)
            return (
                f"Nothing can be imported from this file: {count} pupil"
                f"{'s' if count != 1 else ''} cannot be taken as they are (see the reasons "
                "below). Ask the sending school for a corrected file."
            )
        if not self.matches:
            return "The file has no pupils."
        return ""


def ctf_import_preview(*, site: Institution, ctf_import: CtfImport) -> CtfPreview:
    """What importing the file would do at the school: each pupil new, the same pupil
    (updated), or a UPN clash; with every element the reader refused."""
    document = read_ctf(ctf_import.content.encode("utf-8"))
    return CtfPreview(document, match_records(site=site, records=list(document.pupils)))


def ctf_export_leavers(*, site: Institution, limit: int = 200) -> QuerySet[Pupil]:
    """The school's leavers, the most recent first: whom a CTF is usually for."""
    return Pupil.objects.filter(site=site, left_on__isnull=False).order_by(
        "-left_on", "legal_last_name", "legal_first_name", "pk"
    )[:limit]
