"""Check-in codes cannot be guessed (issue 15): after 5 wrong codes in 10 minutes a person waits,
through /hadir and through codes typed alone; a real code outside its window answers like an
unknown one, except to people on that event's list."""

from __future__ import annotations

from datetime import timedelta

from bot.runtime import Runtime
from storage.clock import to_db, utcnow
from tests.registration_scenarios import COMPUTER, event_id, register_and_confirm, set_event
from tests.telegram_harness import TelegramHarness, texts

USER = 8611
OTHER = 8612


async def _open_now(runtime: Runtime) -> tuple[int, str]:
    event = await event_id(runtime, COMPUTER)
    now = utcnow()
    await set_event(
        runtime,
        event,
        starts_at=to_db(now + timedelta(minutes=10)),
        ends_at=to_db(now + timedelta(hours=2)),
    )
    return event, await runtime.storage.registrations.checkin_code(event_id=event)


async def test_five_wrong_codes_make_a_person_wait(tg: TelegramHarness, runtime: Runtime) -> None:
    _, code = await _open_now(runtime)
    await tg.onboard(USER)
    wrong = runtime.translator.text("id", "reg.wrong_code", code="ZZZZZ2").split(" ")[0]
    for guess in ("ZZZZZ2", "ZZZZZ3", "ZZZZZ4", "ZZZZZ5"):
        assert texts(await tg.send(USER, f"/hadir {guess}")).startswith(wrong)
    # A code typed alone counts too (free text was an unthrottled way to guess).
    await tg.send(USER, "ZZZZZ6")
    replies = await tg.send(USER, f"/hadir {code}")
    assert "Terlalu banyak kode yang salah" in texts(replies)
    # Typed alone, the right code is not tried either while waiting.
    assert "Terlalu banyak" not in texts(await tg.send(USER, code))
    later = utcnow() + timedelta(minutes=11)
    runtime.dispatcher.clock = lambda: later
    replies = await tg.send(USER, f"/hadir {code}")
    assert "Terlalu banyak" not in texts(replies) and wrong not in texts(replies)


async def test_a_code_outside_its_window_is_only_confirmed_to_registrants(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    event = await event_id(runtime, COMPUTER)  # days away: check-in not open yet
    code = await runtime.storage.registrations.checkin_code(event_id=event)
    await tg.onboard(OTHER)
    unknown = texts(await tg.send(OTHER, "/hadir ZZZZZ7"))
    replies = texts(await tg.send(OTHER, f"/hadir {code}"))
    assert replies == unknown.replace("ZZZZZ7", code)
    assert "bisa dicatat dari" not in replies
    # Someone registered for it is told when check-in opens.
    await tg.onboard(USER)
    await register_and_confirm(tg, USER, event, "Maria Goreti")
    assert "bisa dicatat dari" in texts(await tg.send(USER, f"/hadir {code}"))
