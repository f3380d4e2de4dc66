"""/datasaya, /hapusdata, /berhenti: seeing, deleting and limiting what is stored."""

from __future__ import annotations

from bot.runtime import Runtime
from tests.telegram_harness import TelegramHarness, payloads, texts

USER = 7001


async def _resident(runtime: Runtime):  # type: ignore[no-untyped-def]
    return await runtime.storage.residents.find(channel="telegram", external_id=str(USER))


async def test_my_data_shows_what_is_stored(tg: TelegramHarness) -> None:
    await tg.onboard(USER, regency="alor")
    calls = await tg.send(USER, "/datasaya")
    text = texts(calls)
    assert str(USER) in text and "Alor" in text and "Bahasa Indonesia" in text
    assert "WITA" in text  # consent moment
    calls = await tg.send(USER, "/mydata")
    assert "Alor" in texts(calls)


async def test_delete_my_data_after_confirmation(tg: TelegramHarness, runtime: Runtime) -> None:
    await tg.onboard(USER, language="en", regency="alor")
    calls = await tg.send(USER, "/deletemydata", "en")
    assert payloads(calls) == ["del:yes", "del:no"]
    calls = await tg.tap(USER, "del:no", "en")
    assert "not deleted" in texts(calls)
    assert (await _resident(runtime)).regency_code == "alor"

    await tg.send(USER, "/hapusdata", "en")
    calls = await tg.tap(USER, "del:yes", "en")
    assert "has been deleted" in texts(calls)
    resident = await _resident(runtime)
    assert resident is not None and not resident.has_consent
    assert resident.regency_code is None and resident.name is None
    # The confirmation button cannot be replayed.
    calls = await tg.tap(USER, "del:yes", "en")
    assert "expired" in texts(calls)


async def test_stop_and_resume_announcements(tg: TelegramHarness, runtime: Runtime) -> None:
    await tg.onboard(USER)
    calls = await tg.send(USER, "/berhenti")
    assert "tidak akan menerima pengumuman" in texts(calls)
    assert (await _resident(runtime)).announcements_off
    await tg.tap(USER, "ann:on")
    assert not (await _resident(runtime)).announcements_off


async def test_cancel_leaves_any_flow(tg: TelegramHarness) -> None:
    await tg.onboard(USER)
    await tg.send(USER, "/hapusdata")
    calls = await tg.send(USER, "/batal")
    assert "dibatalkan" in texts(calls)
    calls = await tg.tap(USER, "del:yes")
    assert "kedaluwarsa" in texts(calls)
