"""/statistik and `pustaka report` from a known data set: every figure checked."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.runtime import Runtime
from handlers.staff.stats import (
    chart_figure,
    compute,
    find_regency,
    month_bounds,
    month_name,
    previous_months,
    this_month,
)
from storage.clock import to_db, utcnow
from storage.models import Regency
from storage.staff_events import NewEvent
from tests.fakes.telegram_api import FakeBotApi
from tests.pustaka_process import pustaka_env, run_pustaka
from tests.staff_support import ADMIN, library_id
from tests.staff_support import settings as settings  # noqa: F401 - fixture with an admin
from tests.telegram_harness import TelegramHarness, payloads, texts

COORDINATOR = 7502
LIBRARIAN = 7503


async def _dataset(runtime: Runtime) -> str:
    """Last month: an Ende event (3 seats, 2 present, 1 walk-in, 1 cancelled), an Alor event
    (2 seats, 1 present), a cancelled Ende event (not held); 2 new Ende residents and 1 in Alor
    (plus one from another month); 3 announcements delivered to Ende, 1 to Alor."""
    year, month = previous_months(utcnow(), "Asia/Makassar", 1)[0]
    start, _ = month_bounds(year, month, "Asia/Makassar")
    day = start + timedelta(days=9, hours=2)
    db = runtime.storage.db

    async def event(slug: str, status: str = "finished") -> int:
        return await runtime.storage.staff_events.create(
            NewEvent(
                library_id=await library_id(runtime, slug),
                title=f"Acara {slug} {status}",
                category="computer",
                description="",
                place=None,
                starts_at=day,
                ends_at=day + timedelta(hours=2),
                capacity=10,
                registration_closes_at=None,
                questions=("gender", "age_band"),
                status=status,
            ),
            actor="test",
            role="admin",
            now=utcnow(),
        )

    ende, alor = await event("perpus-ende"), await event("perpus-alor")
    cancelled = await event("perpus-ende", "open")
    people = {}
    for ext, regency, created in (
        ("9101", "ende", day),
        ("9102", "ende", day + timedelta(days=1)),
        ("9103", "alor", day),
        ("9104", "ende", start - timedelta(days=40)),  # an older resident
    ):
        made = await runtime.storage.residents.ensure(
            channel="telegram", external_id=ext, language="id", now=created
        )
        await runtime.storage.residents.give_consent(resident_id=made.id, now=created)
        await runtime.storage.residents.set_regency(
            resident_id=made.id, regency_code=regency, now=utcnow()
        )
        people[ext] = made.id
    present = to_db(day + timedelta(minutes=30))
    rows = [
        # event, resident, status, gender, age band, attended
        (ende, "9101", "confirmed", "female", "18_35", present),
        (ende, "9102", "confirmed", "male", "u18", present),
        (ende, "9104", "confirmed", "female", "36_55", None),
        (ende, "9104", "walk_in", None, None, present),
        (ende, "9101", "cancelled", "female", "18_35", None),
        (alor, "9103", "confirmed", "female", "55p", present),
        (alor, "9103", "confirmed", "male", "55p", None),
        (cancelled, "9101", "confirmed", "female", "18_35", present),
    ]
    async with db.transaction() as conn:
        await conn.execute("UPDATE events SET status = 'cancelled' WHERE id = ?", (cancelled,))
        for number, (event_id, ext, status, gender, age, attended) in enumerate(rows):
            await conn.execute(
                "INSERT INTO registrations (event_id, resident_id, is_proxy, name, gender, "
                "age_band, status, attended_at, created_at, cancelled_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event_id,
                    people[ext],
                    int(number in (3, 6)),
                    f"Orang {number}",
                    gender,
                    age,
                    status,
                    attended,
                    to_db(day - timedelta(days=3)),
                    to_db(day) if status == "cancelled" else None,
                ),
            )
        for number, ext in enumerate(("9101", "9102", "9104", "9103", "9103")):
            sent_at = day if number < 4 else start - timedelta(days=2)  # the last: other month
            await conn.execute(
                "INSERT INTO outbox (dedupe_key, kind, channel, recipient, resident_id, body, "
                "due_at, status, created_at, updated_at, sent_at) VALUES "
                "(?, 'announcement', 'telegram', ?, ?, '{}', ?, 'sent', ?, ?, ?)",
                (
                    f"broadcast:99:{number}",
                    ext,
                    people[ext],
                    to_db(sent_at),
                    to_db(sent_at),
                    to_db(sent_at),
                    to_db(sent_at),
                ),
            )
    return f"{year}-{month:02d}"


async def test_coordinator_sees_their_regency_as_text_and_chart(
    tg: TelegramHarness, runtime: Runtime, fake_api: FakeBotApi
) -> None:
    month = await _dataset(runtime)
    await tg.send(ADMIN, f"/beriperan {COORDINATOR} koordinator ende")
    calls = await tg.send(COORDINATOR, "/statistik")
    text = texts(calls)
    year, number = (int(part) for part in month.split("-"))
    assert f"Statistik {month_name('id', year, number)} — Ende" in text
    for line in (
        "• Acara terlaksana: 1",
        "• Pendaftar (kursi): 3",
        "• Hadir: 3",
        "• Datang tanpa daftar: 1",
        "• Tingkat kehadiran pendaftar: 66,7 %",
        "• Warga baru: 2",
        "• Pengumuman terkirim: 3",
        "• Perempuan: 1",
        "• Laki-laki: 1",
        "• Tidak diketahui: 1",
        "• 18–35 tahun: 1",
        "• Di bawah 18 tahun: 1",
        "• Ende: 3",
    ):
        assert line in text, line
    assert "Alor" not in text
    photos = [c for c in calls if c.method == "sendPhoto"]
    assert len(photos) == 1
    assert photos[0].params["photo"]["content"].startswith(b"\x89PNG\r\n\x1a\n")
    # This month and the three before it, except the one shown.
    this = this_month(utcnow(), "Asia/Makassar")
    offered = [
        f"sst:{y}-{m:02d}" for y, m in [this, *previous_months(utcnow(), "Asia/Makassar", 3)]
    ]
    assert [p for p in payloads(calls) if p.startswith("sst:")] == [
        p for p in offered if p != f"sst:{month}"
    ]
    assert "stc:peran" in payloads(calls)


async def test_an_event_still_to_come_is_not_counted_as_held(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    """On 1 December the figures said "Acara terlaksana: 21" for events yet to take place."""
    starts = utcnow() + timedelta(hours=2)
    ended = utcnow() - timedelta(hours=3)
    for title, at in (("Acara nanti sore", starts), ("Acara tadi pagi", ended)):
        await runtime.storage.staff_events.create(
            NewEvent(
                library_id=await library_id(runtime, "perpus-ende"),
                title=title,
                category="computer",
                description="",
                place=None,
                starts_at=at,
                ends_at=at + timedelta(hours=2),
                capacity=10,
                registration_closes_at=None,
                questions=(),
                status="open",
            ),
            actor="test",
            role="admin",
            now=utcnow() - timedelta(days=1),
        )
    year, month = this_month(starts, "Asia/Makassar")
    stats = await compute(
        runtime.storage, year=year, month=month, regency_code="ende", timezone="Asia/Makassar"
    )
    ended_year, ended_month = this_month(ended, "Asia/Makassar")
    held_before = 1 if (ended_year, ended_month) == (year, month) else 0
    assert stats.events_held == held_before  # the sample events of this month are still to come
    await tg.send(ADMIN, f"/beriperan {COORDINATOR} koordinator ende")
    calls = await tg.tap(COORDINATOR, f"sst:{year}-{month:02d}")
    assert f"• Acara terlaksana: {held_before}" in texts(calls)
    # The same moment an hour after the later one ends, it counts.
    later = await compute(
        runtime.storage,
        year=year,
        month=month,
        regency_code="ende",
        timezone="Asia/Makassar",
        now=starts + timedelta(hours=3),
    )
    assert later.events_held == held_before + 1


async def test_admin_sees_the_province_and_other_roles_are_refused(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    month = await _dataset(runtime)
    calls = await tg.send(ADMIN, f"/stats {month}", "en")
    text = texts(calls)
    for line in (
        "• Events held: 2",
        "• Registered (seats): 5",
        "• Present: 4",
        "• Attendance rate of registrants: 60.0%",
        f"Statistics {month_name('en', *(int(p) for p in month.split('-')))}",
        "• New residents: 3",
        "• Announcements delivered: 4",
        "• Ende: 3",
        "• Alor: 1",
        "• Over 55: 1",
    ):
        assert line in text, line
    assert "Write the month like this" in texts(await tg.send(ADMIN, "/stats 2026-13", "en"))
    assert "kedaluwarsa" in texts(await tg.tap(ADMIN, "sst:bukan"))
    await tg.send(ADMIN, f"/beriperan {LIBRARIAN} pustakawan perpus-ende")
    unknown = texts(await tg.send(LIBRARIAN, "/tidakada"))
    assert texts(await tg.send(LIBRARIAN, "/statistik")) == unknown
    assert "kedaluwarsa" in texts(await tg.tap(LIBRARIAN, f"sst:{month}"))


async def test_report_command_writes_the_same_figures(
    runtime: Runtime, tmp_path: Path, db_path: Path
) -> None:
    month = await _dataset(runtime)
    out = tmp_path / "report.csv"
    env = pustaka_env(PUSTAKA_DB=runtime.settings.db_path)

    def pustaka(*args: str) -> subprocess.CompletedProcess[str]:
        return run_pustaka(tmp_path, env, *args)

    done = await asyncio.to_thread(
        pustaka, "report", "--month", month, "--regency", "Ende", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    table = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert table[0] == ["month", "scope", "section", "item", "value"]
    figures = {(row[2], row[3]): row[4] for row in table[1:]}
    assert figures[("summary", "Acara terlaksana")] == "1"
    assert figures[("summary", "Tingkat kehadiran pendaftar")] == "66.7%"
    assert figures[("summary", "Pengumuman terkirim")] == "3"
    assert figures[("gender", "Perempuan")] == "1"
    assert figures[("regency", "Ende")] == "3"
    assert {row[0] for row in table[1:]} == {month} and {row[1] for row in table[1:]} == {"ende"}

    bad = await asyncio.to_thread(pustaka, "report", "--month", "11-2026")
    assert bad.returncode == 1 and "YYYY-MM" in bad.stderr
    bad = await asyncio.to_thread(pustaka, "report", "--regency", "Ened")
    assert bad.returncode == 1 and "did you mean 'ende'?" in bad.stderr


def test_regencies_are_found_in_any_case_and_missed_ones_suggested() -> None:
    regencies = [
        Regency("ende", "Ende", "kabupaten"),
        Regency("kota-kupang", "Kota Kupang", "kota"),
    ]
    assert find_regency(regencies, "ENDE") == ("ende", None)
    assert find_regency(regencies, "kota kupang") == ("kota-kupang", None)
    assert find_regency(regencies, "Kota-Kupang") == ("kota-kupang", None)
    assert find_regency(regencies, "Kupang") == ("kota-kupang", None)
    assert find_regency(regencies, "Endeh") == (None, "ende")
    assert find_regency(regencies, "Jakarta") == (None, None)


def test_month_bounds_are_wita_months() -> None:
    start, end = month_bounds(2026, 12, "Asia/Makassar")
    assert start == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    assert previous_months(datetime(2026, 1, 10, tzinfo=UTC), "Asia/Makassar", 2) == [
        (2025, 12),
        (2025, 11),
    ]


def test_chart_axes_tick_whole_people() -> None:
    figure = chart_figure(
        "Peserta hadir November 2026 — Ende",
        [("Menurut jenis kelamin", "Perempuan", 1), ("Menurut jenis kelamin", "Laki-laki", 0)],
    )
    ticks = [t for axis in figure.axes for t in axis.get_xticks() if 0 <= t <= 1.15]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert figure.texts[0].get_text() == "Peserta hadir November 2026 — Ende"
