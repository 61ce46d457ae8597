"""Reading the files of ``matmis.exports`` back in tests: CSV rows as text, XLSX rows as
the typed values openpyxl reads."""

import csv
import io

from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from matmis.exports import XLSX_CONTENT_TYPE


def body(response) -> bytes:
    """The whole body, streamed or not (reading a stream runs its queries)."""
    assert response.status_code == 200, (response.status_code, response.content[:500])
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = body(response).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def xlsx_rows(response) -> list[list]:
    """Every row of the only sheet, as openpyxl reads it ("" for an empty cell)."""
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    workbook = load_workbook(io.BytesIO(body(response)), read_only=True)
    assert len(workbook.worksheets) == 1
    rows = [["" if value is None else value for value in row] for row in
            workbook.worksheets[0].iter_rows(values_only=True)]  # fmt: skip
    workbook.close()
    return rows


def xlsx_formula_cells(response) -> list[str]:
    """Coordinates of every cell the workbook stores as a formula (none, ever)."""
    workbook = load_workbook(io.BytesIO(body(response)))
    cells = [
        cell.coordinate
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]
    workbook.close()
    return cells


def filename(response) -> str:
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    return disposition.split("filename=", 1)[1].strip('"')


def queries_to_read(client, url: str, read) -> int:
    """How many queries reading the whole file at ``url`` takes (after a first request, as
    the session's first use costs a few of its own)."""
    read(client.get(url))
    with CaptureQueriesContext(connection) as queries:
        read(client.get(url))
    return len(queries)
