"""matmis.csv_export: every cell of every CSV the portal writes is guarded the same way."""

import csv
import io
import re
from pathlib import Path

import pytest
from django.conf import settings

from matmis.csv_export import spreadsheet_cell, spreadsheet_csv, spreadsheet_csv_lines

# Moved here from tests/analytics/test_export.py (test_safe_cell) with the guard itself.


def test_spreadsheet_cell():
    assert spreadsheet_cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert spreadsheet_cell("Oak Ridge") == "Oak Ridge"
    assert spreadsheet_cell("12.5") == "12.5"
    assert spreadsheet_cell(None) == ""
    assert spreadsheet_cell("") == ""


@pytest.mark.parametrize(
    "text",
    ["=1+1", "+1", "-1", "@SUM(A1)", ";=1+1", "; Oak", "\t=1", "\r=1", "\n=1"],
)
def test_every_formula_start_is_written_as_text(text):
    assert spreadsheet_cell(text) == f"'{text}"


def test_a_semicolon_inside_a_cell_is_left_alone():
    assert spreadsheet_cell("Oak; Ridge") == "Oak; Ridge"


def test_the_file_guards_every_cell_and_is_read_back_as_written():
    text = spreadsheet_csv([["Name", "Rate"], [";=cmd|' /C calc'!A0", 12.5], [None, "-"]])
    assert text.startswith("\ufeff")
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows == [["Name", "Rate"], ["';=cmd|' /C calc'!A0", "12.5"], ["", "'-"]]


def test_no_csv_is_written_anywhere_else():
    """One guard for every export: no module outside matmis/csv_export.py writes CSV itself
    (bench/ and tests/ write test data, not exports)."""
    root = Path(settings.BASE_DIR)
    writer = re.compile(r"csv\.(writer|DictWriter)\b")
    packages = [path.parent for path in root.glob("*/__init__.py")]
    assert {"matmis", "analytics", "portal"} <= {package.name for package in packages}
    offenders = [
        str(path.relative_to(root))
        for package in packages
        if package.name not in {"bench", "tests"}
        for path in package.rglob("*.py")
        if path.relative_to(root) != Path("matmis/csv_export.py")
        and writer.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], f"write CSV through matmis.csv_export.spreadsheet_csv: {offenders}"


def test_the_streamed_file_is_the_whole_file_line_by_line():
    rows = [["Name", "Rate"], ["=1+1", 12.5], [None, "Oak, Ridge"]]
    lines = list(spreadsheet_csv_lines(iter(rows)))
    assert lines == ["\ufeff", "Name,Rate\r\n", "'=1+1,12.5\r\n", ',"Oak, Ridge"\r\n']
    assert "".join(lines) == spreadsheet_csv(rows)
