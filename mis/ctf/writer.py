"""Writing a Common Transfer File: the header (this school as the source, the next school
when known) and one <Pupil> per transferable record, in the schema's element names."""

import xml.etree.ElementTree as ET  # building only; files are read by defusedxml

from .reader import ADDRESS_PARTS
from .records import (
    CTF_VERSION,
    DOCUMENT_NAME,
    NC_YEARS,
    SUPPLIER_ID,
    SchoolRef,
    TransferRecord,
)


def _add(parent: ET.Element, tag: str, text: str | int | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = str(text)
    return element


def _school(parent: ET.Element, tag: str, school: SchoolRef, *, with_year: bool) -> None:
    element = _add(parent, tag)
    _add(element, "LEA", school.la_code)
    _add(element, "Estab", school.establishment_number)
    if school.name:
        _add(element, "SchoolName", school.name)
    if with_year:
        _add(element, "AcademicYear", school.academic_year)


def write_ctf(
    *,
    source: SchoolRef,
    destination: SchoolRef | None,
    generated_at: str,
    records: list[TransferRecord],
) -> bytes:
    root = ET.Element("CTfile")
    header = _add(root, "Header")
    _add(header, "DocumentName", DOCUMENT_NAME)
    _add(header, "CTFversion", CTF_VERSION)
    _add(header, "DateTime", generated_at)
    _add(header, "DocumentQualifier", "partial")
    _add(header, "SupplierID", SUPPLIER_ID)
    _school(header, "SourceSchool", source, with_year=True)
    if destination is not None:
        _school(header, "DestSchool", destination, with_year=False)
    data = _add(root, "CTFpupilData")
    for record in records:
        _pupil(data, record)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _pupil(parent: ET.Element, record: TransferRecord) -> None:
    pupil = _add(parent, "Pupil")
    _add(pupil, "UPN", record.upn)
    _add(pupil, "Surname", record.legal_last_name)
    _add(pupil, "Forename", record.legal_first_name)
    _add(pupil, "DOB", record.date_of_birth.isoformat())
    if record.sex:
        _add(pupil, "Sex", record.sex)
    details = _add(pupil, "BasicDetails")
    _add(details, "PreferredForename", record.preferred_first_name or record.legal_first_name)
    _add(details, "NCyearActual", NC_YEARS[record.year_group])
    if record.addresses:
        addresses = _add(pupil, "Addresses")
        for address in record.addresses:
            element = _add(addresses, "Address")
            parts = _add(element, "BS7666Address")
            for name, tag in ADDRESS_PARTS:
                if getattr(address, name):
                    _add(parts, tag, getattr(address, name))
            if address.postcode:
                _add(element, "Postcode", address.postcode)
    if record.attendance:
        attendance = _add(pupil, "Attendance")
        for year in record.attendance:
            element = _add(attendance, "YearData")
            _add(element, "Year", year.academic_year)
            _add(element, "SchoolName", year.school_name)
            _add(element, "LEA", year.la_code)
            _add(element, "Estab", year.establishment_number)
            _add(element, "SessionsPossible", year.sessions_possible)
            _add(element, "SessionsAuthorised", year.sessions_authorised)
            _add(element, "SessionsUnauthorised", year.sessions_unauthorised)
    if record.fsm:
        history = _add(pupil, "FSMhistory")
        for period in record.fsm:
            element = _add(history, "FSMinstance")
            _add(element, "FSMstartDate", period.starts_on.isoformat())
            if period.ends_on is not None:
                _add(element, "FSMendDate", period.ends_on.isoformat())
            _add(element, "UKcountry", period.uk_country)
    if record.sen:
        history = _add(pupil, "SENhistory")
        for entry in record.sen:
            element = _add(history, "SEN")
            _add(element, "StartDate", entry.starts_on.isoformat())
            _add(element, "SENprovision", entry.provision)
