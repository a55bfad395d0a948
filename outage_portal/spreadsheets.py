"""What every spreadsheet the portal hands out (CSV or XLSX) does to the text and numbers it carries.

Every CSV and XLSX writer routes its cells through `escape_cell`."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A plain negative amount such as "-12.50" is a number, not a formula: it stays as it is.
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def escape_cell(value) -> object:
    """Neutralise spreadsheet formulas: text starting with = + - @ (or a tab or carriage return)
    gets a leading apostrophe, so a counterparty named "=HYPERLINK(…)" stays text when opened.
    Numbers, dates and None pass unchanged (XLSX writes them as numeric cells)."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


# --- Exports a finance reader opens in Excel or WPS -------------------------------------------

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


@dataclass(frozen=True)
class Column:
    """One column of an export: its header in the reader's language, what its values are (text,
    money, date, datetime or count), how wide it opens, and whether the totals row sums it."""

    header: str
    kind: str = "text"
    width: int = 14
    total: bool = False


def _plain(value, kind: str):
    """A cell as CSV text: amounts with two decimals, dates ISO, moments in Beijing time."""
    if value is None:
        return ""
    if kind == "money":
        return f"{Decimal(value):.2f}"
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return escape_cell(str(value))


def csv_response(filename: str, columns: Sequence[Column], rows: Iterable[Sequence]) -> HttpResponse:
    """A UTF-8 CSV with a byte-order mark, so Excel opens the Chinese text as such."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([str(c.header) for c in columns])
    for row in rows:
        writer.writerow([_plain(v, c.kind) for v, c in zip(row, columns, strict=True)])
    return response


def xlsx_bytes(sheet_title: str, columns: Sequence[Column], rows: Iterable[Sequence]) -> bytes:
    """A workbook Excel can sum: amounts are numbers and dates are dates (each with its format), the
    header row is bold and frozen, the columns open wide enough, and a totals row closes the sheet."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(str(sheet_title)[:31])
    for index, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column.width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)

    def cell(value, kind: str, *, font=None):
        if isinstance(value, str):
            value = escape_cell(value)
        elif isinstance(value, datetime):
            value = timezone.localtime(value).replace(tzinfo=None)  # Excel has no time zones: Beijing time
        c = WriteOnlyCell(ws, value=value)
        if kind == "money":
            c.number_format = MONEY_FORMAT
        elif kind == "date":
            c.number_format = DATE_FORMAT
        elif kind == "datetime":
            c.number_format = DATETIME_FORMAT
        if font is not None:
            c.font = font
        return c

    ws.append([cell(str(c.header), "text", font=bold) for c in columns])
    totals = [Decimal(0) if c.total else None for c in columns]
    count = 0
    for row in rows:
        count += 1
        ws.append([cell(v, c.kind) for v, c in zip(row, columns, strict=True)])
        for i, (value, column) in enumerate(zip(row, columns, strict=True)):
            if column.total and value is not None:
                totals[i] += Decimal(value)
    if any(c.total for c in columns):
        label = _("Total (%(n)s rows)") % {"n": count}
        ws.append(
            [
                cell(label if i == 0 else totals[i], c.kind, font=bold) if (i == 0 or c.total) else None
                for i, c in enumerate(columns)
            ]
        )
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def xlsx_response(filename: str, sheet_title: str, columns: Sequence[Column], rows: Iterable[Sequence]):
    response = HttpResponse(xlsx_bytes(sheet_title, columns, rows), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
