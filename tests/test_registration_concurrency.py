"""Concurrent taps through the real Telegram Application: many people on the last seats, and one
person tapping "Daftar sekarang" several times at once."""

from __future__ import annotations

import asyncio

from bot.runtime import Runtime
from storage.clock import utcnow
from storage.models import Session
from tests.telegram_harness import TelegramHarness
from tests.test_registration import COMPUTER, event_id, register_first_time, set_event

FIRST_USER = 8500


async def _on_summary(runtime: Runtime, user: int, event: int) -> None:
    """Put a consenting resident on the summary screen, as if they had answered everything."""
    resident = await runtime.storage.residents.ensure(
        channel="telegram", external_id=str(user), language="id", now=utcnow()
    )
    await runtime.storage.residents.give_consent(resident_id=resident.id, now=utcnow())
    draft = {"event": event, "proxy": False, "name": f"Warga {user}", "pending": []}
    await runtime.storage.sessions.save(
        Session("telegram", str(user), {"flow": "reg", "step": "confirm", "draft": draft}),
        now=utcnow(),
    )


async def test_sixty_people_tapping_at_once_for_ten_seats(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    event = await event_id(runtime, COMPUTER)
    await set_event(runtime, event, capacity=10, waitlist_limit=30)
    users = [FIRST_USER + n for n in range(60)]
    for user in users:
        await _on_summary(runtime, user, event)
    tg.api.clear()
    await asyncio.gather(
        *(tg.app.process_update(tg.button_update(u, f"reg!:{event}")) for u in users)
    )
    sent = [c for c in tg.api.calls if c.method == "sendMessage"]
    assert len(sent) == 60  # everyone got exactly one answer
    confirmed = [c for c in sent if "Anda terdaftar" in c.text]
    waiting = [c for c in sent if "daftar tunggu nomor" in c.text]
    full = [c for c in sent if "kursi dan daftar tunggu" in c.text]
    assert (len(confirmed), len(waiting), len(full)) == (10, 30, 20)
    positions = sorted(int(c.text.split("nomor ")[1].split()[0]) for c in waiting)
    assert positions == list(range(1, 31))
    counts = await runtime.storage.registrations.counts(event_id=event)
    assert (counts.confirmed, counts.waitlisted) == (10, 30)
    assert (await runtime.storage.events.get(event_id=event)).seats_taken == 10


async def test_one_person_tapping_confirm_five_times_at_once(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    event = await event_id(runtime, COMPUTER)
    user = FIRST_USER
    await tg.onboard(user)
    await register_first_time(tg, user, event, "Ana")
    tg.api.clear()
    await asyncio.gather(
        *(tg.app.process_update(tg.button_update(user, f"reg!:{event}")) for _ in range(5))
    )
    sent = [c.text for c in tg.api.calls if c.method == "sendMessage"]
    assert len(sent) == 5
    assert sum("Anda terdaftar!" in t for t in sent) == 1
    assert sum("sudah terdaftar" in t for t in sent) == 4
    assert (await runtime.storage.events.get(event_id=event)).seats_taken == 1
