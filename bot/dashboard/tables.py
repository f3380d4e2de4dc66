"""The dashboard's tables, built once and shown as HTML, CSV or XLSX alike, so a download holds
exactly what the page showed. Cells are raw values (numbers stay numbers in the workbook).

Formula safety is the chat export's (handlers/staff/export_files.py): the same CSV writer, and
in the workbook the same rule (risky text stored as text with Excel's quote prefix)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from handlers.staff.export_files import Cell as ExportCell
from handlers.staff.export_files import neutralised, risky, to_csv

Cell = str | int | float | None


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    numeric: bool = False
    percent: bool = False  # a share in [0, 1], shown and written as a percentage


@dataclass
class Table:
    key: str  # its name in URLs and as a sheet
    title: str
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    links: list[str | None] = field(default_factory=list)  # the first cell's link, per row

    def sorted_by(self, key: str | None, descending: bool) -> Table:
        """A copy sorted by a column (unknown keys leave it as it is); empty cells last."""
        index = next((i for i, c in enumerate(self.columns) if c.key == key), None)
        if index is None:
            return self
        numeric = self.columns[index].numeric or self.columns[index].percent

        def order(pair: tuple[list[Cell], str | None]) -> tuple[int, float | str]:
            value = pair[0][index]
            if value is None:
                return (1, 0)
            if numeric and isinstance(value, int | float):
                return (0, -float(value) if descending else float(value))
            return (0, str(value).casefold())

        pairs = list(zip(self.rows, self.links or [None] * len(self.rows), strict=True))
        present = sorted((p for p in pairs if p[0][index] is not None), key=order)
        if descending and not numeric:
            present.reverse()
        pairs = present + [p for p in pairs if p[0][index] is None]
        return Table(
            self.key,
            self.title,
            self.columns,
            [p[0] for p in pairs],
            [p[1] for p in pairs] if self.links else [],
        )


def _file_value(column: Column, value: Cell) -> Cell:
    if column.percent and isinstance(value, int | float):
        return round(float(value) * 100, 1)
    return value


def csv_bytes(table: Table) -> bytes:
    """UTF-8 with BOM, by the chat export's writer (which neutralises risky text)."""
    rows: list[list[ExportCell]] = [
        # Raw values: a negative number stays a number, not text to neutralise.
        [_file_value(c, v) for c, v in zip(table.columns, row, strict=True)]
        for row in table.rows
    ]
    return to_csv([c.label for c in table.columns], rows)


def _sheet_name(title: str, taken: set[str]) -> str:
    base = "".join(c for c in title if c not in "[]:*?/\\")[:28] or "Sheet"
    name, number = base, 2
    while name in taken:
        name, number = f"{base} {number}", number + 1
    taken.add(name)
    return name


def xlsx_bytes(tables: Sequence[Table]) -> bytes:
    """One workbook, a sheet per table; numbers as numbers, text formula-safe."""
    from openpyxl import Workbook  # imported here: only downloads need it
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    taken: set[str] = set()
    for table in tables:
        sheet = book.create_sheet(_sheet_name(ILLEGAL_CHARACTERS_RE.sub("", table.title), taken))
        sheet.append([neutralised(c.label) for c in table.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            values = [_file_value(c, v) for c, v in zip(table.columns, row, strict=True)]
            # openpyxl refuses control characters outright; rows stored before input was
            # cleaned at the door may still hold some.
            sheet.append(
                [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values]
            )
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str) and risky(cell.value):
                    cell.data_type = "s"  # text, never a formula, as the chat export does
                    cell.quotePrefix = True
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
