"""The register file reader: encoding, header, and per-record validation (no database)."""

import csv
import io
from pathlib import Path

import pytest

from institutions.gias import (
    KEY_COLUMNS,
    RegisterFileError,
    Rejection,
    SchoolRecord,
    check_header,
    header_of_sample,
    open_register,
)
from matmis.text_files import CP1252, UTF8, UTF8_BOM

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "gias-sample.csv"


def sample_header() -> list[str]:
    with SAMPLE.open(encoding="cp1252", newline="") as f:
        return next(csv.reader(f))


def good_row(**overrides: str) -> dict[str, str]:
    row = {
        "URN": "100001",
        "LA (code)": "380",
        "LA (name)": "Bradford",
        "EstablishmentNumber": "2001",
        "EstablishmentName": "Oak Primary School",
        "TypeOfEstablishment (name)": "Academy converter",
        "EstablishmentTypeGroup (name)": "Academies",
        "EstablishmentStatus (name)": "Open",
        "PhaseOfEducation (name)": "Primary",
        "StatutoryLowAge": "4",
        "StatutoryHighAge": "11",
        "SchoolCapacity": "420",
        "NumberOfPupils": "400",
        "PercentageFSM": "12.5",
        "Trusts (code)": "3001",
        "Trusts (name)": "Oak Trust",
        "OpenDate": "01-09-2012",
        "OfstedLastInsp": "17-07-2024",
        "OfstedRating (name)": "Good",
    }
    row.update(overrides)
    return row


def make_csv(
    rows: list[dict[str, str]],
    *,
    header: list[str] | None = None,
    encoding: str = "cp1252",
) -> bytes:
    """A register file: the sample's 140 columns (or ``header``), CRLF line ends."""
    header = header or sample_header()
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return out.getvalue().encode(encoding)


def read_all(data: bytes) -> tuple[str, list[SchoolRecord], list[Rejection]]:
    register = open_register(io.BytesIO(data))
    items = list(register)
    register.close()
    records = [i for i in items if isinstance(i, SchoolRecord)]
    rejections = [i for i in items if isinstance(i, Rejection)]
    return register.encoding, records, rejections


# --- The sample file ------------------------------------------------------------------------


def test_the_sample_reads_as_cp1252_with_every_record_valid():
    with SAMPLE.open("rb") as f:
        data = f.read()
    with SAMPLE.open(encoding="cp1252", newline="") as f:
        expected = list(csv.DictReader(f))

    encoding, records, rejections = read_all(data)

    assert encoding == CP1252
    assert rejections == []
    assert [r.urn for r in records] == [row["URN"] for row in expected]


def test_the_sample_keeps_curly_apostrophes_joins_a_quoted_line_break_and_reads_supp_as_blank():
    with SAMPLE.open(encoding="cp1252", newline="") as f:
        expected = {row["URN"]: row for row in csv.DictReader(f)}
    _, records, _ = read_all(SAMPLE.read_bytes())
    by_urn = {r.urn: r for r in records}

    curly = next(u for u, row in expected.items() if "’" in row["EstablishmentName"])
    assert by_urn[curly].name == expected[curly]["EstablishmentName"]
    broken = next(u for u, row in expected.items() if "\n" in row["EstablishmentName"])
    assert by_urn[broken].name == " ".join(expected[broken]["EstablishmentName"].split())
    suppressed = next(u for u, row in expected.items() if row["PercentageFSM"] == "SUPP")
    assert by_urn[suppressed].percentage_fsm is None


def test_line_numbers_count_physical_lines_across_a_quoted_line_break():
    with SAMPLE.open(encoding="cp1252", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        starts = []
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            starts.append((row[0], start))
    _, records, _ = read_all(SAMPLE.read_bytes())
    assert [(r.urn, r.line) for r in records] == starts
    assert starts[-1][1] > len(starts) + 1  # the quoted line break shifts later lines


@pytest.mark.parametrize(
    ("published", "grade"),
    [
        ("Outstanding", "outstanding"),
        ("Good", "good"),
        ("Requires improvement", "requires_improvement"),
        ("requires Improvement", "requires_improvement"),
        ("Inadequate", "inadequate"),
        ("Serious Weaknesses", "serious_weaknesses"),
        ("Special Measures", "special_measures"),
        ("", ""),
        ("Strong standard", ""),
    ],
)
def test_ofsted_ratings_are_kept_verbatim_and_normalised_into_a_grade(published, grade):
    _, [record], rejections = read_all(make_csv([good_row(**{"OfstedRating (name)": published})]))
    assert rejections == []
    assert record.ofsted_rating_published == published
    assert record.ofsted_grade == grade


def test_values_are_converted_for_postgres():
    row = good_row(
        CloseDate="",
        StatutoryLowAge="SUPP",
        SchoolCapacity="",
        PercentageFSM="7",
        Street="  1 High Street ",
    )
    _, [record], _ = read_all(make_csv([row]))
    assert record.open_date == "2012-09-01"
    assert record.close_date is None
    assert record.ofsted_last_inspection == "2024-07-17"
    assert record.statutory_low_age is None
    assert record.statutory_high_age == "11"
    assert record.capacity is None
    assert record.percentage_fsm == "7.0"
    assert record.street == "1 High Street"
    assert record.in_local_authority is True


def test_a_record_of_no_local_authority_is_marked():
    row = good_row(**{"LA (code)": "000", "LA (name)": "Does not apply"})
    _, [record], _ = read_all(make_csv([row]))
    assert record.in_local_authority is False


# --- Encodings ------------------------------------------------------------------------------


def test_a_byte_order_mark_means_utf8():
    data = b"\xef\xbb\xbf" + make_csv([good_row(EstablishmentName="St Mary’s")], encoding="utf-8")
    encoding, [record], rejections = read_all(data)
    assert encoding == UTF8_BOM
    assert rejections == []
    assert record.urn == "100001"
    assert record.name == "St Mary’s"


def test_a_file_that_is_all_valid_utf8_is_utf8():
    data = make_csv([good_row(EstablishmentName="Crème Brûlée Academy")], encoding="utf-8")
    encoding, [record], _ = read_all(data)
    assert encoding == UTF8
    assert record.name == "Crème Brûlée Academy"


def test_a_utf8_file_with_a_bad_line_rejects_only_that_line():
    rows = [
        good_row(URN="100001", EstablishmentName="Crème Academy"),
        good_row(URN="100002", EstablishmentName="Bad Academy"),
        good_row(URN="100003", EstablishmentName="Good Academy"),
    ]
    data = make_csv(rows, encoding="utf-8").replace(b"Bad Academy", b"Bad \xe9 Academy")
    encoding, records, rejections = read_all(data)
    assert encoding == UTF8
    assert [r.urn for r in records] == ["100001", "100003"]
    assert rejections == [Rejection(3, "100002", "contains bytes that are not valid UTF-8")]


def test_a_file_with_no_utf8_sequences_is_cp1252():
    data = make_csv([good_row(EstablishmentName="St Mary’s Crème")], encoding="cp1252")
    encoding, [record], _ = read_all(data)
    assert encoding == CP1252
    assert record.name == "St Mary’s Crème"


def test_bytes_cp1252_leaves_undefined_reject_their_record():
    rows = [good_row(URN="100001"), good_row(URN="100002", Town="Leeds")]
    data = make_csv(rows).replace(b"Leeds", b"Le\x81ds")
    encoding, records, rejections = read_all(data)
    assert encoding == CP1252
    assert [r.urn for r in records] == ["100001"]
    assert rejections == [Rejection(3, "100002", "contains bytes that are not valid cp1252")]


def test_a_utf16_file_is_refused_as_a_whole():
    data = "\ufeffURN,LA (code)\r\n".encode("utf-16-le")
    with pytest.raises(RegisterFileError, match="UTF-16"):
        open_register(io.BytesIO(data))


# --- Header ---------------------------------------------------------------------------------


def test_a_header_without_key_columns_is_refused_naming_them():
    header = [c for c in sample_header() if c not in ("Postcode", "Trusts (code)")]
    with pytest.raises(RegisterFileError) as caught:
        open_register(io.BytesIO(make_csv([good_row()], header=header)))
    assert "Trusts (code), Postcode" in str(caught.value)


def test_a_file_that_is_not_the_register_is_refused():
    with pytest.raises(RegisterFileError, match="does not look like"):
        open_register(io.BytesIO(b"name,age\r\nAlice,30\r\n"))


def test_an_empty_file_is_refused():
    with pytest.raises(RegisterFileError, match="empty"):
        open_register(io.BytesIO(b""))


def test_column_order_may_differ_and_unknown_columns_are_ignored():
    header = ["Something new", *reversed(KEY_COLUMNS), "Locality"]
    _, [record], rejections = read_all(make_csv([good_row(Locality="Oakfield")], header=header))
    assert rejections == []
    assert record.urn == "100001"
    assert record.locality == "Oakfield"
    assert record.open_date is None  # OpenDate is not a column of this file


def test_present_fields_name_only_the_columns_the_file_has():
    header = list(KEY_COLUMNS)
    register = open_register(io.BytesIO(make_csv([good_row()], header=header)))
    register.close()
    assert "locality" not in register.present_fields
    assert {"urn", "name", "postcode"} <= register.present_fields


def test_the_header_of_an_upload_can_be_checked_from_its_first_bytes():
    data = make_csv([good_row()])
    assert check_header(header_of_sample(data[:5000]))["URN"] == 0
    with pytest.raises(RegisterFileError, match="CSV"):
        header_of_sample(b"PK\x03\x04\x00\x00 spreadsheet")


def test_a_stream_that_cannot_seek_is_read():
    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes):
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    register = open_register(io.BufferedReader(OneWay(make_csv([good_row()]))))
    assert [r.urn for r in register] == ["100001"]
    register.close()


# --- Rejections -------------------------------------------------------------------------------


def test_blank_lines_are_skipped():
    data = make_csv([good_row(URN="100001"), good_row(URN="100002")])
    data = data.replace(b"\r\n", b"\r\n\r\n", 2)
    _, records, rejections = read_all(data + b"\r\n")
    assert [r.urn for r in records] == ["100001", "100002"]
    assert rejections == []


def test_a_record_with_the_wrong_number_of_fields_is_rejected():
    data = make_csv([good_row(URN="100001"), good_row(URN="100002")])
    data += b"100003,380,Bradford\r\n"
    _, records, rejections = read_all(data)
    assert len(records) == 2
    assert rejections == [Rejection(4, "100003", "has 3 fields but the header has 140 columns")]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"URN": ""}, "URN is missing"),
        ({"URN": "12345"}, "URN “12345” is not 6 digits"),
        ({"URN": "12345X"}, "URN “12345X” is not 6 digits"),
        ({"EstablishmentName": ""}, "EstablishmentName is missing"),
        ({"LA (code)": "38"}, "LA (code) “38” is not 3 digits"),
        ({"LA (code)": ""}, "LA (code) is missing"),
        ({"OpenDate": "2012-09-01"}, "OpenDate “2012-09-01” is not a date in the form dd-mm-yyyy"),
        ({"CloseDate": "31-02-2020"}, "CloseDate “31-02-2020” is not a real date"),
        ({"OfstedLastInsp": "1/2/2020"}, "OfstedLastInsp “1/2/2020” is not a date"),
        ({"NumberOfPupils": "lots"}, "NumberOfPupils “lots” is not a whole number"),
        ({"StatutoryLowAge": "-1"}, "StatutoryLowAge “-1” is not a whole number"),
        ({"StatutoryHighAge": "99999"}, "StatutoryHighAge “99999” is too large"),
        ({"PercentageFSM": "12,5"}, "PercentageFSM “12,5” is not a number"),
        ({"PercentageFSM": "1000"}, "PercentageFSM “1000” is too large"),
        ({"PhaseOfEducation (name)": "Tertiary"}, "“Tertiary” is not a known phase"),
        ({"EstablishmentStatus (name)": "Maybe"}, "“Maybe” is not a known status"),
        ({"Postcode": "X" * 11}, "Postcode is longer than 10 characters"),
        ({"EstablishmentName": "N" * 256}, "EstablishmentName is longer than 255 characters"),
        ({"OfstedRating (name)": "R" * 61}, "OfstedRating (name) is longer than 60 characters"),
    ],
)
def test_a_bad_value_rejects_its_record_saying_why(overrides, reason):
    rows = [good_row(URN="200001"), good_row(**{"URN": "200002", **overrides})]
    _, records, [rejection] = read_all(make_csv(rows))
    assert [r.urn for r in records] == ["200001"]
    assert rejection.line == 3
    assert reason in rejection.reason


def test_every_problem_of_a_record_is_given():
    row = good_row(OpenDate="32-01-2020", SchoolCapacity="big")
    _, _, [rejection] = read_all(make_csv([row]))
    assert rejection.reason == (
        "SchoolCapacity “big” is not a whole number; OpenDate “32-01-2020” is not a real date"
    )


def test_a_repeated_urn_rejects_the_later_record():
    rows = [good_row(EstablishmentName="First"), good_row(EstablishmentName="Second")]
    _, [record], [rejection] = read_all(make_csv(rows))
    assert record.name == "First"
    assert rejection == Rejection(
        3, "100001", "URN 100001 appears again (first on line 2); the first is kept"
    )


def test_phase_and_status_match_whatever_their_capitals():
    row = good_row(
        **{"PhaseOfEducation (name)": "all-through", "EstablishmentStatus (name)": "OPEN"}
    )
    _, [record], _ = read_all(make_csv([row]))
    assert (record.phase, record.status) == ("All-through", "Open")


def test_a_record_holding_a_nul_character_is_rejected():
    rows = [good_row(URN="100001"), good_row(URN="100002", Town="Leeds")]
    data = make_csv(rows).replace(b"Leeds", b"Le\x00ds")
    _, records, rejections = read_all(data)
    assert [r.urn for r in records] == ["100001"]
    assert rejections == [Rejection(3, "100002", "contains a NUL character")]


def test_the_record_layout_matches_the_read_order():
    from institutions import gias

    assert SchoolRecord._fields == ("line", *gias._READ_ORDER, "ofsted_grade", "in_local_authority")
    assert tuple(gias._PARSERS) == gias._CONVERTED_FIELDS
