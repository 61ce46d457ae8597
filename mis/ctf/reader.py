"""Reading a Common Transfer File, safely.

The bytes are refused before any parsing when they are too large or not UTF-8; the XML is
parsed by ``defusedxml`` with document types forbidden (so no entity can expand and no
external resource is ever fetched); the header must name the one version read here. Every
pupil element is then checked on its own: a refused identity (a UPN with a wrong check
letter, the same UPN twice, a missing name or date of birth) blocks the import, a refused
detail (an address with nothing in it, an FSM period ending before it starts) is left out.
Each refusal says where, what and why.
"""

import datetime
import re
import xml.etree.ElementTree as ET  # only its ParseError and Element types

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from mis.codes import SenProvision, Sex, upn_problem

from .records import (
    CTF_VERSION,
    DOCUMENT_NAME,
    YEAR_OF_NC,
    Address,
    CtfDocument,
    FsmInstance,
    Rejection,
    SchoolRef,
    SenEntry,
    TransferRecord,
    YearAttendance,
)

MAX_BYTES = 20 * 1024 * 1024  # about 8,000 pupils with full histories
MAX_PUPILS = 5000
_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


class CtfRefused(Exception):
    """The file as a whole cannot be read: the message says why, for the person."""


def _text(element: ET.Element | None, name: str) -> str:
    if element is None:
        return ""
    child = element.find(name)
    return (child.text or "").strip() if child is not None else ""


def _date(value: str) -> datetime.date:
    return datetime.date.fromisoformat(value[:10])


def _decode_check(data: bytes) -> bytes:
    if len(data) > MAX_BYTES:
        raise CtfRefused(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; a Common Transfer File may be at "
            f"most {MAX_BYTES // 1024 // 1024} MB here. Send the pupils in more than one file."
        )
    if not data.strip():
        raise CtfRefused("The file is empty.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CtfRefused(
            "The file is in UTF-16; a Common Transfer File is UTF-8. Export it again as UTF-8."
        )
    data = data.removeprefix(b"\xef\xbb\xbf")
    declared = _DECLARED_ENCODING.match(data.lstrip())
    if declared and declared.group(1).decode().lower().replace("_", "-") not in {"utf-8", "utf8"}:
        raise CtfRefused(
            f"The file says its encoding is {declared.group(1).decode()}; a Common Transfer "
            "File is UTF-8. Export it again as UTF-8."
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CtfRefused(
            f"The file is not UTF-8 text (the byte at position {error.start} is not UTF-8); "
            "a Common Transfer File is UTF-8. Export it again as UTF-8."
        ) from None
    return data


def _root(data: bytes) -> ET.Element:
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise CtfRefused(
            "The file declares a document type or entities (a DTD). A Common Transfer File "
            "never does, and such files are refused for safety."
        ) from None
    except ET.ParseError as error:
        line, column = error.position
        raise CtfRefused(
            f"The file is not well-formed XML (line {line}, column {column})."
        ) from None
    if root.tag != "CTfile":
        raise CtfRefused(
            f"This is not a Common Transfer File: its root element is <{root.tag[:40]}>, "
            "not <CTfile>."
        )
    return root


def _school(element: ET.Element | None) -> SchoolRef | None:
    if element is None:
        return None
    return SchoolRef(
        la_code=_text(element, "LEA"),
        establishment_number=_text(element, "Estab"),
        name=_text(element, "SchoolName"),
        academic_year=_text(element, "AcademicYear"),
    )


def read_ctf(data: bytes) -> CtfDocument:
    """The document in ``data``; raises ``CtfRefused`` when the file as a whole is refused."""
    root = _root(_decode_check(data))
    header = root.find("Header")
    if header is None:
        raise CtfRefused("The file has no <Header>: it is not a Common Transfer File.")
    if _text(header, "DocumentName") != DOCUMENT_NAME:
        raise CtfRefused(
            f"The header's DocumentName is “{_text(header, 'DocumentName')[:60]}”, not "
            f"“{DOCUMENT_NAME}”."
        )
    version = _text(header, "CTFversion")
    if version != CTF_VERSION:
        raise CtfRefused(
            f"This file is CTF version {version[:20] or '(none given)'}; matmis reads version "
            f"{CTF_VERSION}, the DfE's current one. Ask the sending school for a "
            f"version {CTF_VERSION} file."
        )
    source = _school(header.find("SourceSchool"))
    if source is None or not source.la_code or not source.establishment_number:
        raise CtfRefused("The header does not name the source school (LEA and Estab).")
    pupil_elements = root.findall("CTFpupilData/Pupil")
    if len(pupil_elements) > MAX_PUPILS:
        raise CtfRefused(
            f"The file has {len(pupil_elements):,} pupils; at most {MAX_PUPILS:,} are read "
            "from one file."
        )
    rejections: list[Rejection] = []
    pupils: list[TransferRecord] = []
    seen: dict[str, int] = {}
    for number, element in enumerate(pupil_elements, start=1):
        record = _pupil(element, number, rejections)
        if record is None:
            continue
        if record.upn in seen:
            rejections.append(
                Rejection(
                    _where(number, record.upn),
                    "UPN",
                    f"The same UPN as pupil {seen[record.upn]} of the file: one pupil, one UPN.",
                    blocking=True,
                )
            )
            continue
        seen[record.upn] = number
        pupils.append(record)
    return CtfDocument(
        version=version,
        source=source,
        destination=_school(header.find("DestSchool")),
        generated_at=_text(header, "DateTime"),
        pupils=tuple(pupils),
        rejections=tuple(rejections),
    )


def _where(number: int, upn: str) -> str:
    return f"Pupil {number}" + (f" (UPN {upn[:13]})" if upn else "")


def _pupil(element: ET.Element, number: int, rejections: list[Rejection]) -> TransferRecord | None:
    upn = _text(element, "UPN")
    where = _where(number, upn)

    def refuse(what: str, reason: str, *, blocking: bool = True) -> None:
        rejections.append(Rejection(where, what, reason, blocking))

    problem = upn_problem(upn) if upn else "The pupil has no UPN."
    if problem:
        refuse("UPN", problem)
        return None
    surname, forename = _text(element, "Surname"), _text(element, "Forename")
    if not surname or not forename:
        refuse("Surname/Forename", "A pupil needs a surname and a forename.")
        return None
    if len(surname) > 100 or len(forename) > 100:
        refuse("Surname/Forename", "A name may have at most 100 characters.")
        return None
    try:
        dob = _date(_text(element, "DOB"))
    except ValueError:
        refuse("DOB", "The date of birth is missing or not a date (YYYY-MM-DD).")
        return None
    details = element.find("BasicDetails")
    nc_year = _text(details, "NCyearActual")
    if nc_year not in YEAR_OF_NC:
        refuse("NCyearActual", f"“{nc_year[:10]}” is not a year group (N1, N2, R, 1 to 14).")
        return None
    sex = _text(element, "Sex")
    if sex not in Sex.values:
        if sex:
            refuse("Sex", f"“{sex[:10]}” is not F or M: left empty.", blocking=False)
        sex = ""
    preferred = _text(details, "PreferredForename")[:100]
    return TransferRecord(
        upn=upn,
        legal_last_name=surname,
        legal_first_name=forename,
        preferred_first_name="" if preferred == forename else preferred,
        date_of_birth=dob,
        sex=sex,
        year_group=YEAR_OF_NC[nc_year],
        addresses=tuple(_addresses(element, refuse)),
        attendance=tuple(_attendance(element, refuse)),
        fsm=tuple(_fsm(element, refuse)),
        sen=tuple(_sen(element, refuse)),
    )


ADDRESS_PARTS = (
    ("saon", "SAON"),
    ("paon", "PAON"),
    ("street", "Street"),
    ("locality", "Locality"),
    ("town", "Town"),
    ("administrative_area", "AdministrativeArea"),
    ("post_town", "PostTown"),
)


def _addresses(element, refuse):
    for address in element.findall("Addresses/Address"):
        parts = address.find("BS7666Address")
        values = {name: _text(parts, tag)[:100] for name, tag in ADDRESS_PARTS}
        postcode = _text(address, "Postcode")[:8]
        if not postcode and not any(values.values()):
            refuse("Address", "An address with nothing in it: left out.", blocking=False)
            continue
        yield Address(**values, postcode=postcode)


def _count(element, name: str) -> int:
    value = _text(element, name)
    if not value.isdecimal() or len(value) > 6:
        raise ValueError(name)
    return int(value)


def _attendance(element, refuse):
    for year in element.findall("Attendance/YearData"):
        try:
            summary = YearAttendance(
                academic_year=_count(year, "Year"),
                school_name=_text(year, "SchoolName")[:255],
                la_code=_text(year, "LEA")[:3],
                establishment_number=_text(year, "Estab")[:4],
                sessions_possible=_count(year, "SessionsPossible"),
                sessions_authorised=_count(year, "SessionsAuthorised"),
                sessions_unauthorised=_count(year, "SessionsUnauthorised"),
            )
        except ValueError as error:
            refuse(
                "Attendance",
                f"A year's {error.args[0]} is missing or not a whole number: that year left out.",
                blocking=False,
            )
            continue
        if summary.sessions_authorised + summary.sessions_unauthorised > summary.sessions_possible:
            refuse(
                "Attendance",
                f"Year {summary.academic_year}: more absences than possible sessions: left out.",
                blocking=False,
            )
            continue
        yield summary


def _fsm(element, refuse):
    for instance in element.findall("FSMhistory/FSMinstance"):
        try:
            starts_on = _date(_text(instance, "FSMstartDate"))
            end = _text(instance, "FSMendDate")
            ends_on = _date(end) if end else None
        except ValueError:
            refuse(
                "FSM", "A free school meals period without valid dates: left out.", blocking=False
            )
            continue
        if ends_on is not None and ends_on < starts_on:
            refuse(
                "FSM",
                f"A free school meals period ends ({ends_on}) before it starts ({starts_on}): "
                "left out.",
                blocking=False,
            )
            continue
        yield FsmInstance(starts_on, ends_on, _text(instance, "UKcountry")[:3] or "ENG")


def _sen(element, refuse):
    for entry in element.findall("SENhistory/SEN"):
        provision = _text(entry, "SENprovision")
        try:
            starts_on = _date(_text(entry, "StartDate"))
        except ValueError:
            refuse("SEN", "An SEN entry without a valid start date: left out.", blocking=False)
            continue
        if provision not in SenProvision.values:
            refuse(
                "SEN",
                f"“{provision[:10]}” is not an SEN provision (N, K or E): left out.",
                blocking=False,
            )
            continue
        yield SenEntry(starts_on, provision)
