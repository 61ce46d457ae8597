"""CSV files the portal writes for people to open in spreadsheets. Every CSV writer in the
project goes through ``spreadsheet_csv`` (``tests/foundation/test_csv_export.py`` keeps it
so), which guards every cell with ``spreadsheet_cell``.

Cells hold text from outside (school names from the national register, names people typed):
a cell a spreadsheet could read as a formula is written with a leading apostrophe, which
spreadsheets show as text. A formula can start with ``=``, ``+``, ``-`` or ``@``; with ``;``
where the spreadsheet's list separator is ``;`` (so a cell can open a new argument); and a
leading tab, carriage return or line feed hides any of those from a naive check.
"""

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", ";", "\t", "\r", "\n")


def spreadsheet_cell(value) -> str:
    """``value`` as CSV text that no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def spreadsheet_csv(rows: Iterable[Iterable]) -> str:
    """``rows`` as a whole CSV file, every cell guarded, with a byte-order mark so that
    spreadsheets read it as UTF-8 and CRLF line ends (RFC 4180)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([spreadsheet_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue()
