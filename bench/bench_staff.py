"""Staff tools benchmark (run by `make bench`).

1. An announcement to 100,000 residents (110,000 in the table; 10,000 must be skipped):
   counting the audience, then creating the announcement and queueing one outbox row per
   recipient in one INSERT ... SELECT. Time, Python peak memory (tracemalloc) and the process's
   peak RSS growth. For contrast, the same rows queued by a Python
   loop over `storage.outbox.enqueue` for 10,000 residents.
2. /statistik over a year of data: the same 110,000 residents, 1,000 events, 50,000 registrations,
   100,000 delivered announcement rows; each of the 12 months, province-wide and for one regency,
   and the PNG chart.

Figures go to stdout; nothing is asserted on time (machines differ).
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import storage.broadcasts as broadcasts  # noqa: E402
from bot.i18n import Translator  # noqa: E402
from handlers.staff.stats import bar_chart, compute, rows  # noqa: E402
from storage import Storage  # noqa: E402
from storage.broadcasts import QUEUE_CHUNK, Audience  # noqa: E402
from storage.checkin_codes import assign_checkin_codes  # noqa: E402
from storage.clock import to_db, utcnow  # noqa: E402
from storage.models import Session  # noqa: E402
from storage.outbox import OutboxMessage, enqueue  # noqa: E402

RECIPIENTS = 100_000
# Plus residents an announcement must skip: 5,000 without a profile, 5,000 who used /berhenti.
RESIDENTS = RECIPIENTS + 10_000
EVENTS = 1_000
REGISTRATIONS_PER_EVENT = 50
LOOP_BASELINE = 10_000
YEAR = 2026


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


async def _residents(storage: Storage, regencies: list[str]) -> None:
    rng = random.Random(1)
    start = datetime(YEAR, 1, 1, tzinfo=UTC)
    batch = []
    for number in range(RESIDENTS):
        created = to_db(start + timedelta(minutes=rng.randrange(365 * 24 * 60)))
        consent = None if number % 22 == 21 else created  # 1 in 22 browse without a profile
        batch.append(
            (
                "telegram",
                str(10_000_000 + number),
                "en" if number % 7 == 0 else "id",
                consent,
                f"Warga {number}",
                regencies[number % len(regencies)],
                int(number % 22 == 20),  # 1 in 22 stopped announcements
                created,
                created,
            )
        )
    async with storage.db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO residents (channel, external_id, language, consent_at, name, "
            "regency_code, announcements_off, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            batch,
        )


class Chatting:
    """Someone chatting while the announcement is queued or cancelled: their session is saved
    every 20 ms. How long does each save wait for the write lock?"""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.waits: list[float] = []
        self._running = False
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        session = Session(channel="telegram", external_id="chatting", state={"n": 0})
        while self._running:
            session.state["n"] += 1
            began = time.perf_counter()
            await self.storage.sessions.save(session, now=utcnow())
            self.waits.append(time.perf_counter() - began)
            await asyncio.sleep(0.02)

    def __enter__(self) -> Chatting:
        self._running = True
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *_: object) -> None:
        self._running = False

    async def report(self, what: str) -> str:
        assert self._task is not None
        await self._task
        waits = sorted(self.waits)
        return (
            f"  a chatting person's session saves during {what}: {len(waits)}, "
            f"p50 {waits[len(waits) // 2] * 1000:.0f} ms, max {waits[-1] * 1000:.0f} ms"
        )


async def _announce(storage: Storage, audience: Audience, body: str) -> tuple[int, int, float]:
    began = time.perf_counter()
    broadcast = await storage.broadcasts.create(
        author="telegram:1",
        author_role="admin",
        author_channel="telegram",
        author_recipient="1",
        author_language="id",
        text="Pameran buku minggu ini.",
        photo=None,
        audience=audience,
        due_at=datetime.now(UTC),
        bodies={"id": body, "en": body},
        now=datetime.now(UTC).replace(microsecond=0),
    )
    return broadcast.id, broadcast.recipients, time.perf_counter() - began


async def bench_announcement(storage: Storage) -> None:
    audience = Audience("all")
    began = time.perf_counter()
    count = await storage.broadcasts.count(audience)
    print(f"audience count: {count:,} recipients in {(time.perf_counter() - began) * 1000:.0f} ms")
    body = json.dumps({"text": "📢 Perpustakaan NTT\n\nPameran buku minggu ini.", "choices": []})

    for chunk in (QUEUE_CHUNK, 10**9):
        label = f"chunks of {chunk:,}" if chunk < 10**9 else "one transaction"
        broadcasts.QUEUE_CHUNK = chunk
        rss_before = _rss_mb()
        tracemalloc.start()
        with Chatting(storage) as chatting:
            broadcast_id, recipients, elapsed = await _announce(storage, audience, body)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert recipients == count, (recipients, count)
        print(
            f"create + queue, INSERT … SELECT in {label}: {recipients:,} outbox rows in "
            f"{elapsed:.2f} s ({recipients / elapsed:,.0f} rows/s); Python peak "
            f"{peak / 1024:.0f} KiB (tracemalloc); process peak RSS {rss_before:.0f} -> "
            f"{_rss_mb():.0f} MiB"
        )
        print(await chatting.report("queueing"))
        began = time.perf_counter()
        progress = await storage.broadcasts.progress(broadcast_id=broadcast_id)
        print(
            f"  progress: {(time.perf_counter() - began) * 1000:.0f} ms "
            f"(remaining {progress.remaining:,})"
        )
        with Chatting(storage) as chatting:
            began = time.perf_counter()
            stopped = await storage.broadcasts.cancel(
                broadcast_id=broadcast_id,
                actor="telegram:1",
                role="admin",
                now=datetime.now(UTC).replace(microsecond=0),
            )
            elapsed = time.perf_counter() - began
        print(f"  cancel: {stopped:,} pending rows cancelled in {elapsed:.2f} s")
        print(await chatting.report("cancelling"))
    broadcasts.QUEUE_CHUNK = QUEUE_CHUNK

    # Baseline: a Python loop over the residents, one enqueue each (what INSERT … SELECT avoids).
    targets = list(
        await storage.db.reader.fetchall(
            "SELECT id, channel, external_id, language FROM residents "
            "WHERE consent_at IS NOT NULL AND announcements_off = 0 LIMIT ?",
            (LOOP_BASELINE,),
        )
    )
    tracemalloc.start()
    began = time.perf_counter()
    async with storage.db.transaction() as conn:
        for row in targets:
            await enqueue(
                conn,
                OutboxMessage(
                    dedupe_key=f"loop:{row[0]}",
                    kind="announcement",
                    channel=row[1],
                    recipient=row[2],
                    text="Pameran buku minggu ini.",
                    resident_id=row[0],
                    language=row[3],
                ),
                now=utcnow(),
            )
    looped = time.perf_counter() - began
    _, loop_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"baseline Python loop over enqueue(): {len(targets):,} rows in {looped:.2f} s "
        f"({len(targets) / looped:,.0f} rows/s); Python peak {loop_peak / 1024:.0f} KiB "
        f"(rows fetched beforehand)"
    )


async def _year_of_events(storage: Storage, regencies: list[str]) -> None:
    rng = random.Random(2)
    async with storage.db.transaction() as conn:
        library_ids = []
        for index, code in enumerate(regencies):
            cur = await conn.execute(
                "INSERT INTO libraries (slug, name, level, regency_code, address, opening_hours) "
                "VALUES (?, ?, 'regency', ?, '-', '-')",
                (f"bench-{index}", f"Perpustakaan {code}", code),
            )
            library_ids.append(cur.lastrowid)
        start = datetime(YEAR, 1, 1, tzinfo=UTC)
        registrations = []
        for number in range(EVENTS):
            starts = start + timedelta(hours=rng.randrange(365 * 24))
            cur = await conn.execute(
                "INSERT INTO events (slug, library_id, title, category, starts_at, ends_at, "
                "capacity, status, questions) VALUES (?, ?, ?, 'computer', ?, ?, 60, ?, "
                '\'["gender", "age_band"]\')',
                (
                    f"bench-event-{number}",
                    library_ids[number % len(library_ids)],
                    f"Acara {number}",
                    to_db(starts),
                    to_db(starts + timedelta(hours=2)),
                    "cancelled" if number % 25 == 0 else "finished",
                ),
            )
            event_id = cur.lastrowid
            attendees = rng.sample(range(1, RESIDENTS + 1), REGISTRATIONS_PER_EVENT)
            for seat, resident_id in enumerate(attendees):
                walk_in = seat >= REGISTRATIONS_PER_EVENT - 3
                attended = rng.random() < 0.7 or walk_in
                registrations.append(
                    (
                        event_id,
                        resident_id,
                        rng.choice(("female", "male", "unsaid", None)),
                        rng.choice(("u18", "18_35", "36_55", "55p", None)),
                        "walk_in" if walk_in else "confirmed",
                        to_db(starts + timedelta(minutes=10)) if attended else None,
                        to_db(starts - timedelta(days=3)),
                    )
                )
        await assign_checkin_codes(conn)  # as every writer of events does
        await conn.executemany(
            "INSERT INTO registrations (event_id, resident_id, is_proxy, name, gender, age_band, "
            "status, attended_at, created_at) VALUES (?, ?, 0, 'Peserta', ?, ?, ?, ?, ?)",
            registrations,
        )
        # The 100,000 announcement rows count as delivered across the year.
        await conn.execute(
            "UPDATE outbox SET status = 'sent', sent_at = strftime('%Y-%m-%dT%H:%M:%SZ', "
            "'2026-01-01', '+' || (id % 364) || ' days'), due_at = strftime("
            "'%Y-%m-%dT%H:%M:%SZ', '2026-01-01', '+' || (id % 364) || ' days')"
        )
    print(f"data: {RESIDENTS:,} residents, {EVENTS:,} events, {len(registrations):,} registrations")


async def bench_statistics(storage: Storage, regencies: list[str]) -> None:
    translator = Translator("Asia/Makassar")
    for scope in (None, regencies[10]):
        timings = []
        held = 0
        for month in range(1, 13):
            began = time.perf_counter()
            stats = await compute(
                storage, year=YEAR, month=month, regency_code=scope, timezone="Asia/Makassar"
            )
            figures = await rows(storage, translator, "id", stats)
            timings.append(time.perf_counter() - began)
            held += stats.events_held
        print(
            f"/statistik figures, {scope or 'province'}: 12 months, {held} events held; "
            f"mean {sum(timings) / 12 * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms per month"
        )
    bars = [(section, item, int(value)) for section, item, value in figures[7:]]
    for attempt in ("first, with the matplotlib import", "second"):
        began = time.perf_counter()
        png = bar_chart("Peserta hadir", bars)
        elapsed = (time.perf_counter() - began) * 1000
        print(f"PNG chart ({attempt}): {len(png) / 1024:.0f} KiB in {elapsed:.0f} ms")


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        storage = await Storage.open(Path(folder) / "bench.db")
        try:
            regencies = [r.code for r in await storage.libraries.regencies()]
            began = time.perf_counter()
            await _residents(storage, regencies)
            print(f"setup: {RESIDENTS:,} residents in {time.perf_counter() - began:.1f} s")
            await bench_announcement(storage)
            began = time.perf_counter()
            await _year_of_events(storage, regencies)
            print(f"setup: a year of events in {time.perf_counter() - began:.1f} s")
            await bench_statistics(storage, regencies)
        finally:
            await storage.close()


if __name__ == "__main__":
    asyncio.run(main())
