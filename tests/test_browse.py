"""Library services, events (paged, by regency and category), free text, stale buttons."""

from __future__ import annotations

from datetime import timedelta

from bot.runtime import Runtime
from storage.clock import to_db, utcnow
from tests.telegram_harness import TelegramHarness, payloads, texts

USER = 6001


async def test_libraries_near_me_come_first_with_their_details(tg: TelegramHarness) -> None:
    await tg.onboard(USER, regency="ende")
    calls = await tg.send(USER, "/layanan")
    first = calls[0].buttons[0]
    assert "Ende" in first[0]
    calls = await tg.tap(USER, first[1])
    text = texts(calls)
    assert "Alamat:" in text and "Jam buka:" in text and "Layanan:" in text
    assert "Contoh data" in text


async def test_events_list_and_details_in_both_languages(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    await tg.onboard(USER, language="en", regency="kota-kupang")
    calls = await tg.send(USER, "/events", "en")
    assert "Events in the next 30 days" in texts(calls)
    event_payload = next(p for p in payloads(calls) if p.startswith("ev:"))
    calls = await tg.tap(USER, event_payload, "en")
    event = await runtime.storage.events.get(event_id=int(event_payload[3:]))
    text = texts(calls)
    assert event.title in text
    assert " at " in text and "WITA" in text
    assert "Seats left" in text or "No seat limit" in text

    await tg.send(USER, "/bahasa", "en")
    await tg.tap(USER, "lang:id")
    calls = await tg.tap(USER, event_payload)
    assert " pukul " in texts(calls) and "WITA" in texts(calls)


async def test_many_events_are_paged_under_telegram_limits(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    start = utcnow() + timedelta(days=2)
    async with runtime.storage.db.transaction() as conn:
        for n in range(120):
            begins = start + timedelta(hours=n)
            await conn.execute(
                "INSERT INTO events (slug, library_id, title, category, description, starts_at,"
                " ends_at, capacity) VALUES (?, 1, ?, 'computer', ?, ?, ?, 20)",
                (
                    f"bulk-{n}",
                    f"Kelas komputer {n} " + "x" * 80,
                    "d" * 900,
                    to_db(begins),
                    to_db(begins + timedelta(hours=2)),
                ),
            )
    await tg.onboard(USER)
    calls = await tg.tap(USER, "evs:*:*:30:0")
    seen_pages = 0
    while True:
        assert all(len(c.text) <= 4096 for c in calls)
        assert all(len(p.encode()) <= 64 for p in payloads(calls))
        seen_pages += 1
        nxt = [p for label, p in calls[-1].buttons if "Berikutnya" in label]
        if not nxt:
            break
        calls = await tg.tap(USER, nxt[0])
    assert seen_pages >= 120 // 5


async def test_category_filter(tg: TelegramHarness) -> None:
    await tg.onboard(USER)
    calls = await tg.tap(USER, "evc:*:30")
    assert "evs:*:weaving:30:0" in payloads(calls)
    calls = await tg.tap(USER, "evs:*:weaving:30:0")
    assert "Tenun ikat" in texts(calls)


async def test_stale_or_meaningless_buttons_get_the_expired_answer(tg: TelegramHarness) -> None:
    await tg.onboard(USER)
    for payload in [
        "ev:999999",
        "lib:abc",
        "zzz:1",
        "evs:*:*:30:999",
        "evs:nowhere:*:30:0",
        "consent:yes",
        "lang:fr",
        "del:yes",
        "evs:broken",
    ]:
        calls = await tg.tap(USER, payload)
        assert "kedaluwarsa" in texts(calls), payload
        assert "menu" in payloads(calls) or "libs:0" in payloads(calls)


async def test_free_text_never_meets_silence(tg: TelegramHarness) -> None:
    await tg.onboard(USER, regency="sikka")
    cases = {
        "jam buka": "Jam buka",
        "acara minggu ini": "7 hari",
        "halo": "Halo",
        "help": "/layanan",
        "Ende": "Perpustakaan di Ende",
        "tenun": "Tenun ikat",
        "asdfgh qwerty": "belum mengerti",
    }
    for said, expected in cases.items():
        calls = await tg.send(USER, said)
        assert calls and expected in texts(calls), (said, texts(calls))


async def test_unknown_commands_media_and_oversized_text(tg: TelegramHarness) -> None:
    await tg.onboard(USER, language="en")
    calls = await tg.send(USER, "/frobnicate", "en")
    assert "don't know that command" in texts(calls)
    calls = await tg.send(USER, "x" * 1500, "en")
    assert "too long" in texts(calls)
    update = tg.message_update(USER, "ignored", "en")
    data = update.to_dict()
    del data["message"]["text"]
    data["message"]["sticker"] = {
        "file_id": "s",
        "file_unique_id": "s",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "type": "regular",
    }
    from telegram import Update

    before = len(tg.api.calls)
    await tg.app.process_update(Update.de_json(data, tg.app.bot))
    assert "only read text" in texts(tg.api.calls[before:])


async def test_every_callback_query_is_answered(tg: TelegramHarness) -> None:
    await tg.onboard(USER)
    tg.api.clear()
    await tg.tap(USER, "libs:0")
    await tg.tap(USER, "no-such-button")
    assert [c.method for c in tg.api.calls].count("answerCallbackQuery") == 2
