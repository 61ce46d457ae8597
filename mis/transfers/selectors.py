"""Reads of a school's arrivals: the pupils other schools on the platform sent it. Every
read takes the destination school's site (the arrivals are its rows, under its Row-Level
Security)."""

from django.db.models import QuerySet
from django.http import Http404

from institutions.models import Institution, InstitutionKind
from mis.ctf.reader import read_ctf
from mis.ctf.selectors import PupilMatch, match_records
from mis.models import PupilArrival


def arrival_list(*, site: Institution, state: str | None = None) -> QuerySet[PupilArrival]:
    arrivals = PupilArrival.objects.filter(site=site).select_related("from_school", "decided_by")
    if state is not None:
        arrivals = arrivals.filter(state=state)
    return arrivals.defer("record").order_by("-sent_at", "-id")


def arrival_for_id(*, site: Institution, arrival_id) -> PupilArrival:
    """The school's arrival ``arrival_id``; 404 when missing or another school's."""
    try:
        arrival_id = int(arrival_id)
    except (TypeError, ValueError):
        raise Http404("No such arrival.") from None
    arrival = (
        PupilArrival.objects.filter(site=site, pk=arrival_id)
        .select_related("from_school", "decided_by")
        .first()
    )
    if arrival is None:
        raise Http404("No such arrival.")
    return arrival


def arrival_match(*, site: Institution, arrival: PupilArrival) -> PupilMatch:
    """The arrival's record against the school's pupils: new, the same pupil, or a clash."""
    document = read_ctf(arrival.record.encode("utf-8"))
    (match,) = match_records(site=site, records=list(document.pupils))
    return match


def school_for_urn(urn: str) -> Institution | None:
    """The register's school with ``urn`` (public register facts), or None."""
    return Institution.objects.filter(kind=InstitutionKind.SCHOOL, urn=urn).first()
