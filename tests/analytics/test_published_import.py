"""Importing published (DfE) figures from Explore Education Statistics files."""

import codecs
import csv
import io
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analytics.models import PublishedFigures
from analytics.published_import import (
    UTF8,
    UTF8_BOM,
    PublishedFileError,
    published_figures_import,
    read_published,
)
from bench.published import (
    ABSENCE_INDICATORS,
    SUSPENSIONS_INDICATORS,
    absence_csv,
    academic_years,
    national_values,
    suspensions_csv,
    write_files,
)
from tests.institutions.factories import SchoolFactory

pytestmark = pytest.mark.django_db

YEARS = academic_years("202425", 2)
SCHOOLS = [
    ("100001", 210, "Primary"),
    ("100002", 1100, "Secondary"),
    ("100003", 420, "Primary"),
    ("100004", 60, "Nursery"),
    ("100005", 1500, "All-through"),
    ("100006", 900, "Secondary"),
]
UNKNOWN = ("199999", 300, "Primary")  # in the files, not in the register
# EES column -> PublishedFigures field, written out here rather than taken from the importer.
FIELDS = {
    "sess_possible": "sessions_possible",
    "sess_overall": "sessions_overall_absence",
    "sess_overall_percent": "overall_absence_rate",
    "enrolments": "enrolments",
    "enrolments_pa_10_exact": "persistent_absentees",
    "enrolments_pa_10_exact_percent": "persistent_absence_rate",
    "headcount": "headcount",
    "susp": "suspensions",
    "susp_rate": "suspension_rate",
    "perm_excl": "permanent_exclusions",
    "perm_excl_rate": "permanent_exclusion_rate",
}
ABSENCE_FIELDS = [FIELDS[c] for c in ABSENCE_INDICATORS if c in FIELDS]
SUSPENSION_FIELDS = [FIELDS[c] for c in SUSPENSIONS_INDICATORS if c in FIELDS]
RATES = {"sess_overall_percent", "enrolments_pa_10_exact_percent", "susp_rate", "perm_excl_rate"}
KEY = "time_period,time_identifier,geographic_level,school_urn"


@pytest.fixture
def schools():
    return {urn: SchoolFactory(urn=urn, phase=phase) for urn, _, phase in SCHOOLS}


def absence_file(seed: int = 1) -> bytes:
    return absence_csv([*SCHOOLS, UNKNOWN], years=YEARS, seed=seed).encode()


def suspensions_file(seed: int = 1) -> bytes:
    return suspensions_csv([*SCHOOLS, UNKNOWN], years=YEARS, seed=seed).encode()


def run(data: bytes):
    return published_figures_import(stream=io.BytesIO(data))


def expected_from(text: str) -> dict[tuple[str | None, str], dict]:
    """(URN or None for England, year) -> field -> value, read from the CSV text with the
    csv module and the markers' meaning as the DfE documents it."""
    expected = {}
    for row in csv.DictReader(io.StringIO(text)):
        urn = (row["school_urn"] or None) if row["geographic_level"] == "School" else None
        values = {}
        for column, field in FIELDS.items():
            if column not in row:
                continue
            raw = row[column]
            if raw.lower() in {"z", "c", "x", "u", "low", ":", "supp", "na", ""}:
                values[field] = None
            elif column in RATES:
                values[field] = Decimal(raw)
            else:
                values[field] = int(raw)
        expected[(urn, row["time_period"])] = values
    return expected


def stored(fields: list[str]) -> dict[tuple[str | None, str], dict]:
    return {
        (f.school.urn if f.school else None, f.time_period): {n: getattr(f, n) for n in fields}
        for f in PublishedFigures.objects.select_related("school")
    }


def snapshot() -> list[dict]:
    return list(PublishedFigures.objects.order_by("id").values())


def ees(*rows: str, header: str = f"{KEY},sess_possible,sess_overall_percent,susp") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


# --- The generated sample ------------------------------------------------------------------


def test_the_generated_absence_file_is_stored_as_the_csv_says(schools):
    text = absence_csv([*SCHOOLS, UNKNOWN], years=YEARS)
    result = run(text.encode())

    expected = expected_from(text)
    del expected[("199999", "202324")], expected[("199999", "202425")]
    assert stored(ABSENCE_FIELDS) == expected
    assert result.rows_read == len(YEARS) * (len(SCHOOLS) + 2)
    assert result.schools_written == len(YEARS) * len(SCHOOLS)
    assert result.national_rows == len(YEARS)
    assert result.unknown_schools == len(YEARS)
    assert result.skipped == {"unknown school": 2}
    assert (result.rejected, result.duplicates) == ([], [])
    assert result.encoding == UTF8
    assert set(result.fields) == set(ABSENCE_FIELDS)
    # Nothing of the other release was written.
    assert not PublishedFigures.objects.exclude(suspensions=None).exists()


def test_the_generated_suspensions_file_is_stored_as_the_csv_says(schools):
    text = suspensions_csv([*SCHOOLS, UNKNOWN], years=YEARS, seed=7)
    run(text.encode())
    expected = expected_from(text)
    del expected[("199999", "202324")], expected[("199999", "202425")]
    assert stored(SUSPENSION_FIELDS) == expected


def test_england_rows_hold_the_national_figures_the_generator_used(schools):
    run(absence_file())
    run(suspensions_file())
    national = national_values(years=YEARS)
    for year in YEARS:
        england = PublishedFigures.objects.get(school=None, time_period=year)
        for column, field in FIELDS.items():
            value = national[year][column]
            assert getattr(england, field) == (Decimal(value) if column in RATES else int(value))


def test_the_generated_rates_agree_with_the_counts_and_the_phase():
    texts = [absence_csv(SCHOOLS, years=YEARS), suspensions_csv(SCHOOLS, years=YEARS)]
    phases = {urn: phase for urn, _, phase in SCHOOLS}
    rows = [row for text in texts for row in csv.DictReader(io.StringIO(text))]
    assert len(rows) == 2 * len(YEARS) * (len(SCHOOLS) + 1)
    for row in rows:
        phase = phases.get(row["school_urn"], "England")
        pairs = [
            ("sess_overall", "sess_possible", "sess_overall_percent"),
            ("enrolments_pa_10_exact", "enrolments", "enrolments_pa_10_exact_percent"),
            ("susp", "headcount", "susp_rate"),
            ("perm_excl", "headcount", "perm_excl_rate"),
        ]
        for part, whole, rate in pairs:
            if not (row.get(part) or "").isdigit() or not row[whole].isdigit():
                continue
            exact = Decimal(row[part]) * 100 / Decimal(row[whole])
            assert abs(Decimal(row[rate]) - exact) <= Decimal("0.005"), (row, rate)
        if row.get("sess_overall_percent", "z") != "z":
            overall = Decimal(row["sess_overall_percent"])
            low, high = {"Primary": (4, 6), "England": (6, 8)}.get(phase, (7, 9))
            assert low - Decimal("0.01") <= overall <= high + Decimal("0.01"), row
            assert 10 <= Decimal(row["enrolments_pa_10_exact_percent"]) <= 25 or (
                row["enrolments_pa_10_exact_percent"] == "x"
            )
        if row.get("susp_rate", "z") != "z" and phase == "Primary":
            assert Decimal(row["susp_rate"]) <= 2


def test_the_generator_is_deterministic_and_per_school():
    assert absence_file(3) == absence_file(3)
    assert absence_file(3) != absence_file(4)
    one = absence_csv(SCHOOLS[:1], years=YEARS).splitlines()
    many = absence_csv(SCHOOLS, years=YEARS).splitlines()
    assert set(one) <= set(many)
    # Markers appear, as in real files.
    text = absence_csv(SCHOOLS, years=YEARS) + suspensions_csv(SCHOOLS, years=YEARS)
    assert ",z," in text


def test_academic_years():
    assert academic_years("202425", 3) == ["202223", "202324", "202425"]
    assert academic_years("200001", 2) == ["199900", "200001"]


# --- Markers, merging, re-importing ----------------------------------------------------------


@pytest.mark.parametrize("marker", ["z", "c", "x", "u", "low", ":", "SUPP", "NA", "", "C", "Low"])
def test_markers_store_null(schools, marker):
    run(ees(f"202425,Academic year,School,100001,{marker},{marker},{marker}"))
    figures = PublishedFigures.objects.get(school=schools["100001"])
    assert (figures.sessions_possible, figures.overall_absence_rate, figures.suspensions) == (
        None,
        None,
        None,
    )


def test_absence_then_suspensions_merge_without_blanking(schools):
    run(absence_file())
    after_absence = stored(ABSENCE_FIELDS)
    run(suspensions_file())
    assert stored(ABSENCE_FIELDS) == after_absence
    expected = expected_from(suspensions_csv([*SCHOOLS, UNKNOWN], years=YEARS))
    del expected[("199999", "202324")], expected[("199999", "202425")]
    assert stored(SUSPENSION_FIELDS) == expected

    # And the other way round: a new absence file updates absence only.
    run(absence_file(seed=2))
    assert stored(SUSPENSION_FIELDS) == expected
    assert stored(ABSENCE_FIELDS) != after_absence
    assert PublishedFigures.objects.count() == len(YEARS) * (len(SCHOOLS) + 1)


def test_a_file_with_one_figure_writes_that_figure_only(schools):
    run(absence_file())
    before = stored(ABSENCE_FIELDS)
    run(ees("202425,Academic year,School,100001,123", header=f"{KEY},sess_possible"))
    after = stored(ABSENCE_FIELDS)
    assert after[("100001", "202425")]["sessions_possible"] == 123
    after[("100001", "202425")]["sessions_possible"] = before[("100001", "202425")][
        "sessions_possible"
    ]
    assert after == before


def test_importing_again_changes_nothing(schools):
    first = run(absence_file())
    rows = snapshot()
    second = run(absence_file())
    again = snapshot()
    assert [r["id"] for r in again] == [r["id"] for r in rows]
    strip = [{k: v for k, v in r.items() if k != "imported_at"} for r in rows]
    assert [{k: v for k, v in r.items() if k != "imported_at"} for r in again] == strip
    assert (second.schools_written, second.national_rows) == (
        first.schools_written,
        first.national_rows,
    )


def test_a_school_can_be_imported_after_it_joins_the_register():
    run(absence_file())
    assert PublishedFigures.objects.filter(school__isnull=False).count() == 0
    assert PublishedFigures.objects.filter(school=None).count() == len(YEARS)
    SchoolFactory(urn="100001")
    result = run(absence_file())
    assert result.schools_written == len(YEARS)
    assert result.unknown_schools == len(YEARS) * len(SCHOOLS)


# --- Rows skipped, rejected or given twice ----------------------------------------------------


def test_other_periods_and_levels_are_skipped_and_counted(schools):
    result = run(
        ees(
            "202425,Academic year,School,100001,100,5,1",
            "202425,Autumn term,School,100001,100,5,1",
            "202425,Autumn term,National,,100,5,1",
            "202425,Spring term,School,100001,100,5,1",
            "202425,Academic year,Local authority,,100,5,1",
            "202425,Academic year,Regional,,100,5,1",
            "202425,Academic year,Regional,,100,5,1",
            "202425,academic year,NATIONAL,,200,5,1",
        )
    )
    assert result.skipped == {
        "time_identifier “Autumn term”": 2,
        "geographic_level “Regional”": 2,
        "time_identifier “Spring term”": 1,
        "geographic_level “Local authority”": 1,
    }
    assert (result.schools_written, result.national_rows, result.rejected) == (1, 1, [])
    assert PublishedFigures.objects.get(school=None).sessions_possible == 200


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("202426,Academic year,School,100001,1,1,1", "time_period “202426” is not an academic"),
        ("2024/25,Academic year,School,100001,1,1,1", "time_period “2024/25” is not an academic"),
        ("20242,Academic year,School,100001,1,1,1", "time_period “20242” is not an academic"),
        (",Academic year,School,100001,1,1,1", "time_period is missing"),
        ("202425,Academic year,School,10001,1,1,1", "school_urn “10001” is not 6 digits"),
        ("202425,Academic year,School,,1,1,1", "school_urn is missing"),
        ("202425,Academic year,School,１００００１,1,1,1", "is not 6 digits"),
        ("202425,,School,100001,1,1,1", "time_identifier is missing"),
        ("202425,Academic year,,100001,1,1,1", "geographic_level is missing"),
        ("202425,Academic year,School,100001,-1,1,1", "sess_possible “-1” is negative"),
        ("202425,Academic year,School,100001,1.5,1,1", "sess_possible “1.5” is not a whole"),
        ("202425,Academic year,School,100001,1e3,1,1", "sess_possible “1e3” is not a whole"),
        ("202425,Academic year,School,100001,+1,1,1", "sess_possible “+1” is not a whole"),
        ("202425,Academic year,School,100001,1,100.01,1", "“100.01” is more than 100"),
        ("202425,Academic year,School,100001,1,-0.5,1", "“-0.5” is negative"),
        ("202425,Academic year,School,100001,1,=1+1,1", "sess_overall_percent “=1+1” is not a"),
        (
            "202425,Academic year,School,100001,1,\"=cmd|' /C calc'!A0\",1",
            "sess_overall_percent “=cmd|' /C calc'!A0” is not a number",
        ),
        ("202425,Academic year,School,100001,1,@SUM(1),1", "“@SUM(1)” is not a number"),
        ("202425,Academic year,School,100001,1,1,-1)", "susp “-1)” is not a whole number"),
        ("202425,Academic year,School,100001,1,1,3000000000", "susp “3000000000” is too large"),
        ("202425,Academic year,School,100001,1,1", "has 6 fields but the header has 7 columns"),
    ],
)
def test_invalid_rows_are_rejected_with_their_line_and_reason(schools, row, reason):
    result = run(ees("202425,Academic year,School,100002,1,1,1", row))
    [rejection] = result.rejected
    assert rejection.line == 3
    assert reason in rejection.reason
    assert result.schools_written == 1
    assert list(PublishedFigures.objects.values_list("school__urn", flat=True)) == ["100002"]


def test_several_problems_in_a_row_are_all_given(schools):
    result = run(ees("2024,Academic year,School,1,x1,200,=2"))
    [rejection] = result.rejected
    assert rejection.reason == (
        "time_period “2024” is not an academic year such as 202425; "
        "school_urn “1” is not 6 digits; "
        "sess_possible “x1” is not a whole number; "
        "sess_overall_percent “200” is more than 100 (it is a percentage); "
        "susp “=2” is not a whole number"
    )


def test_rates_per_100_may_pass_100_and_are_rounded_to_2_places(schools):
    header = f"{KEY},susp_rate,perm_excl_rate,sess_overall_percent"
    run(ees("202425,Academic year,School,100001,140.555, .5,7.004", header=header))
    figures = PublishedFigures.objects.get()
    assert figures.suspension_rate == Decimal("140.56")
    assert figures.permanent_exclusion_rate == Decimal("0.50")
    assert figures.overall_absence_rate == Decimal("7.00")


def test_the_later_of_two_rows_for_a_school_and_year_wins_and_is_reported(schools):
    result = run(
        ees(
            "202425,Academic year,School,100001,100,5,1",
            "202425,Academic year,National,,900,5,1",
            "202324,Academic year,School,100001,50,5,1",
            "202425,Academic year,School,100001,200,6,2",
            "202425,Academic year,National,,999,5,1",
        )
    )
    assert [(d.line, d.replaced_line, d.urn, d.time_period) for d in result.duplicates] == [
        (5, 2, "100001", "202425"),
        (6, 3, "", "202425"),
    ]
    assert (result.schools_written, result.national_rows) == (2, 1)
    figures = PublishedFigures.objects.get(school=schools["100001"], time_period="202425")
    assert (figures.sessions_possible, figures.suspensions) == (200, 2)
    assert PublishedFigures.objects.get(school=None).sessions_possible == 999


def test_unknown_columns_are_ignored_and_headers_are_read_loosely(schools):
    header = " Time_Period ,time_identifier,geographic_level,school_urn,school_name,SUSP,other"
    result = run(ees("202425,Academic year,School,100001,Oak,3,=cmd", header=header))
    assert result.fields == ("suspensions",)
    assert PublishedFigures.objects.get().suspensions == 3


def test_encodings(schools):
    header = f"{KEY},school_name,susp"
    row = "202425,Academic year,School,100001,École Saint-Jean’s,4"
    for encoding, data, expected in [
        (UTF8, ees(row, header=header), UTF8),
        (UTF8_BOM, codecs.BOM_UTF8 + ees(row, header=header), UTF8_BOM),
        ("cp1252", (f"{header}\r\n{row}\r\n").encode("cp1252"), "cp1252"),
    ]:
        result = run(data)
        assert (result.encoding, result.rejected, result.schools_written) == (expected, [], 1), (
            encoding
        )


def test_a_file_of_england_only_or_of_no_rows_is_not_an_error(schools):
    result = run(
        ees("202425,Academic year,National,,z,z,z", "202324,Academic year,National,,1,2,3")
    )
    assert (result.national_rows, result.schools_written, result.rejected) == (2, 0, [])
    assert PublishedFigures.objects.get(time_period="202425").sessions_possible is None
    empty = run(ees())
    assert (empty.rows_read, empty.national_rows, empty.schools_written) == (0, 0, 0)
    assert PublishedFigures.objects.count() == 2


def test_blank_lines_are_not_rows(schools):
    result = run(ees("", "202425,Academic year,School,100001,1,1,1", ",,,,,,", ""))
    assert (result.rows_read, result.schools_written, result.rejected) == (1, 1, [])


# --- Files refused as a whole -------------------------------------------------------------


REFUSED = [
    (b"", "The file is empty"),
    (
        b"\xff\xfe" + ees("202425,Academic year,School,100001,1,1,1").decode().encode("utf-16-le"),
        "UTF-16",
    ),
    (ees("202425,Academic year,School,100001,1,1,1").decode().encode("utf-16-be"), "UTF-16"),
    (b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "spreadsheet"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "spreadsheet"),
    (b"\x00\x01\x02binary\x00,\x00\n", "binary"),
    (b"just one column\n202425\n", "not a CSV data file"),
    (b"URN,EstablishmentName\n100001,Oak\n", "none of the columns time_period"),
    (
        ees(
            "202425,Academic year,100001,1,1,1",
            header="time_period,time_identifier,school_urn,sess_possible,sess_overall_percent,susp",
        ),
        "missing these columns: geographic_level",
    ),
    (
        ees("202425,Academic year,School,100001,Oak", header=f"{KEY},school_name"),
        "none of the figures matmis imports",
    ),
    (
        ees("202425,Academic year,School,100001,1,2", header=f"{KEY},susp,SUSP"),
        "The column susp appears more than once",
    ),
    (
        "time_period,time_\udc81,geographic_level,school_urn,susp\n".encode(
            errors="surrogateescape"
        ),
        r"first line \(the column names\) holds characters",
    ),
    (
        ees(
            "202425,Academic year,School,100001,1,1,1",
            f'202425,Academic year,School,100002,1,1,"{"9" * 1_000_000}"',
        ),
        "Line 3 cannot be read as CSV",
    ),
]


@pytest.mark.parametrize(("data", "message"), REFUSED)
def test_a_file_refused_as_a_whole_changes_nothing(schools, data, message):
    run(absence_file())
    run(suspensions_file())
    before = snapshot()
    with pytest.raises(PublishedFileError, match=message):
        run(data)
    assert snapshot() == before


def test_the_reader_does_not_need_a_seekable_stream():
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes):
            self.data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = self.data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    reading = read_published(io.BufferedReader(Pipe(absence_file())))
    assert reading.rows_read == len(YEARS) * (len(SCHOOLS) + 2)
    assert len(reading.rows) == reading.rows_read


# --- The command -----------------------------------------------------------------------


def import_published(*paths) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_published", *map(str, paths), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_imports_each_file_and_prints_a_summary(schools, tmp_path):
    absence = tmp_path / "absence.csv"
    absence.write_bytes(absence_file())
    suspensions = tmp_path / "suspensions.csv"
    suspensions.write_bytes(
        suspensions_file()
        + b"202425,Autumn term,School,E92000001,England,100001,x,1,1,1,1,1,1,1\n"
        + b"202425,Academic year,School,E92000001,England,100001,x,1,1,1,=1+1,1,1,1\n"
    )
    output, errors = import_published(absence, suspensions)
    assert errors == ""
    assert f"{absence}: read as UTF-8.\n" in output
    assert "  Rows read: 16\n" in output
    assert "  Schools written: 12\n" in output
    assert "  National rows written: 2\n" in output
    assert "  Skipped: 3\n    2 unknown school\n    1 time_identifier “Autumn term”\n" in output
    assert "  Rows read: 18\n" in output
    assert "  Rejected: 1\n    line 19 (URN 100001): susp “=1+1” is not a whole number\n" in output
    assert "  Given twice: 0\n" in output
    assert PublishedFigures.objects.exclude(sessions_possible=None).exists()
    assert PublishedFigures.objects.exclude(suspensions=None).exists()


def test_the_generated_files_import_with_the_command(schools, tmp_path):
    absence, suspensions = write_files(tmp_path, SCHOOLS, years=YEARS, seed=5)
    output, _ = import_published(absence, suspensions)
    assert output.count(f"  Schools written: {len(YEARS) * len(SCHOOLS)}\n") == 2
    expected = expected_from(suspensions.read_text(encoding="utf-8"))
    assert stored(SUSPENSION_FIELDS) == expected


def test_the_command_reports_a_refused_file_and_imports_the_others(schools, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"URN,EstablishmentName\n")
    good = tmp_path / "good.csv"
    good.write_bytes(absence_file())
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match=r"2 of 3 files not imported: .*bad\.csv, .*missing"):
        call_command(
            "import_published",
            str(bad),
            str(good),
            str(tmp_path / "missing"),
            stdout=out,
            stderr=err,
        )
    assert f"{bad} was not imported: The file does not look like" in err.getvalue()
    assert "missing: cannot be read" in err.getvalue()
    assert f"{good}: read as UTF-8." in out.getvalue()
    assert PublishedFigures.objects.count() == len(YEARS) * (len(SCHOOLS) + 1)


def test_the_exit_status_is_non_zero_when_a_file_is_refused(tmp_path):
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    bad = tmp_path / "bad.csv"
    bad.write_bytes("time_period,susp\n".encode("utf-16"))
    refused = subprocess.run(
        [sys.executable, str(manage), "import_published", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 1
    assert "UTF-16" in refused.stderr
    assert "1 of 1 files not imported" in refused.stderr
