"""Library services, events (paged, by regency and category), free text, stale buttons."""

from __future__ import annotations

from bot.runtime import Runtime
from tests import flow_scenarios
from tests.telegram_harness import TelegramHarness, payloads, texts

USER = 6001


async def test_libraries_near_me_come_first_with_their_details(tg: TelegramHarness) -> None:
    await tg.onboard(USER, regency="ende")
    calls = await tg.send(USER, "/layanan")
    first = calls[0].buttons[0]
    assert "Ende" in first[0]
    await flow_scenarios.open_library(tg, USER, first[1])


async def test_events_list_and_details_in_both_languages(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    details = await flow_scenarios.events_list_and_details_in_both_languages(
        tg, USER, runtime, language="en"
    )
    assert "Seats left" in details or "No seat limit" in details


async def test_many_events_are_paged_under_telegram_limits(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    await flow_scenarios.add_bulk_events(runtime, 120)
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
    await flow_scenarios.category_filter(tg, USER)


async def test_stale_or_meaningless_buttons_get_the_expired_answer(tg: TelegramHarness) -> None:
    await flow_scenarios.stale_or_meaningless_buttons_get_the_expired_answer(tg, USER)


async def test_free_text_never_meets_silence(tg: TelegramHarness) -> None:
    cases = {
        "jam buka": "Jam buka",
        "acara minggu ini": "7 hari",
        "halo": "Halo",
        "help": "/layanan",
        "Ende": "Perpustakaan di Ende",
        "tenun": "Tenun ikat",
        "asdfgh qwerty": "belum mengerti",
    }
    await flow_scenarios.free_text_never_meets_silence(tg, USER, cases)


async def test_unknown_commands_media_and_oversized_text(tg: TelegramHarness) -> None:
    await flow_scenarios.unknown_command_and_oversized_text(tg, USER, language="en")
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
