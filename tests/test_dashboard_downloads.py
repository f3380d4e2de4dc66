"""Downloads: every table as CSV and XLSX holding what the page shows, the monthly TPBIS report
as one workbook, and text that spreadsheets would run as a formula written as plain text."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from bot.dashboard.tables import Column, Table, csv_bytes, xlsx_bytes
from bot.runtime import Runtime
from tests.dashboard_support import browser, chat_link, dataset, sign_in
from tests.dashboard_support import clock as clock  # noqa: F401 - fixtures
from tests.dashboard_support import dashboard as dashboard  # noqa: F401
from tests.dashboard_support import port as port  # noqa: F401
from tests.dashboard_support import settings as settings  # noqa: F401
from tests.staff_support import ADMIN
from tests.telegram_harness import TelegramHarness

EVIL = '=HYPERLINK("http://x","klik")'


@pytest.mark.parametrize("text", ["=1+2", "+62812", "-5", "@SUM(A1)", "\t=1", "\r=1"])
def test_every_formula_start_is_neutralised_in_both_files(text: str) -> None:
    table = Table("t", "T", [Column("name", "Nama")], [[text], ["Maria"]])
    rows = list(csv.reader(io.StringIO(csv_bytes(table).decode("utf-8-sig"))))
    assert rows[1:] == [["'" + text], ["Maria"]]
    sheet = load_workbook(io.BytesIO(xlsx_bytes([table]))).active
    assert sheet is not None
    cell = sheet["A2"]
    assert cell.value == text and cell.data_type == "s" and cell.quotePrefix
    assert not sheet["A3"].quotePrefix


def test_writers_keep_numbers_and_neutralise_text() -> None:
    table = Table(
        "t",
        "Tabel",
        [Column("name", "=Nama"), Column("n", "N", numeric=True), Column("p", "P", percent=True)],
        [[EVIL, 3, 0.5], ["Ana", -2, None]],
    )
    rows = list(csv.reader(io.StringIO(csv_bytes(table).decode("utf-8-sig"))))
    assert rows == [["'=Nama", "N", "P"], ["'" + EVIL, "3", "50.0"], ["Ana", "-2", ""]]
    sheet = load_workbook(io.BytesIO(xlsx_bytes([table]))).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values == [["'=Nama", "N", "P"], [EVIL, 3, 50.0], ["Ana", -2, None]]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert sheet["A2"].quotePrefix  # shown as typed, never run


async def test_tables_download_as_on_the_page_and_the_report_has_a_sheet_per_table(
    tg: TelegramHarness, runtime: Runtime, dashboard: str
) -> None:
    data = await dataset(runtime, odd_name=EVIL)
    async with browser() as http:
        await sign_in(http, await chat_link(tg, ADMIN))
        base = f"{dashboard}/dasbor/unduh"
        async with http.get(
            f"{base}/regencies.csv?month={data.month}&sort=regencies.attended&dir=desc"
        ) as response:
            assert response.status == 200
            assert "attachment" in response.headers["Content-Disposition"]
            assert f"pustaka-regencies-{data.month}.csv" in response.headers["Content-Disposition"]
            body = await response.read()
        assert body.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for accents
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        t = runtime.translator.text
        assert rows[0][:4] == [
            t("id", "dashboard.col.regency"),
            t("id", "dashboard.col.events"),
            t("id", "dashboard.col.registered"),
            t("id", "dashboard.col.attended"),
        ]
        assert rows[1][:4] == ["Ende", "1", "3", "3"] and rows[2][:4] == ["Alor", "1", "2", "1"]
        assert len(rows) == 1 + 22  # every regency, also those with nothing this month

        async with http.get(f"{base}/event-{data.ende_event}.xlsx") as response:
            assert response.status == 200
            book = load_workbook(io.BytesIO(await response.read()))
        people = [[c.value for c in row] for row in book.active.iter_rows()]  # type: ignore[union-attr]
        assert people[1][0] == EVIL and book.active["A2"].quotePrefix  # type: ignore[index]
        assert [p[0] for p in people[2:]] == ["Orang 1", "Orang 2", "Orang 3", "Orang 4"]

        async with http.get(f"{base}/report.xlsx?month={data.month}") as response:
            assert response.status == 200
            report = load_workbook(io.BytesIO(await response.read()))
        assert report.sheetnames == [
            *(
                t("id", f"dashboard.table.{k}")
                for k in ("overview", "gender", "age_band", "regencies", "libraries")
            ),
            t("id", "dashboard.events.past", month=data.month),
        ]
        overview = {r[0].value: r[1].value for r in report.worksheets[0].iter_rows(min_row=2)}
        assert overview[t("id", "dashboard.figure.events_held")] == 2
        assert overview[t("id", "dashboard.figure.registered")] == 5
        events = [r[0].value for r in report.worksheets[5].iter_rows(min_row=2)]
        assert sorted(events) == ["Kelas <b>komputer</b> Ende", "Tenun Alor"]

        async with http.get(f"{base}/report.csv") as response:
            assert response.status == 404
        async with http.get(f"{base}/nothing.csv") as response:
            assert response.status == 404
