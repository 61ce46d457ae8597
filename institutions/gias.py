"""Reading the national register's establishment export (GIAS ``edubasealldata*.csv``).

No database here: ``open_register(stream)`` decides the encoding, checks the header and
returns a ``RegisterFile`` whose iteration yields, record by record, either a validated
``SchoolRecord`` (in the staging table's column order) or a ``Rejection`` that says which
line and why. The write path is ``institutions.register_import``.

The real file is about 50,700 records x 140 columns, so the per-record work is kept to the
columns matmis stores, and repeated values (dates, numbers) are parsed once.

Encoding, decided from the bytes in a first pass over the stream:
- a UTF-8 byte-order mark: UTF-8;
- otherwise, the whole file valid UTF-8: UTF-8;
- otherwise, if it holds valid non-ASCII UTF-8 sequences: UTF-8, and the lines with bytes
  that are not UTF-8 are rejected;
- otherwise cp1252 (what the register's download often is), and a record holding a byte
  cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) is rejected.
Decoding uses ``errors="surrogateescape"``, so a bad byte becomes a lone surrogate that the
record check finds; a file without bad bytes skips that check altogether.
"""

import codecs
import csv
import datetime
import io
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from operator import gt, itemgetter
from typing import BinaryIO, NamedTuple

from matmis.text_files import CHUNK as _CHUNK
from matmis.text_files import CP1252, UTF8, UTF8_BOM, scan_bytes

from .models import Institution, OfstedGrade, Phase, Status

# The columns a file must have (DESIGN.md, "Real-world data formats").
KEY_COLUMNS: tuple[str, ...] = (
    "URN",
    "LA (code)",
    "LA (name)",
    "EstablishmentNumber",
    "EstablishmentName",
    "TypeOfEstablishment (name)",
    "EstablishmentTypeGroup (name)",
    "EstablishmentStatus (name)",
    "PhaseOfEducation (name)",
    "StatutoryLowAge",
    "StatutoryHighAge",
    "SchoolCapacity",
    "NumberOfPupils",
    "PercentageFSM",
    "Trusts (code)",
    "Trusts (name)",
    "OfstedLastInsp",
    "OfstedRating (name)",
    "Street",
    "Town",
    "Postcode",
    "SchoolWebsite",
    "TelephoneNum",
    "HeadTitle (name)",
    "HeadFirstName",
    "HeadLastName",
)

# Register column -> Institution field, for every register field matmis stores.
FIELD_FOR_COLUMN: dict[str, str] = {
    "URN": "urn",
    "EstablishmentName": "name",
    "LA (code)": "la_code",
    "LA (name)": "la_name",
    "EstablishmentNumber": "establishment_number",
    "TypeOfEstablishment (name)": "type_name",
    "EstablishmentTypeGroup (name)": "type_group",
    "EstablishmentStatus (name)": "status",
    "PhaseOfEducation (name)": "phase",
    "StatutoryLowAge": "statutory_low_age",
    "StatutoryHighAge": "statutory_high_age",
    "SchoolCapacity": "capacity",
    "NumberOfPupils": "pupils",
    "PercentageFSM": "percentage_fsm",
    "Trusts (code)": "trust_code",
    "Trusts (name)": "trust_name",
    "OpenDate": "open_date",
    "CloseDate": "close_date",
    "Street": "street",
    "Locality": "locality",
    "Address3": "address3",
    "Town": "town",
    "County (name)": "county",
    "Postcode": "postcode",
    "SchoolWebsite": "website",
    "TelephoneNum": "telephone",
    "HeadTitle (name)": "head_title",
    "HeadFirstName": "head_first_name",
    "HeadLastName": "head_last_name",
    "HeadPreferredJobTitle": "head_job_title",
    "OfstedLastInsp": "ofsted_last_inspection",
    "OfstedRating (name)": "ofsted_rating_published",
}
COLUMN_FOR_FIELD = {field: column for column, field in FIELD_FOR_COLUMN.items()}

# The order ``RegisterFile`` reads a record's values in: ``SchoolRecord`` without its line
# number and the values derived from others.
_READ_ORDER: tuple[str, ...] = (
    "urn",
    "name",
    "la_code",
    "la_name",
    "establishment_number",
    "type_name",
    "type_group",
    "status",
    "phase",
    "statutory_low_age",
    "statutory_high_age",
    "capacity",
    "pupils",
    "percentage_fsm",
    "trust_code",
    "trust_name",
    "open_date",
    "close_date",
    "street",
    "locality",
    "address3",
    "town",
    "county",
    "postcode",
    "website",
    "telephone",
    "head_title",
    "head_first_name",
    "head_last_name",
    "head_job_title",
    "ofsted_last_inspection",
    "ofsted_rating_published",
)
_URN, _NAME, _LA_CODE, _LA_NAME, _STATUS, _PHASE, _OFSTED_RATING = (
    _READ_ORDER.index(field)
    for field in ("urn", "name", "la_code", "la_name", "status", "phase", "ofsted_rating_published")
)

SUPPRESSED = "SUPP"  # the register's "suppressed" marker in numeric columns

# Exact spelling and lower case -> the register's spelling.
PHASES = {**{p.value: p.value for p in Phase}, **{p.value.lower(): p.value for p in Phase}}
STATUSES = {**{s.value: s.value for s in Status}, **{s.value.lower(): s.value for s in Status}}
OFSTED_GRADES = {
    "outstanding": OfstedGrade.OUTSTANDING.value,
    "good": OfstedGrade.GOOD.value,
    "requires improvement": OfstedGrade.REQUIRES_IMPROVEMENT.value,
    "inadequate": OfstedGrade.INADEQUATE.value,
    "serious weaknesses": OfstedGrade.SERIOUS_WEAKNESSES.value,
    "special measures": OfstedGrade.SPECIAL_MEASURES.value,
}
# ``LA (name)`` of records that belong to no local authority (e.g. schools overseas).
NO_LOCAL_AUTHORITY = "does not apply"

_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_DD_MM_YYYY = re.compile(r"([0-9]{2})-([0-9]{2})-([0-9]{4})")
# Lone surrogates come from bytes the encoding could not decode (surrogateescape).
_BAD_CHARACTERS = re.compile("[\x00\udc80-\udcff]")
_CHARSET = {UTF8: "UTF-8", UTF8_BOM: "UTF-8", CP1252: "cp1252"}

# Values converted for Postgres: numbers and dates (see ``_PARSERS``).
_CONVERTED_FIELDS = (
    "statutory_low_age",
    "statutory_high_age",
    "capacity",
    "pupils",
    "percentage_fsm",
    "open_date",
    "close_date",
    "ofsted_last_inspection",
)
_CHECKED_OTHERWISE = frozenset(("urn", "la_code", "status", "phase", *_CONVERTED_FIELDS))


def _max_lengths() -> dict[str, int]:
    return {
        field: Institution._meta.get_field(field).max_length
        for field in FIELD_FOR_COLUMN.values()
        if Institution._meta.get_field(field).max_length
    }


MAX_LENGTH = _max_lengths()
# Per value in read order: the longest text the database column takes. URN, LA code, phase
# and status are checked against their own rules; numbers and dates are checked as such.
_LENGTH_LIMITS = tuple(
    MAX_LENGTH[field] if field not in _CHECKED_OTHERWISE else 1 << 30 for field in _READ_ORDER
)


class RegisterFileError(Exception):
    """The file as a whole cannot be imported (nothing is changed); the message says why."""


@dataclass(frozen=True)
class Rejection:
    """A record left out of the import: the line it starts on, its URN if any, and why."""

    line: int
    urn: str
    reason: str


class SchoolRecord(NamedTuple):
    """One valid record, in the order of the staging table's columns.

    Numbers and dates are already checked and given as the text Postgres reads (ISO dates),
    or None when blank or suppressed.
    """

    line: int
    urn: str
    name: str
    la_code: str
    la_name: str
    establishment_number: str
    type_name: str
    type_group: str
    status: str
    phase: str
    statutory_low_age: str | None
    statutory_high_age: str | None
    capacity: str | None
    pupils: str | None
    percentage_fsm: str | None
    trust_code: str
    trust_name: str
    open_date: str | None
    close_date: str | None
    street: str
    locality: str
    address3: str
    town: str
    county: str
    postcode: str
    website: str
    telephone: str
    head_title: str
    head_first_name: str
    head_last_name: str
    head_job_title: str
    ofsted_last_inspection: str | None
    ofsted_rating_published: str
    ofsted_grade: str
    # Whether the school belongs to the local authority ``la_code`` (not "Does not apply").
    in_local_authority: bool


RECORD_FIELDS: tuple[str, ...] = SchoolRecord._fields


@dataclass(frozen=True)
class EncodingScan:
    encoding: str
    # Some records may hold undecodable bytes or NUL characters: check each record.
    check_records: bool


def scan_encoding(stream: BinaryIO) -> EncodingScan:
    """Read ``stream`` once (from where it is to the end) and decide how to decode it."""
    start = stream.read(4)
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise RegisterFileError(
            "The file is saved as UTF-16 text. Save it as CSV (UTF-8 or Windows) and try again."
        )
    scan = scan_bytes(start, stream)
    if scan.has_bom:
        return EncodingScan(UTF8_BOM, check_records=scan.has_nul or not scan.valid_utf8)
    if scan.valid_utf8:
        return EncodingScan(UTF8, check_records=scan.has_nul)
    if scan.non_ascii_utf8:
        return EncodingScan(UTF8, check_records=True)
    return EncodingScan(CP1252, check_records=scan.has_nul or scan.cp1252_undefined)


def _header_columns(header: list[str]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for position, name in enumerate(header):
        positions.setdefault(name.strip(), position)
    return positions


def check_header(header: list[str]) -> dict[str, int]:
    """Column name -> position; refuses a header without the key columns."""
    positions = _header_columns(header)
    missing = [column for column in KEY_COLUMNS if column not in positions]
    if missing:
        if len(missing) == len(KEY_COLUMNS):
            raise RegisterFileError(
                "The file does not look like the register's establishment export: its first "
                "line has none of the columns URN, EstablishmentName, LA (code) and the rest."
            )
        raise RegisterFileError(
            "The file is missing these columns: " + ", ".join(missing) + ". Nothing was imported."
        )
    return positions


def header_of_sample(sample: bytes) -> list[str]:
    """The header row of a file from its first bytes (enough for a quick check of an upload).

    Raises RegisterFileError when the sample is not text with a header line.
    """
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise RegisterFileError(
            "The file is saved as UTF-16 text. Save it as CSV (UTF-8 or Windows) and try again."
        )
    if b"\x00" in sample:
        raise RegisterFileError("The selected file must be a CSV file, not a spreadsheet.")
    if sample.startswith(codecs.BOM_UTF8):
        text = sample.decode(UTF8_BOM, errors="replace")
    else:
        try:
            text = codecs.getincrementaldecoder(UTF8)("strict").decode(sample)
        except UnicodeDecodeError:
            text = sample.decode(CP1252, errors="replace")
    first_line = next(csv.reader(io.StringIO(text, newline="")), [])
    if len(first_line) < 2:
        raise RegisterFileError("The selected file must be a CSV file with a header line.")
    return first_line


def _printable(value: str, limit: int = 40) -> str:
    """A value fit to quote in a reason: undecodable characters replaced, cut short."""
    value = _BAD_CHARACTERS.sub("\ufffd", value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


# Each parser: a value that is not blank -> (text Postgres reads or None, problem or None).
Parsed = tuple[str | None, str | None]


def _whole_number(raw: str, largest: int) -> Parsed:
    if raw.upper() == SUPPRESSED:
        return (None, None)
    if not (raw.isdigit() and raw.isascii()):
        return (None, "is not a whole number")
    if int(raw) > largest:
        return (None, "is too large")
    return (str(int(raw)), None)


def _small_number(raw: str) -> Parsed:
    return _whole_number(raw, 32767)  # PositiveSmallIntegerField


def _number(raw: str) -> Parsed:
    return _whole_number(raw, 2147483647)  # PositiveIntegerField


def _percentage(raw: str) -> Parsed:
    if raw.upper() == SUPPRESSED:
        return (None, None)
    if not _DECIMAL.fullmatch(raw):
        return (None, "is not a number")
    try:
        value = Decimal(raw).quantize(Decimal("0.1"))  # numeric(4, 1)
    except InvalidOperation:
        return (None, "is too large")
    return (None, "is too large") if value >= 1000 else (str(value), None)


def _date(raw: str) -> Parsed:
    match = _DD_MM_YYYY.fullmatch(raw)
    if match is None:
        return (None, "is not a date in the form dd-mm-yyyy")
    day, month, year = (int(part) for part in match.groups())
    try:
        return (datetime.date(year, month, day).isoformat(), None)
    except ValueError:
        return (None, "is not a real date")


_PARSERS = {
    "statutory_low_age": _small_number,
    "statutory_high_age": _small_number,
    "capacity": _number,
    "pupils": _number,
    "percentage_fsm": _percentage,
    "open_date": _date,
    "close_date": _date,
    "ofsted_last_inspection": _date,
}


class RegisterFile:
    """An open register export: ``encoding``, ``present_fields``, and records on iteration.

    Iterating reads the stream once; ``rows_read`` counts the records read so far. A line
    that cannot be read as CSV at all (a value over the csv module's field limit) raises
    RegisterFileError.
    """

    def __init__(self, stream: BinaryIO, scan: EncodingScan, *, owned: BinaryIO | None = None):
        self._owned = owned
        self.encoding = scan.encoding
        self._check_records = scan.check_records
        self._text: io.TextIOWrapper | None = io.TextIOWrapper(
            stream, encoding=scan.encoding, errors="surrogateescape", newline=""
        )
        self._reader = csv.reader(self._text)
        try:
            header = self._read_header()
            positions = check_header(header)
        except BaseException:
            self.close()
            raise
        self.width = len(header)
        self.present_fields = frozenset(
            field for column, field in FIELD_FOR_COLUMN.items() if column in positions
        )
        # A column the file lacks reads as the empty cell appended after the last column.
        self._values = itemgetter(
            *(positions.get(COLUMN_FOR_FIELD[field], self.width) for field in _READ_ORDER)
        )
        self.rows_read = 0
        self._seen_urns: dict[str, int] = {}
        # (position, parser, cache of what it gave for each distinct text) per converted value.
        caches: dict[object, dict[str, Parsed]] = {}
        self._conversions = tuple(
            (_READ_ORDER.index(field), parse, caches.setdefault(parse, {}))
            for field, parse in _PARSERS.items()
        )

    def _read_header(self) -> list[str]:
        try:
            header = next(self._reader)
        except StopIteration:
            raise RegisterFileError("The file is empty.") from None
        except csv.Error as exc:
            raise RegisterFileError(f"The first line cannot be read as CSV: {exc}.") from None
        if _BAD_CHARACTERS.search("".join(header)):
            raise RegisterFileError(
                f"The header line holds bytes that are not valid {_CHARSET[self.encoding]}."
            )
        return header

    def close(self) -> None:
        """Let go of the stream without closing it (it belongs to the caller)."""
        if self._text is not None:
            self._text.detach()
            self._text = None
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __iter__(self) -> Iterator[SchoolRecord | Rejection]:
        reader = self._reader
        width = self.width
        check_records = self._check_records
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # The reader cannot find its place again (the error may be inside a quoted
                # value, whose later lines would then be read as records): refuse the file.
                raise RegisterFileError(
                    f"Line {line} cannot be read as CSV ({exc}). Nothing was imported."
                ) from None
            if not row:
                continue  # a blank line
            self.rows_read += 1
            if len(row) != width:
                urn = _printable(row[0].strip(), 20)
                yield Rejection(
                    line, urn, f"has {len(row)} fields but the header has {width} columns"
                )
                continue
            row.append("")  # what a column missing from the file reads as
            if check_records and _BAD_CHARACTERS.search("\x1f".join(row)):
                yield self._undecodable(line, row)
                continue
            values = list(map(str.strip, self._values(row)))
            if reader.line_num != line:
                # Quoted line breaks (a name over two lines) become one space.
                values = [" ".join(value.split()) for value in values]
            yield self._record(line, values)

    def _undecodable(self, line: int, row: list[str]) -> Rejection:
        urn = self._values(row)[0].strip()
        if "\x00" in "".join(row):
            reason = "contains a NUL character"
        else:
            reason = f"contains bytes that are not valid {_CHARSET[self.encoding]}"
        return Rejection(line, _printable(urn, 20), reason)

    def _record(self, line: int, values: list[str]) -> SchoolRecord | Rejection:
        """Check one record's values (in ``_READ_ORDER``) and convert them for Postgres."""
        problems: list[str] = []
        urn = values[_URN]
        if not (len(urn) == 6 and urn.isdigit() and urn.isascii()):
            problems.append(
                f"URN “{_printable(urn, 20)}” is not 6 digits" if urn else "URN is missing"
            )
        else:
            first = self._seen_urns.get(urn)
            if first is not None:
                return Rejection(
                    line, urn, f"URN {urn} appears again (first on line {first}); the first is kept"
                )
        if not values[_NAME]:
            problems.append("EstablishmentName is missing")
        la_code = values[_LA_CODE]
        if not (len(la_code) == 3 and la_code.isdigit() and la_code.isascii()):
            problems.append(
                f"LA (code) “{_printable(la_code, 20)}” is not 3 digits"
                if la_code
                else "LA (code) is missing"
            )
        if any(map(gt, map(len, values), _LENGTH_LIMITS)):
            problems.extend(
                f"{COLUMN_FOR_FIELD[field]} is longer than {limit} characters"
                for field, value, limit in zip(_READ_ORDER, values, _LENGTH_LIMITS, strict=True)
                if len(value) > limit
            )
        for index, known, noun in ((_PHASE, PHASES, "phase"), (_STATUS, STATUSES, "status")):
            given = values[index]
            value = known.get(given) or known.get(given.lower())
            if value is None:
                column = COLUMN_FOR_FIELD[_READ_ORDER[index]]
                problems.append(
                    f"{column} “{_printable(given)}” is not a known {noun}"
                    if given
                    else f"{column} is missing"
                )
            values[index] = value
        for index, parse, cache in self._conversions:
            raw = values[index]
            if not raw:
                values[index] = None
                continue
            known = cache.get(raw)
            if known is None:
                known = cache[raw] = parse(raw)
            values[index], problem = known
            if problem is not None:
                column = COLUMN_FOR_FIELD[_READ_ORDER[index]]
                problems.append(f"{column} “{_printable(raw)}” {problem}")
        if problems:
            return Rejection(line, _printable(urn, 20), "; ".join(problems))
        self._seen_urns[urn] = line
        rating = values[_OFSTED_RATING]
        return SchoolRecord(
            line,
            *values,
            OFSTED_GRADES.get(rating.lower(), "") if rating else "",
            values[_LA_NAME].lower() != NO_LOCAL_AUTHORITY,
        )


def open_register(stream: BinaryIO) -> RegisterFile:
    """Decide the encoding (one pass over the bytes), read and check the header.

    A stream that cannot seek is first copied to a temporary file. Raises RegisterFileError
    when the file as a whole cannot be imported.
    """
    owned = None
    if not stream.seekable():
        owned = tempfile.TemporaryFile()  # noqa: SIM115 - closed by RegisterFile.close()
        shutil.copyfileobj(stream, owned, _CHUNK)
        owned.seek(0)
        stream = owned
    start = stream.tell()
    try:
        scan = scan_encoding(stream)
        stream.seek(start)
        return RegisterFile(stream, scan, owned=owned)
    except BaseException:
        if owned is not None:
            owned.close()
        raise
