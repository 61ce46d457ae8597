"""Importing published (DfE) figures from Explore Education Statistics "tidy" CSV files.

An EES data file has one row per geography per time period: the columns ``time_period``
(``202425``), ``time_identifier`` (``Academic year``), ``geographic_level`` (``School``,
``National``, ``Local authority``...), ``school_urn`` (``urn`` in the census's file) and
then the release's indicators.
matmis keeps the academic-year rows of schools and of England (``PublishedFigures``); rows
for other periods (``Autumn term``) and other levels (``Regional``) are skipped and counted,
and so are the breakdown rows of the performance files (a ``breakdown``, ``sex``,
``disadvantage_status``... other than ``Total``): matmis keeps the whole school's line.

The release is recognised from the columns (``RELEASES``): absence; suspensions and
permanent exclusions; the school census (pupil headcount, free school meals, English as an
additional language) and its SEN figures; key stage 2; key stage 4. One file may hold
several releases' columns.

``read_published(stream)`` reads and checks a whole file without touching the database;
``published_figures_import(stream=...)`` reads a file and then writes it in one statement
(an INSERT ... ON CONFLICT over arrays, about a second for England's 25,000 schools). Either
raises ``PublishedFileError``, changing nothing, when the file as a whole cannot be
imported (not CSV, UTF-16, undecodable header, missing key columns, a line the csv module
cannot read). Otherwise each line is imported or rejected with its line number and reason.

Rules for a row:
- ``time_period`` is six digits naming consecutive years (``202425``); a school's
  ``school_urn`` is six digits; a URN the register does not know is counted as an
  "unknown school" (the DfE publishes schools matmis may not hold), not an error;
- indicator values are whole numbers (counts), decimals from 0 to 100 (percentages),
  decimals of 0 and more (rates per 100 pupils) or scores within their range (a progress
  score may be negative: ``-0.45``; an average scaled score is from 80 to 120), stored
  to 2 decimal places; the markers
  EES uses for "no value" (``z c x u low k : SUPP NA``, any case, and blank) store NULL;
  anything else (``-1``, ``1e3``, ``=cmd|' /C calc'!A0``, ``+1``) rejects the line;
- the same school (or England) and year twice in a file: the later line wins, reported.

Only the indicators the file has are written: importing the absence release leaves the
exclusion figures of the same school and year as they were, and the other way round.
"""

import codecs
import csv
import io
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal
from enum import Enum
from typing import BinaryIO

from django.db import connection, transaction

from institutions.models import Institution, InstitutionKind
from matmis.text_files import CHUNK as _CHUNK
from matmis.text_files import CP1252, ENCODING_LABELS, UTF8, UTF8_BOM, scan_bytes

from .models import PublishedFigures

__all__ = [
    "ENCODING_LABELS",
    "INDICATORS",
    "KEY_COLUMNS",
    "MARKERS",
    "RELEASES",
    "UNKNOWN_SCHOOL",
    "Duplicate",
    "FiguresRow",
    "Indicator",
    "Measure",
    "PublishedFileError",
    "PublishedImportResult",
    "PublishedReading",
    "Rejection",
    "published_figures_import",
    "read_published",
]


KEY_COLUMNS: tuple[str, ...] = ("time_period", "time_identifier", "geographic_level", "school_urn")
# The census's school-level file names the URN column ``urn``.
URN_ALIASES: tuple[str, ...] = ("urn",)
# The performance files break each school down (by sex, disadvantage, prior attainment...):
# only the line whose every one of these columns is "Total" is the whole school's.
BREAKDOWN_COLUMNS: tuple[str, ...] = (
    "breakdown_topic",
    "breakdown",
    "sex",
    "gender",
    "disadvantage_status",
    "first_language",
    "prior_attainment",
    "mobility",
)
TOTAL = "total"
ACADEMIC_YEAR = "academic year"
SCHOOL_LEVEL = "school"
NATIONAL_LEVEL = "national"
# The reason rows of URNs the register does not hold are counted under.
UNKNOWN_SCHOOL = "unknown school"

# EES symbols for "no value", compared in lower case: not applicable, confidential,
# unavailable, low reliability, rounds to zero ("low", formerly "k"), not available, and
# the register's and other publishers' SUPP and NA.
MARKERS = frozenset(("z", "c", "x", "u", "low", "k", ":", "supp", "na", ""))


class Measure(Enum):
    COUNT = "count"
    PERCENTAGE = "percentage"  # 0 to 100
    PER_100 = "per 100"  # suspensions per 100 pupils: 0 and more
    SCORE = "score"  # an average score or progress score: from ``smallest`` to ``largest``


@dataclass(frozen=True)
class Indicator:
    column: str  # the EES name
    field: str  # PublishedFigures' field
    measure: Measure
    largest: int | Decimal
    smallest: int | Decimal = 0


_INT = 2147483647  # PositiveIntegerField
_BIGINT = 9223372036854775807  # BigIntegerField
_PERCENT = Decimal(100)
_PER_100 = Decimal("99999.99")  # numeric(7, 2)

_ATTAINMENT8 = Decimal(90)  # 10 slots (English and maths double) of grade 9 at most
_EBACC_APS = Decimal(9)
_SCALED_LOWEST, _SCALED_HIGHEST = Decimal(80), Decimal(120)
_PROGRESS = Decimal("99.99")  # progress scores and their confidence limits, either sign

ABSENCE = "absence"
SUSPENSIONS = "suspensions and permanent exclusions"
CENSUS = "school census"
SEN = "special educational needs"
KEY_STAGE_2 = "key stage 2"
KEY_STAGE_4 = "key stage 4"

INDICATORS: tuple[Indicator, ...] = (
    # "Pupil absence in schools in England"
    Indicator("sess_possible", "sessions_possible", Measure.COUNT, _BIGINT),
    Indicator("sess_overall", "sessions_overall_absence", Measure.COUNT, _BIGINT),
    Indicator("sess_overall_percent", "overall_absence_rate", Measure.PERCENTAGE, _PERCENT),
    Indicator("enrolments", "enrolments", Measure.COUNT, _INT),
    Indicator("enrolments_pa_10_exact", "persistent_absentees", Measure.COUNT, _INT),
    Indicator(
        "enrolments_pa_10_exact_percent", "persistent_absence_rate", Measure.PERCENTAGE, _PERCENT
    ),
    # "Suspensions and permanent exclusions in England"
    Indicator("headcount", "headcount", Measure.COUNT, _INT),
    Indicator("susp", "suspensions", Measure.COUNT, _INT),
    Indicator("susp_rate", "suspension_rate", Measure.PER_100, _PER_100),
    Indicator("perm_excl", "permanent_exclusions", Measure.COUNT, _INT),
    Indicator("perm_excl_rate", "permanent_exclusion_rate", Measure.PER_100, _PER_100),
    # "Schools, pupils and their characteristics" (school level: column names in words)
    Indicator("headcount of pupils", "pupils_headcount", Measure.COUNT, _INT),
    Indicator(
        "number of pupils known to be eligible for free school meals",
        "fsm_eligible",
        Measure.COUNT,
        _INT,
    ),
    Indicator(
        "% of pupils known to be eligible for free school meals",
        "fsm_eligible_percent",
        Measure.PERCENTAGE,
        _PERCENT,
    ),
    Indicator(
        "number of pupils whose first language is known or believed to be other than english",
        "eal_pupils",
        Measure.COUNT,
        _INT,
    ),
    Indicator(
        "% of pupils whose first language is known or believed to be other than english",
        "eal_percent",
        Measure.PERCENTAGE,
        _PERCENT,
    ),
    # "Special educational needs in England" (school level)
    Indicator("sen_support", "sen_support", Measure.COUNT, _INT),
    Indicator("sen_support_percent", "sen_support_percent", Measure.PERCENTAGE, _PERCENT),
    Indicator("ehc_plan", "ehc_plan", Measure.COUNT, _INT),
    Indicator("ehc_plan_percent", "ehc_plan_percent", Measure.PERCENTAGE, _PERCENT),
    # "Key stage 2 attainment" (school level)
    Indicator("t_rwm_eligible_pupils", "ks2_eligible_pupils", Measure.COUNT, _INT),
    Indicator(
        "pt_rwm_met_expected_standard", "ks2_rwm_expected_percent", Measure.PERCENTAGE, _PERCENT
    ),
    Indicator("pt_rwm_met_higher_standard", "ks2_rwm_higher_percent", Measure.PERCENTAGE, _PERCENT),
    Indicator(
        "avg_read_scaled_score",
        "ks2_read_scaled_score",
        Measure.SCORE,
        _SCALED_HIGHEST,
        _SCALED_LOWEST,
    ),
    Indicator(
        "avg_mat_scaled_score",
        "ks2_mat_scaled_score",
        Measure.SCORE,
        _SCALED_HIGHEST,
        _SCALED_LOWEST,
    ),
    Indicator("avg_read_progress_score", "ks2_read_progress", Measure.SCORE, _PROGRESS, -_PROGRESS),
    Indicator(
        "avg_writta_progress_score", "ks2_writ_progress", Measure.SCORE, _PROGRESS, -_PROGRESS
    ),
    Indicator("avg_mat_progress_score", "ks2_mat_progress", Measure.SCORE, _PROGRESS, -_PROGRESS),
    # "Key stage 4 performance" (school level)
    Indicator("pupil_count", "ks4_pupils", Measure.COUNT, _INT),
    Indicator("attainment8_average", "attainment8", Measure.SCORE, _ATTAINMENT8),
    Indicator("progress8_average", "progress8", Measure.SCORE, _PROGRESS, -_PROGRESS),
    Indicator("progress8_lower_95_ci", "progress8_lower", Measure.SCORE, _PROGRESS, -_PROGRESS),
    Indicator("progress8_upper_95_ci", "progress8_upper", Measure.SCORE, _PROGRESS, -_PROGRESS),
    Indicator("engmath_95_percent", "engmath_95_percent", Measure.PERCENTAGE, _PERCENT),
    Indicator("ebacc_entering_percent", "ebacc_entering_percent", Measure.PERCENTAGE, _PERCENT),
    Indicator("ebacc_aps_average", "ebacc_aps", Measure.SCORE, _EBACC_APS),
)
# Which release each field comes from, in INDICATORS order.
RELEASES: dict[str, tuple[str, ...]] = {
    ABSENCE: tuple(i.field for i in INDICATORS[:6]),
    SUSPENSIONS: tuple(i.field for i in INDICATORS[6:11]),
    CENSUS: tuple(i.field for i in INDICATORS[11:16]),
    SEN: tuple(i.field for i in INDICATORS[16:20]),
    KEY_STAGE_2: tuple(i.field for i in INDICATORS[20:28]),
    KEY_STAGE_4: tuple(i.field for i in INDICATORS[28:]),
}
INDICATOR_FOR_COLUMN = {indicator.column: indicator for indicator in INDICATORS}
INDICATOR_FOR_FIELD = {indicator.field: indicator for indicator in INDICATORS}

_HUNDREDTH = Decimal("0.01")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_NEGATIVE = re.compile(r"-(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_SIGNED = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_LONGEST_NUMBER = 40  # characters: longer "numbers" are refused before Decimal sees them
_EXACT = Context(prec=2 * _LONGEST_NUMBER)  # enough digits to round any of them exactly
_TIME_PERIOD = re.compile(r"[0-9]{6}")
_URN = re.compile(r"[0-9]{6}")
# Undecodable bytes (lone surrogates from surrogateescape) and control characters (C0, C1).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\udc80-\udcff]")


class PublishedFileError(Exception):
    """The file as a whole cannot be imported (nothing is changed); the message says why."""


@dataclass(frozen=True)
class Rejection:
    """A line left out of the import: its number, its URN if any, and why."""

    line: int
    urn: str
    reason: str


@dataclass(frozen=True)
class Duplicate:
    """A school (URN) or England (blank URN) and year given again: ``line`` replaced
    ``replaced_line``."""

    line: int
    replaced_line: int
    urn: str
    time_period: str


@dataclass(frozen=True)
class FiguresRow:
    """One valid row: ``urn`` None for England; ``values`` maps each of the file's
    indicators' ``PublishedFigures`` field to an int, a Decimal (2 places) or None."""

    line: int
    urn: str | None
    time_period: str
    values: dict[str, int | Decimal | None]


@dataclass
class PublishedReading:
    """What a file holds: its valid rows (one per school or England and year, the later
    line kept), and what was skipped, rejected or given twice."""

    encoding: str
    fields: tuple[str, ...]  # the PublishedFigures fields the file gives, in INDICATORS order
    rows: list[FiguresRow]
    rows_read: int
    skipped: Counter[str]
    rejected: list[Rejection]
    duplicates: list[Duplicate]

    @property
    def releases(self) -> list[str]:
        return releases_of(self.fields)


def releases_of(fields: tuple[str, ...]) -> list[str]:
    """The releases whose figures ``fields`` include, in ``RELEASES`` order."""
    return [name for name, names in RELEASES.items() if set(names) & set(fields)]


@dataclass
class PublishedImportResult:
    encoding: str
    fields: tuple[str, ...]
    rows_read: int
    schools_written: int  # (school, year) rows inserted or updated
    national_rows: int  # England rows inserted or updated
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows
    rejected: list[Rejection] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)

    @property
    def releases(self) -> list[str]:
        return releases_of(self.fields)

    @property
    def unknown_schools(self) -> int:
        return self.skipped.get(UNKNOWN_SCHOOL, 0)


# --- Reading ---------------------------------------------------------------------------


def printable(value: str, limit: int = 40) -> str:
    """A value fit to quote in a reason: undecodable and control characters replaced,
    cut short."""
    value = _UNPRINTABLE.sub("\ufffd", value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _refuse_binary(start: bytes) -> None:
    if start.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise PublishedFileError(
            "The file is saved as UTF-32 text. Save it as CSV (UTF-8) and try again."
        )
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise PublishedFileError(
            "The file is saved as UTF-16 text. Save it as CSV (UTF-8) and try again."
        )
    if start.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise PublishedFileError(
            "The file is a spreadsheet or an archive, not a CSV file. Download the data file "
            "as CSV and try again."
        )
    first_line = start.split(b"\n", 1)[0]
    if b"\x00" in first_line:
        # About every other byte NUL: UTF-16 without a byte-order mark.
        if first_line.count(0) * 3 >= len(first_line):
            raise PublishedFileError(
                "The file looks like UTF-16 text. Save it as CSV (UTF-8) and try again."
            )
        raise PublishedFileError("The file is not a CSV file: its first line holds binary data.")


def scan_encoding(stream: BinaryIO) -> str:
    """Read ``stream`` once (from where it is to the end) and decide how to decode it:
    UTF-8 with a byte-order mark; UTF-8 when the bytes are valid UTF-8 or hold valid non-ASCII
    UTF-8 sequences (a mixed file: its other bytes stay undecodable, and a value holding them
    is rejected); otherwise cp1252. Refuses UTF-16, UTF-32 and binary files."""
    start = stream.read(_CHUNK)
    _refuse_binary(start)
    if start.startswith(codecs.BOM_UTF8):
        return UTF8_BOM
    scan = scan_bytes(start, stream)
    return UTF8 if scan.valid_utf8 or scan.non_ascii_utf8 else CP1252


def _positions(header: list[str]) -> dict[str, int]:
    """Column name (stripped, lower case) -> position; refuses a header without the key
    columns or without any indicator matmis imports."""
    if len(header) < 2:
        raise PublishedFileError(
            "The file is not a CSV data file: its first line should name the columns "
            "(time_period, time_identifier, geographic_level, school_urn and the figures)."
        )
    names = [name.strip().lower() for name in header]
    positions: dict[str, int] = {}
    for position, name in enumerate(names):
        if name in positions and (
            name in KEY_COLUMNS
            or name in INDICATOR_FOR_COLUMN
            or name in URN_ALIASES
            or name in BREAKDOWN_COLUMNS
        ):
            raise PublishedFileError(
                f"The column {name} appears more than once. Nothing was imported."
            )
        positions.setdefault(name, position)
    if not any(column in positions for column in KEY_COLUMNS):
        raise PublishedFileError(
            "The file does not look like an Explore Education Statistics data file: its first "
            "line has none of the columns " + ", ".join(KEY_COLUMNS) + "."
        )
    for alias in URN_ALIASES:
        if alias in positions:
            if "school_urn" in positions:
                raise PublishedFileError(
                    f"The file has both school_urn and {alias}: which names the school is "
                    "not clear. Nothing was imported."
                )
            positions["school_urn"] = positions[alias]
    missing = [column for column in KEY_COLUMNS if column not in positions]
    if missing:
        raise PublishedFileError(
            "The file is missing these columns: " + ", ".join(missing) + ". Nothing was imported."
        )
    if not any(indicator.column in positions for indicator in INDICATORS):
        raise PublishedFileError(
            "The file has none of the figures matmis imports ("
            + ", ".join(INDICATOR_FOR_COLUMN)
            + "). Nothing was imported."
        )
    return positions


def parse_value(indicator: Indicator, raw: str) -> tuple[int | Decimal | None, str | None]:
    """(value, None) for a valid value or a marker (value None), (None, problem) otherwise."""
    text = raw.strip()
    if text.lower() in MARKERS:
        return (None, None)
    if len(text) > _LONGEST_NUMBER:
        return (None, "is not a number")
    if indicator.measure is Measure.COUNT:
        if not (text.isascii() and text.isdigit()):
            if _NEGATIVE.fullmatch(text):
                return (None, "is negative")
            return (None, "is not a whole number")
        value = int(text)
        if value > indicator.largest:
            return (None, "is too large")
        return (value, None)
    if indicator.measure is Measure.SCORE:
        if not _SIGNED.fullmatch(text):
            return (None, "is not a number")
        value = Decimal(text).quantize(_HUNDREDTH, rounding=ROUND_HALF_UP, context=_EXACT)
        if not indicator.smallest <= value <= indicator.largest:
            return (None, f"is not between {indicator.smallest} and {indicator.largest}")
        return (value, None)
    if not _DECIMAL.fullmatch(text):
        return (None, "is negative" if _NEGATIVE.fullmatch(text) else "is not a number")
    value = Decimal(text).quantize(_HUNDREDTH, rounding=ROUND_HALF_UP, context=_EXACT)
    if value > indicator.largest:
        if indicator.measure is Measure.PERCENTAGE:
            return (None, "is more than 100 (it is a percentage)")
        return (None, "is too large")
    return (value, None)


def _academic_year(text: str) -> bool:
    return bool(_TIME_PERIOD.fullmatch(text)) and int(text[4:]) == (int(text[:4]) + 1) % 100


class _Reader:
    """One pass over the decoded CSV, building a ``PublishedReading``."""

    def __init__(self, text: io.TextIOBase, encoding: str):
        self.encoding = encoding
        self.csv = csv.reader(text)
        header = self._header()
        positions = _positions(header)
        self.width = len(header)
        self.time_period, self.time_identifier, self.level, self.urn = (
            positions[column] for column in KEY_COLUMNS
        )
        self.indicators = tuple(
            (positions[i.column], i) for i in INDICATORS if i.column in positions
        )
        self.breakdowns = tuple(
            (positions[column], column) for column in BREAKDOWN_COLUMNS if column in positions
        )
        self.rows: dict[tuple[str | None, str], FiguresRow] = {}
        self.rows_read = 0
        self.skipped: Counter[str] = Counter()
        self.rejected: list[Rejection] = []
        self.duplicates: list[Duplicate] = []

    def _header(self) -> list[str]:
        try:
            header = next(self.csv)
        except StopIteration:
            raise PublishedFileError("The file is empty.") from None
        except csv.Error as exc:
            raise PublishedFileError(f"The first line cannot be read as CSV: {exc}.") from None
        if _UNPRINTABLE.search("".join(header)):
            raise PublishedFileError(
                "The first line (the column names) holds characters that are not text in "
                f"{ENCODING_LABELS[self.encoding]}. Nothing was imported."
            )
        return header

    def _lines(self) -> Iterator[tuple[int, list[str]]]:
        reader = self.csv
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # The reader cannot find its place again (the error may be inside a quoted
                # value, whose later lines would then be read as rows): refuse the file.
                raise PublishedFileError(
                    f"Line {line} cannot be read as CSV ({exc}). Nothing was imported."
                ) from None
            if any(cell.strip() for cell in row):
                yield line, row

    def read(self) -> PublishedReading:
        for line, row in self._lines():
            self.rows_read += 1
            self._row(line, row)
        return PublishedReading(
            encoding=self.encoding,
            fields=tuple(indicator.field for _, indicator in self.indicators),
            rows=list(self.rows.values()),
            rows_read=self.rows_read,
            skipped=self.skipped,
            rejected=self.rejected,
            duplicates=self.duplicates,
        )

    def _row(self, line: int, row: list[str]) -> None:
        if len(row) != self.width:
            urn = row[self.urn].strip() if self.urn < len(row) else ""
            self._reject(
                line, urn, f"has {len(row)} fields but the header has {self.width} columns"
            )
            return
        time_identifier = row[self.time_identifier].strip()
        if time_identifier.lower() != ACADEMIC_YEAR:
            if not time_identifier:
                self._reject(line, row[self.urn], "time_identifier is missing")
            else:
                self.skipped[f"time_identifier “{printable(time_identifier)}”"] += 1
            return
        for position, column in self.breakdowns:
            value = row[position].strip()
            if value.lower() != TOTAL:
                self.skipped[f"{column} “{printable(value)}”"] += 1
                return
        level = row[self.level].strip()
        if level.lower() not in (SCHOOL_LEVEL, NATIONAL_LEVEL):
            if not level:
                self._reject(line, row[self.urn], "geographic_level is missing")
            else:
                self.skipped[f"geographic_level “{printable(level)}”"] += 1
            return
        problems = []
        time_period = row[self.time_period].strip()
        if not _academic_year(time_period):
            problems.append(
                f"time_period “{printable(time_period)}” is not an academic year such as 202425"
                if time_period
                else "time_period is missing"
            )
        urn: str | None = None
        if level.lower() == SCHOOL_LEVEL:
            urn = row[self.urn].strip()
            if not _URN.fullmatch(urn):
                problems.append(
                    f"school_urn “{printable(urn, 20)}” is not 6 digits"
                    if urn
                    else "school_urn is missing"
                )
        values: dict[str, int | Decimal | None] = {}
        for position, indicator in self.indicators:
            raw = row[position]
            value, problem = parse_value(indicator, raw)
            if problem is not None:
                problems.append(f"{indicator.column} “{printable(raw.strip())}” {problem}")
            values[indicator.field] = value
        if problems:
            self._reject(line, urn or "", "; ".join(problems))
            return
        key = (urn, time_period)
        earlier = self.rows.get(key)
        if earlier is not None:
            self.duplicates.append(Duplicate(line, earlier.line, urn or "", time_period))
            del self.rows[key]  # the later line takes the later place
        self.rows[key] = FiguresRow(line, urn, time_period, values)

    def _reject(self, line: int, urn: str, reason: str) -> None:
        self.rejected.append(Rejection(line, printable(urn.strip(), 20), reason))


def read_published(stream: BinaryIO) -> PublishedReading:
    """Read and check a whole EES data file (bytes); no database.

    A stream that cannot seek is first copied to a temporary file. Raises PublishedFileError
    when the file as a whole cannot be imported.
    """
    with nullcontext(stream) if stream.seekable() else tempfile.TemporaryFile() as seekable:
        if seekable is not stream:
            shutil.copyfileobj(stream, seekable, _CHUNK)
            seekable.seek(0)
        start = seekable.tell()
        encoding = scan_encoding(seekable)
        seekable.seek(start)
        text = io.TextIOWrapper(seekable, encoding=encoding, errors="surrogateescape", newline="")
        try:
            return _Reader(text, encoding).read()
        finally:
            text.detach()  # the stream belongs to the caller


# --- Writing ---------------------------------------------------------------------------


def _upsert_sql(fields: tuple[str, ...]) -> str:
    """One INSERT ... ON CONFLICT of every row, from one array per column (``unnest``): the
    URNs are matched to schools in the same statement, rows of URNs the register does not
    hold are left out, and on conflict only ``fields`` (and ``imported_at``) are updated.
    Returns one row per row written, true for England's."""
    meta = PublishedFigures._meta
    columns = [meta.get_field(name).column for name in fields]
    types = [
        "bigint" if INDICATOR_FOR_FIELD[name].measure is Measure.COUNT else "numeric"
        for name in fields
    ]
    arrays = "".join(f", %s::{kind}[]" for kind in types)
    names = "".join(f", {column}" for column in columns)
    values = "".join(f", given.{column}" for column in columns)
    updates = "".join(f"{column} = EXCLUDED.{column}, " for column in columns)
    school = Institution._meta
    return f"""
        INSERT INTO {meta.db_table} (school_id, time_period{names}, imported_at)
        SELECT school.id, given.time_period{values}, now()
        FROM unnest(%s::text[], %s::text[]{arrays}) AS given(urn, time_period{names})
        LEFT JOIN {school.db_table} AS school
            ON school.urn = given.urn AND school.kind = %s
        WHERE given.urn IS NULL OR school.id IS NOT NULL
        -- One order for every import, so two imports at once lock rows in the same order.
        ORDER BY school.id NULLS LAST, given.time_period
        ON CONFLICT (school_id, time_period) DO UPDATE SET {updates}imported_at = now()
        RETURNING school_id IS NULL
    """  # noqa: S608 - names from the model, values as parameters


def published_figures_import(*, stream: BinaryIO) -> PublishedImportResult:
    """Import one EES data file (bytes): insert or update a ``PublishedFigures`` row per
    school known to the register (and England) and academic year, writing only the
    figures the file has. All or nothing: raises PublishedFileError, changing nothing,
    when the file as a whole cannot be imported; see the module's description."""
    reading = read_published(stream)
    rows = reading.rows
    parameters = [[row.urn for row in rows], [row.time_period for row in rows]]
    parameters += [[row.values[name] for row in rows] for name in reading.fields]
    written: list[bool] = []
    if rows:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_upsert_sql(reading.fields), [*parameters, InstitutionKind.SCHOOL.value])
            written = [national for (national,) in cursor.fetchall()]
    national = sum(written)
    schools = len(written) - national
    skipped = Counter(reading.skipped)
    unknown = sum(1 for row in rows if row.urn is not None) - schools
    if unknown:
        skipped[UNKNOWN_SCHOOL] += unknown
    return PublishedImportResult(
        encoding=reading.encoding,
        fields=reading.fields,
        rows_read=reading.rows_read,
        schools_written=schools,
        national_rows=national,
        skipped=dict(skipped.most_common()),
        rejected=reading.rejected,
        duplicates=reading.duplicates,
    )
