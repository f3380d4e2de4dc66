"""/peserta and /ekspor through the real Application: counts, names, attendance taps, the CSV
and .xlsx files read back, and scope across regencies."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from bot.runtime import Runtime
from handlers.staff.export_files import Cell, dated_name, slug, to_csv, to_xlsx
from storage.clock import utcnow
from storage.registrations import Answers
from storage.staff_events import NewEvent
from tests.fakes.telegram_api import FakeBotApi
from tests.staff_support import ADMIN, library_id, resident
from tests.staff_support import settings as settings  # noqa: F401 - fixture with an admin
from tests.telegram_harness import TelegramHarness, payloads, texts

LIBRARIAN = 7402
ALOR_COORDINATOR = 7403


async def _event(runtime: Runtime) -> tuple[int, dict[str, int]]:
    """An Ende event with 2 seats: A (self, all answers), B's proxy with a formula-like name,
    C on the waitlist."""
    now = utcnow()
    event_id = await runtime.storage.staff_events.create(
        NewEvent(
            library_id=await library_id(runtime, "perpus-ende"),
            title="Kelas Tenun untuk Pemula",
            category="weaving",
            description="",
            place=None,
            starts_at=now + timedelta(days=2),
            ends_at=now + timedelta(days=2, hours=3),
            capacity=2,
            registration_closes_at=None,
            questions=("gender", "age_band", "village"),
            status="open",
        ),
        actor="test",
        role="admin",
        now=now,
    )
    a = await resident(runtime, 8701, "ende")
    b = await resident(runtime, 8702, "ende")
    c = await resident(runtime, 8703, "ende")
    await runtime.storage.residents.set_name(resident_id=b.id, name="Bapak Yosef", now=utcnow())
    register = runtime.storage.registrations.register
    ra = await register(
        event_id=event_id,
        resident_id=a.id,
        name="Maria Goreti",
        answers=Answers(gender="female", age_band="18_35", village="Wolotopo"),
        now=now,
    )
    rb = await register(
        event_id=event_id,
        resident_id=b.id,
        name="=Nenek Sofia",
        answers=Answers(gender="female", age_band="55p"),
        proxy=True,
        now=now,
    )
    rc = await register(event_id=event_id, resident_id=c.id, name="Petrus Wara", now=now)
    assert (ra.status, rb.status, rc.status) == ("confirmed", "confirmed", "waitlisted")
    return event_id, {"a": ra.id, "b": rb.id, "c": rc.id}


async def test_counts_names_and_attendance_taps(
    tg: TelegramHarness, runtime: Runtime, fake_api: FakeBotApi
) -> None:
    event_id, regs = await _event(runtime)
    await tg.send(ADMIN, f"/beriperan {LIBRARIAN} pustakawan perpus-ende")
    calls = await tg.send(LIBRARIAN, "/peserta")
    assert f"spe:e:{event_id}:0" in payloads(calls)
    calls = await tg.tap(LIBRARIAN, f"spe:e:{event_id}:0")
    text = texts(calls)
    assert "Terdaftar 2/2 · daftar tunggu 1 · diwakilkan 1" in text
    assert "Hadir 0 · datang tanpa daftar 0" in text and "Tidak hadir" not in text
    labels = [label for c in calls for label, _ in c.buttons]
    assert labels[:3] == [
        "⬜ Maria Goreti",
        "⬜ =Nenek Sofia · diwakilkan",
        "⬜ Petrus Wara · daftar tunggu",
    ]

    fake_api.clear()
    await tg.tap(LIBRARIAN, f"spe:m:{event_id}:{regs['a']}:0")
    await tg.tap(LIBRARIAN, f"spe:m:{event_id}:{regs['c']}:0")  # came from the waitlist
    edits = [c for c in fake_api.calls if c.method == "editMessageText"]
    assert len(edits) == 2 and not fake_api.sent(LIBRARIAN)
    assert "Hadir 2 · datang tanpa daftar 1" in edits[-1].text
    assert ("✅ Maria Goreti", f"spe:m:{event_id}:{regs['a']}:0") in edits[-1].buttons
    # A mistaken tap is undone by tapping again.
    await tg.tap(LIBRARIAN, f"spe:m:{event_id}:{regs['a']}:0")
    edit = [c for c in fake_api.calls if c.method == "editMessageText"][-1]
    assert "Hadir 1 · datang tanpa daftar 1" in edit.text
    await tg.tap(LIBRARIAN, f"spe:m:{event_id}:{regs['a']}:0")
    assert "kedaluwarsa" in texts(await tg.tap(LIBRARIAN, f"spe:m:{event_id}:999999:0"))
    entries, _ = await runtime.storage.staff.audit_entries(limit=50)
    assert sum(e.action == "attendance.mark" for e in entries) == 3


async def test_export_csv_and_xlsx_read_back(
    tg: TelegramHarness, runtime: Runtime, fake_api: FakeBotApi
) -> None:
    event_id, regs = await _event(runtime)
    await tg.send(ADMIN, f"/beriperan {LIBRARIAN} pustakawan perpus-ende")
    await tg.tap(LIBRARIAN, f"spe:m:{event_id}:{regs['a']}:0")
    calls = await tg.send(LIBRARIAN, "/ekspor")
    assert f"sex:e:{event_id}" in payloads(calls)
    calls = await tg.tap(LIBRARIAN, f"sex:e:{event_id}")
    documents = [c for c in calls if c.method == "sendDocument"]
    day = (utcnow() + timedelta(days=2)).astimezone(ZoneInfo("Asia/Makassar")).date()
    assert [d.params["document"]["filename"] for d in documents] == [
        f"peserta-kelas-tenun-untuk-pemula-{day:%Y-%m-%d}.csv",
        f"peserta-kelas-tenun-untuk-pemula-{day:%Y-%m-%d}.xlsx",
    ]
    assert "stc:peran" in payloads(calls)  # no dead end after the files
    raw = documents[0].params["document"]["content"]
    assert raw.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0] == [
        "No",
        "Nama",
        "Status",
        "Didaftarkan oleh",
        "Jenis kelamin",
        "Kelompok usia",
        "Desa/kelurahan",
        "Waktu daftar (WITA)",
        "Waktu hadir (WITA)",
    ]
    body = [row[:7] + [bool(row[8])] for row in table[1:]]
    assert body == [
        ["1", "Maria Goreti", "terdaftar", "", "Perempuan", "18–35 tahun", "Wolotopo", True],
        [
            "2",
            "'=Nenek Sofia",
            "terdaftar",
            "Bapak Yosef",
            "Perempuan",
            "Di atas 55 tahun",
            "",
            False,
        ],
        ["3", "Petrus Wara", "daftar tunggu", "", "", "", "", False],
    ]
    book = load_workbook(io.BytesIO(documents[1].params["document"]["content"]))
    sheet = book.active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == tuple(table[0])
    # Numbers and times are typed: the spreadsheet sorts and sums them.
    assert [row[0] for row in values[1:]] == [1, 2, 3]
    assert all(isinstance(row[7], datetime) for row in values[1:])
    assert isinstance(values[1][8], datetime) and values[2][8] is None
    assert values[1][7].strftime("%Y-%m-%d %H:%M") == table[1][7]
    assert sheet["H2"].number_format == "yyyy-mm-dd hh:mm"
    # The formula-like name is text, shown as typed and never run.
    assert sheet["B3"].value == "=Nenek Sofia" and sheet["B3"].data_type == "s"
    assert sheet["B3"].quotePrefix
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width >= len("=Nenek Sofia")
    assert sheet["A1"].font.bold


async def test_scope_across_regencies(tg: TelegramHarness, runtime: Runtime) -> None:
    event_id, regs = await _event(runtime)
    await tg.send(ADMIN, f"/beriperan {ALOR_COORDINATOR} koordinator alor")
    calls = await tg.send(ALOR_COORDINATOR, "/peserta")
    assert f"spe:e:{event_id}:0" not in payloads(calls)
    for payload in (
        f"spe:e:{event_id}:0",
        f"spe:m:{event_id}:{regs['a']}:0",
        f"sex:e:{event_id}",
    ):
        assert "kedaluwarsa" in texts(await tg.tap(ALOR_COORDINATOR, payload)), payload
    registration = await runtime.storage.registrations.get(registration_id=regs["a"])
    assert registration.attended_at is None
    entries, _ = await runtime.storage.staff.audit_entries(limit=50)
    assert sum(e.action == "refused" for e in entries) == 3
    # The admin sees every regency's events.
    calls = await tg.send(ADMIN, "/registrations", "en")
    assert any(p.startswith("spe:e:") for p in payloads(calls))
    unknown = texts(await tg.send(8799, "/tidakada"))
    assert texts(await tg.send(8799, "/peserta")) == unknown
    assert texts(await tg.send(8799, "/ekspor")) == unknown


def test_every_formula_start_is_neutralised_in_csv_and_xlsx() -> None:
    """A resident's name is user input: none may run as a spreadsheet formula."""
    names = ["=1+1", "+62 812", "-2+3", "@SUM(A1)", "\tTab", "\rReturn", "Ama Kewa"]
    header = ["No", "Nama"]
    rows: list[list[Cell]] = [[number, name] for number, name in enumerate(names, start=1)]
    table = list(csv.reader(io.StringIO(to_csv(header, rows).decode("utf-8-sig"), newline="")))
    assert [row[1] for row in table[1:]] == [
        "'=1+1",
        "'+62 812",
        "'-2+3",
        "'@SUM(A1)",
        "'\tTab",
        "'\rReturn",
        "Ama Kewa",
    ]
    sheet = load_workbook(io.BytesIO(to_xlsx(header, rows, "Peserta"))).active
    cells = [sheet.cell(row=r, column=2) for r in range(2, len(names) + 2)]
    # XML reads a lone carriage return back as a line feed; the text is otherwise as typed.
    assert [str(c.value).replace("\n", "\r") for c in cells] == names
    assert all(c.data_type == "s" for c in cells)
    assert [bool(c.quotePrefix) for c in cells] == [True] * 6 + [False]


def test_file_names_are_readable_ascii() -> None:
    moment = datetime(2026, 12, 3, 17, 30, tzinfo=UTC)  # 4 December, 01.30 WITA
    name = dated_name("peserta", "Pelatihan Komputer Dasar", moment, "Asia/Makassar", "xlsx")
    assert name == "peserta-pelatihan-komputer-dasar-2026-12-04.xlsx"
    assert slug("Kursus Bahasa Inggris: Pariwisata (Labuan Bajo) – Angkatan Ke-2") == (
        "kursus-bahasa-inggris-pariwisata-labuan-bajo-angkatan-ke-2"
    )
    assert slug("Tenun Ikat Sumba — tingkat lanjut untuk ibu-ibu dan remaja putri desa") == (
        "tenun-ikat-sumba-tingkat-lanjut-untuk-ibu-ibu-dan-remaja"
    )
    assert slug("Café Ëndé") == "cafe-ende"
