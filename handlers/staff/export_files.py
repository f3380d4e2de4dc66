"""Files staff file away: readable names, typed spreadsheet cells, and no formula injection.

A resident's name is user input. A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
return is run as a formula by Excel and LibreOffice (CSV injection), so such text gets a leading
apostrophe in the CSV, and in the .xlsx is stored as text with Excel's "quote prefix" (shown
as typed, never evaluated).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime

from handlers.filenames import dated_name, slug

__all__ = ["XLSX", "Cell", "dated_name", "neutralised", "slug", "to_csv", "to_xlsx"]

Cell = str | int | float | datetime | None

BOM = "\ufeff"  # Excel reads UTF-8 only with it
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATETIME_FORMAT = "%Y-%m-%d %H:%M"
XLSX_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


def risky(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def neutralised(text: str) -> str:
    """Text as a CSV cell: one that would start a formula gets a leading apostrophe."""
    return "'" + text if risky(text) else text


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(DATETIME_FORMAT)
    if isinstance(value, int | float):
        return str(value)  # a number is no formula, "-2" included
    return neutralised(value)


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralised(h) for h in header])
    writer.writerows([_csv_text(v) for v in row] for row in rows)
    return (BOM + out.getvalue()).encode("utf-8")


def to_xlsx(header: list[str], rows: list[list[Cell]], title: str) -> bytes:
    """One sheet: the header row frozen and bold, columns wide enough for their text, numbers
    as numbers and times as Excel date-times (local, WITA, as the header says)."""
    from openpyxl import Workbook  # imported here: only exports need it
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    # Text is cleaned where it enters (handlers/textnorm.py), but rows stored before that, or
    # imported content, may still hold control characters, which openpyxl refuses outright.
    rows = [
        [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in r] for r in rows
    ]
    title = ILLEGAL_CHARACTERS_RE.sub("", title)
    book = Workbook()
    sheet = book.active
    sheet.title = "".join(c for c in title if c not in "[]:*?/\\")[:31] or "Peserta"
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [len(h) for h in header]
    for row in rows:
        sheet.append([v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row])
        for index, (cell, value) in enumerate(zip(sheet[sheet.max_row], row, strict=True)):
            if isinstance(value, datetime):
                cell.number_format = XLSX_DATETIME_FORMAT
                widths[index] = max(widths[index], len(XLSX_DATETIME_FORMAT))
            elif isinstance(value, str):
                if risky(value):
                    cell.value = value
                    cell.data_type = "s"  # text, never a formula
                    cell.quotePrefix = True
                widths[index] = max(widths[index], len(value))
            elif value is not None:
                widths[index] = max(widths[index], len(str(value)))
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(width + 2, 60)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
