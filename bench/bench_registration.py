"""1,000 people registering at the same moment for a 100-seat event.

Twice: straight through the storage layer, and through the full python-telegram-bot Application
(real Update objects, the dispatcher, the handlers, the catalogs), with the Bot API answered
in-process by a BaseRequest that replies at once so only our own code is measured.
Every run must end with exactly 100 confirmed and 900 waitlisted, or the script fails.

    .venv/bin/python bench/bench_registration.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from telegram import Update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fake_request import BOT_USER as BOT  # noqa: E402
from bench.fake_request import InstantBotApi  # noqa: E402
from bot.channels.telegram import TelegramChannel
from bot.config import Secret, Settings
from bot.runtime import Runtime
from storage import Storage
from storage.clock import utcnow
from storage.content import ContentRepo, EventRecord, LibraryRecord
from storage.models import Session

PEOPLE = 1000
SEATS = 100
TOKEN = "123456:BENCH-token"


@dataclass
class _Content:
    libraries: list[LibraryRecord] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)


async def _setup(storage: Storage) -> tuple[int, list[int]]:
    """One library, one 100-seat event with an unlimited waitlist, 1,000 consenting residents."""
    start = utcnow() + timedelta(days=3)
    content = _Content(
        [
            LibraryRecord(
                "bench-lib",
                "Perpustakaan Bench",
                "regency",
                "ende",
                None,
                "Jl. Bench",
                "08.00-15.00",
                None,
                (),
            )
        ],
        [
            EventRecord(
                "bench-event",
                "bench-lib",
                "Pelatihan Komputer Dasar",
                "computer",
                "",
                None,
                start,
                start + timedelta(hours=2),
                SEATS,
                None,
                (),
                "open",
                None,
                None,
            )
        ],
    )
    await ContentRepo(storage.db).import_content(content, is_sample=False, now=utcnow())
    residents = []
    for n in range(PEOPLE):
        resident = await storage.residents.ensure(
            channel="telegram", external_id=str(100000 + n), language="id", now=utcnow()
        )
        await storage.residents.give_consent(resident_id=resident.id, now=utcnow())
        residents.append(resident.id)
    event_id = (await storage.events.upcoming(now=utcnow(), until=start + timedelta(days=1)))[0][
        0
    ].id
    return event_id, residents


def _report(label: str, seconds: float, confirmed: int, waitlisted: int) -> None:
    print(
        f"{label:<28} {PEOPLE} registrations in {seconds:6.3f} s  "
        f"{PEOPLE / seconds:8.1f} registrations/s  "
        f"confirmed {confirmed}  waitlisted {waitlisted}"
    )
    if (confirmed, waitlisted) != (SEATS, PEOPLE - SEATS):
        raise SystemExit(f"{label}: expected {SEATS}/{PEOPLE - SEATS}")


async def bench_storage(folder: Path) -> None:
    storage = await Storage.open(folder / "storage.db")
    try:
        event_id, residents = await _setup(storage)
        now = utcnow()
        began = time.perf_counter()
        await asyncio.gather(
            *(
                storage.registrations.register(
                    event_id=event_id, resident_id=rid, name=f"Warga {rid}", now=now
                )
                for rid in residents
            )
        )
        elapsed = time.perf_counter() - began
        counts = await storage.registrations.counts(event_id=event_id)
        _report("storage layer", elapsed, counts.confirmed, counts.waitlisted)
    finally:
        await storage.close()


async def bench_application(folder: Path) -> None:
    settings = Settings(
        telegram_token=Secret(TOKEN),
        telegram_api_url="http://bench.invalid",
        db_path=str(folder / "app.db"),
    )
    runtime = await Runtime.open(settings)
    try:
        event_id, residents = await _setup(runtime.storage)
        # Everyone is on the summary screen, about to tap "Daftar sekarang".
        for n, _ in enumerate(residents):
            await runtime.storage.sessions.save(
                Session(
                    "telegram",
                    str(100000 + n),
                    {
                        "flow": "reg",
                        "step": "confirm",
                        "draft": {
                            "event": event_id,
                            "proxy": False,
                            "name": f"Warga {n}",
                            "pending": [],
                        },
                    },
                ),
                now=utcnow(),
            )
        api = InstantBotApi()
        channel = TelegramChannel(settings, runtime.dispatcher, runtime.translator)
        app = channel.build(request=api, updates_request=InstantBotApi())
        async with app:
            updates = [
                Update.de_json(
                    {
                        "update_id": n + 1,
                        "callback_query": {
                            "id": str(n + 1),
                            "from": {"id": 100000 + n, "is_bot": False, "first_name": "W"},
                            "chat_instance": "bench",
                            "data": f"reg!:{event_id}",
                            "message": {
                                "message_id": n + 1,
                                "date": int(time.time()),
                                "chat": {"id": 100000 + n, "type": "private"},
                                "from": BOT,
                                "text": "…",
                            },
                        },
                    },
                    app.bot,
                )
                for n in range(PEOPLE)
            ]
            began = time.perf_counter()
            await asyncio.gather(*(app.process_update(u) for u in updates))
            elapsed = time.perf_counter() - began
        counts = await runtime.storage.registrations.counts(event_id=event_id)
        if api.sent != PEOPLE:
            raise SystemExit(f"expected {PEOPLE} replies, the fake Bot API saw {api.sent}")
        _report("full Telegram Application", elapsed, counts.confirmed, counts.waitlisted)
    finally:
        await runtime.close()


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        await bench_storage(Path(folder))
        await bench_application(Path(folder))


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
