"""Every list a person can see, as a file: CSV or XLSX, from one description of the table.

A list describes its file as a ``Table``: the columns (a header and how to read the cell
from a row) and the rows, read lazily from the same selector the page uses, with the page's
filters. ``export_response`` turns it into the response in either format:

- CSV is streamed (``StreamingHttpResponse``) line by line as the rows are read, through
  ``matmis.csv_export`` (the one CSV writer and formula guard). The stream is read after the
  view has returned, outside the request's transaction and its site binding: the rows are
  read inside a transaction bound to the same site again (``matmis.tenancy.site_scope``),
  so Row-Level Security shows them exactly as it did to the page.
- XLSX is written with openpyxl's write-only workbook (one row in memory at a time) to a
  temporary file, which is then sent (``FileResponse``) and deleted when closed. Text cells
  are guarded like CSV cells (``spreadsheet_cell``: no cell is ever a formula); numbers,
  dates and times are typed cells.

Both the page's export links (``/…/export.csv``, ``/…/export.xlsx``: ``export_urls``) and
the API's export endpoints (``ExportApiView``, ``?format=csv`` or ``?format=xlsx``) answer
with ``export_response``; each is declared on the same site kind and method permissions
as the page or list it exports.

Rows read from a queryset should come from ``queryset.iterator(chunk_size=BATCH_SIZE)``;
what the page looks up per page of rows (a status, a summary) is looked up per batch with
``in_batches``: the number of queries grows by one per ``BATCH_SIZE`` rows, not per row.
"""

import datetime
import itertools
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.http import FileResponse, HttpResponse, QueryDict, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from .api import ErrorSerializer, SiteApiView
from .csv_export import spreadsheet_cell, spreadsheet_csv_lines
from .listing import query_string
from .tenancy import site_scope

BATCH_SIZE = 2000
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
# Characters an XLSX file cannot hold (control characters other than tab and line ends).
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SHEET_TITLE_MAX = 31  # the spreadsheet's limit


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"

    @property
    def label(self) -> str:
        return "CSV" if self is ExportFormat.CSV else "Excel (XLSX)"


Cell = str | int | float | Decimal | datetime.date | datetime.datetime | bool | None


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], Cell]  # the cell of this column for one row


@dataclass(frozen=True)
class Table:
    """One list as a file. ``subject`` names the file (``<site>-<subject>-<date>``) and,
    shortened, the sheet; ``rows`` is iterated once, lazily."""

    subject: str
    columns: Sequence[Column]
    rows: Iterable


def in_batches(rows: Iterable, *, prepare: Callable[[list], None], size: int = BATCH_SIZE):
    """``rows`` unchanged, after ``prepare`` has been called with each batch of ``size``
    rows (to look up, in one query per batch, what each row of the batch shows)."""
    for batch in itertools.batched(rows, size):
        batch = list(batch)
        prepare(batch)
        yield from batch


# --- Cells --------------------------------------------------------------------------------


def _local(moment: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def csv_text(value: Cell) -> str:
    """A cell as CSV text: dates as ``2026-12-07``, times (local) as ``2026-12-07 09:30:00``,
    yes/no for booleans, "" for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime.datetime):
        return _local(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _xlsx_cell(sheet, value: Cell):
    """A typed XLSX cell: a number or date as such; any text guarded (never a formula)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return spreadsheet_cell("Yes" if value else "No")
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime.datetime):
        cell = WriteOnlyCell(sheet, value=_local(value).replace(tzinfo=None))
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
        return cell
    if isinstance(value, datetime.date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    return spreadsheet_cell(_NOT_XML.sub("", str(value)))


# --- Files --------------------------------------------------------------------------------


def export_filename(*, site, subject: str, export_format: ExportFormat) -> str:
    """What and when: ``oak-ridge-trust-students-2026-12-07.xlsx``."""
    return f"{site.slug}-{subject}-{timezone.localdate().isoformat()}.{export_format}"


def _csv_stream(table: Table, site_id: int) -> Iterator[str]:
    # Read after the view returned: bind a transaction to the site again (module docstring).
    with transaction.atomic(), site_scope(site_id):
        header = [column.header for column in table.columns]
        rows = ([csv_text(column.value(row)) for column in table.columns] for row in table.rows)
        yield from spreadsheet_csv_lines(itertools.chain([header], rows))


def _csv_response(table: Table, *, site, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_csv_stream(table, site.pk), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def _xlsx_response(table: Table, *, filename: str) -> FileResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=table.subject[:_SHEET_TITLE_MAX])
    sheet.freeze_panes = "A2"
    for index, column in enumerate(table.columns):
        width = max(12, min(40, len(column.header) + 2))
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    bold = Font(bold=True)
    header = []
    for column in table.columns:
        cell = WriteOnlyCell(sheet, value=spreadsheet_cell(column.header))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in table.rows:
        sheet.append([_xlsx_cell(sheet, column.value(row)) for column in table.columns])
    file = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - FileResponse closes it
    workbook.save(file)
    file.seek(0)
    return FileResponse(file, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE)


def export_response(table: Table, *, site, export_format: ExportFormat) -> HttpResponse:
    """``table`` as a file to download, named by ``export_filename``; never cached."""
    filename = export_filename(site=site, subject=table.subject, export_format=export_format)
    if export_format is ExportFormat.XLSX:
        response = _xlsx_response(table, filename=filename)
    else:
        response = _csv_response(table, site=site, filename=filename)
    response["Cache-Control"] = "no-store"
    return response


# --- Addresses: the page's links, the routes, the API ---------------------------------------


@dataclass(frozen=True)
class ExportLink:
    label: str
    url: str
    export_format: str


def export_links(url_name: str, query: QueryDict) -> list[ExportLink]:
    """Links to the list's files in every format (``url_name`` without ``-csv``), keeping
    the page's query string except its page number."""
    suffix = query_string(query, page=None)
    suffix = "" if suffix == "?" else suffix
    return [
        ExportLink(
            export_format.label, reverse(f"{url_name}-{export_format}") + suffix, export_format
        )
        for export_format in ExportFormat
    ]


class ExportPage:
    """Mixed into a page view (a ``SitePageView`` of the list's own kind and permissions)
    that answers with the list as a file in ``export_format``, set by ``export_urls``."""

    export_format: ExportFormat = ExportFormat.CSV


def export_urls(view_class: type[ExportPage], *, name: str, prefix: str = "") -> list:
    """The routes ``<prefix>export.csv`` and ``<prefix>export.xlsx`` (named ``<name>-csv``
    and ``<name>-xlsx``) of a page view that answers with its ``export_format``."""
    return [
        path(
            f"{prefix}export.{export_format}",
            view_class.as_view(export_format=export_format),
            name=f"{name}-{export_format}",
        )
        for export_format in ExportFormat
    ]


class CsvRenderer(BaseRenderer):
    """For content negotiation and the schema only: export views answer with the file."""

    media_type = "text/csv"
    format = ExportFormat.CSV.value
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        raise AssertionError("Export views answer with export_response, errors in JSON.")


class XlsxRenderer(CsvRenderer):
    media_type = XLSX_CONTENT_TYPE
    format = ExportFormat.XLSX.value
    charset = None


class ExportApiView(SiteApiView):
    """An API endpoint that answers with a list as a file: ``?format=csv`` (the default) or
    ``?format=xlsx``; an unknown format is a 404. Errors keep the API's JSON error shape."""

    renderer_classes = [CsvRenderer, XlsxRenderer]

    @property
    def export_format(self) -> ExportFormat:
        return ExportFormat(self.request.accepted_renderer.format)

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response):  # an error: in the API's error shape, as JSON
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


def export_schema(*, operation_id: str, parameters: Sequence = (), **kwargs):
    """The OpenAPI description of an ``ExportApiView``'s GET: the ``format`` parameter,
    the file in either format, and errors in the API's JSON error shape."""
    errors = {(status, JSONRenderer.media_type): ErrorSerializer for status in (400, 403, 404)}
    return extend_schema(
        operation_id=operation_id,
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=[export_format.value for export_format in ExportFormat],
                description="csv (the default) or xlsx.",
            ),
            *parameters,
        ],
        responses={
            (200, CsvRenderer.media_type): OpenApiTypes.BINARY,
            (200, XlsxRenderer.media_type): OpenApiTypes.BINARY,
            **errors,
        },
        **kwargs,
    )
