"""/datasaya, /hapusdata, /berhenti: seeing, deleting and limiting what is stored."""

from __future__ import annotations

from bot.runtime import Runtime
from tests import flow_scenarios
from tests.telegram_harness import TelegramHarness, texts

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
    await flow_scenarios.declining_deletion_keeps_my_data(tg, USER, language="en")
    assert (await _resident(runtime)).regency_code == "alor"

    resident = await flow_scenarios.deleting_my_data_after_confirmation(
        tg, USER, lambda: _resident(runtime), language="en"
    )
    assert resident.name is None


async def test_stop_and_resume_announcements(tg: TelegramHarness, runtime: Runtime) -> None:
    await flow_scenarios.stop_and_resume_announcements(tg, USER, lambda: _resident(runtime))


async def test_cancel_leaves_any_flow(tg: TelegramHarness) -> None:
    await flow_scenarios.cancel_leaves_any_flow(tg, USER)
