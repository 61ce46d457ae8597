"""matmis.exports: one table description, two formats, the same guard."""

import datetime
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from matmis.exports import (
    Column,
    ExportFormat,
    Table,
    csv_text,
    export_response,
    in_batches,
)
from tests.exports import csv_rows, xlsx_formula_cells, xlsx_rows

pytestmark = pytest.mark.django_db

MOMENT = timezone.make_aware(datetime.datetime(2026, 7, 1, 8, 30), datetime.UTC)
ROW = {
    "name": '=HYPERLINK("http://x")',
    "count": 3,
    "rate": Decimal("12.5"),
    "day": datetime.date(2026, 12, 7),
    "at": MOMENT,
    "yes": True,
    "none": None,
}
TABLE_COLUMNS = [Column(key.title(), lambda row, key=key: row[key]) for key in ROW]


def response(trust, export_format):
    return export_response(
        Table("things", TABLE_COLUMNS, [ROW]), site=trust, export_format=export_format
    )


def test_csv_cells_are_text_a_spreadsheet_reads_back(trust):
    header, row = csv_rows(response(trust, ExportFormat.CSV))
    assert header == ["Name", "Count", "Rate", "Day", "At", "Yes", "None"]
    # London summer time: 08:30 UTC is 09:30 local.
    assert row == ["'=HYPERLINK(\"http://x\")", "3", "12.5", "2026-12-07", "2026-07-01 09:30:00",
                   "Yes", ""]  # fmt: skip


def test_xlsx_cells_are_typed_and_no_cell_is_a_formula(trust):
    file = response(trust, ExportFormat.XLSX)
    content = b"".join(file.streaming_content)
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook.active
    assert sheet.title == "things"
    assert sheet.freeze_panes == "A2"
    name, count, rate, day, at, yes, none = next(sheet.iter_rows(min_row=2))
    assert (name.data_type, name.value) == ("s", '\'=HYPERLINK("http://x")')
    assert (count.data_type, count.value) == ("n", 3)
    assert (rate.data_type, rate.value) == ("n", 12.5)
    assert day.is_date and day.number_format == "yyyy-mm-dd"
    assert at.value == datetime.datetime(2026, 7, 1, 9, 30)  # local time, as on the page
    assert yes.value == "Yes"
    assert none.value is None
    assert next(sheet.iter_rows(max_row=1))[0].font.b


def test_every_formula_start_stays_text_in_xlsx(trust):
    starts = ["=1+1", "+1", "-1", "@SUM(A1)", ";=1", "\t=1", "\r=1", "\n=1"]
    table = Table("guard", [Column("Text", lambda text: text)], starts)
    file = export_response(table, site=trust, export_format=ExportFormat.XLSX)
    content = b"".join(file.streaming_content)
    workbook = load_workbook(io.BytesIO(content))
    values = [row[0].value for row in workbook.active.iter_rows(min_row=2)]
    # XML reads a carriage return back as a line feed: still after the apostrophe.
    assert values == [f"'{text}".replace("\r", "\n") for text in starts]
    assert all(row[0].data_type == "s" for row in workbook.active.iter_rows())


def test_xlsx_helpers_agree(trust):
    assert xlsx_formula_cells(response(trust, ExportFormat.XLSX)) == []
    assert xlsx_rows(response(trust, ExportFormat.XLSX))[1][1] == 3


def test_csv_text():
    assert csv_text(None) == ""
    assert csv_text(False) == "No"
    assert csv_text(Decimal("1.0")) == "1.0"


def test_in_batches_prepares_each_batch_once_before_its_rows():
    seen = []
    rows = list(in_batches(range(5), prepare=lambda batch: seen.append(list(batch)), size=2))
    assert rows == [0, 1, 2, 3, 4]
    assert seen == [[0, 1], [2, 3], [4]]
