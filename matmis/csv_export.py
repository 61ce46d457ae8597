"""CSV files the portal writes for people to open in spreadsheets. Every CSV writer in the
project goes through ``spreadsheet_csv`` or, line by line for a streamed file,
``spreadsheet_csv_lines`` (``tests/foundation/test_csv_export.py`` keeps it so); both guard
every cell with ``spreadsheet_cell``.

Cells hold text from outside (school names from the national register, names people typed):
a cell a spreadsheet could read as a formula is written with a leading apostrophe, which
spreadsheets show as text. A formula can start with ``=``, ``+``, ``-`` or ``@``; with ``;``
where the spreadsheet's list separator is ``;`` (so a cell can open a new argument); and a
leading tab, carriage return or line feed hides any of those from a naive check.
"""

import csv
import io
from collections.abc import Iterable, Iterator

FORMULA_STARTS = ("=", "+", "-", "@", ";", "\t", "\r", "\n")


def spreadsheet_cell(value) -> str:
    """``value`` as CSV text that no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def spreadsheet_csv_lines(rows: Iterable[Iterable]) -> Iterator[str]:
    """``rows`` as CSV text, one line at a time (for a streamed file): a byte-order mark so
    that spreadsheets read it as UTF-8, then each row with every cell guarded and a CRLF line
    end (RFC 4180). ``rows`` is read lazily, one row per line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    yield "\ufeff"
    for row in rows:
        writer.writerow([spreadsheet_cell(cell) for cell in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def spreadsheet_csv(rows: Iterable[Iterable]) -> str:
    """``rows`` as a whole CSV file (see ``spreadsheet_csv_lines``)."""
    return "".join(spreadsheet_csv_lines(rows))
