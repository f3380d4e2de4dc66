"""/start: language, privacy consent, home regency; declining; resuming after a restart."""

from __future__ import annotations

from bot.channels.telegram import TelegramChannel
from bot.runtime import Runtime
from tests import flow_scenarios
from tests.fakes.telegram_api import FakeBotApi
from tests.telegram_harness import TelegramHarness, payloads, texts

USER = 5001


async def test_full_onboarding_in_indonesian(tg: TelegramHarness, runtime: Runtime) -> None:
    calls = await tg.send(USER, "/start")
    assert "Selamat datang" in texts(calls)
    assert payloads(calls) == ["lang:id", "lang:en"]

    calls = await tg.tap(USER, "lang:id")
    assert "Pemberitahuan privasi" in texts(calls)
    assert "/hapusdata" in texts(calls)
    assert payloads(calls) == ["consent:yes", "consent:no"]
    # Nothing beyond the chat id is stored before consent.
    assert await runtime.storage.residents.find(channel="telegram", external_id=str(USER)) is None

    calls = await tg.tap(USER, "consent:yes")
    assert "kabupaten/kota mana" in texts(calls)
    assert len(payloads(calls)) == 22
    assert "home:ende" in payloads(calls)

    calls = await tg.tap(USER, "home:ende")
    assert "Wilayah Anda: Ende." in texts(calls)
    assert "Menu utama" in texts(calls)
    resident = await runtime.storage.residents.find(channel="telegram", external_id=str(USER))
    assert resident is not None and resident.has_consent
    assert resident.regency_code == "ende" and resident.language == "id"

    calls = await tg.send(USER, "/start")
    assert "Selamat datang kembali" in texts(calls)


async def test_full_onboarding_in_english(tg: TelegramHarness, runtime: Runtime) -> None:
    await tg.send(USER, "/start", "en")
    calls = await tg.tap(USER, "lang:en", "en")
    assert "Privacy notice" in texts(calls)
    calls = await tg.tap(USER, "consent:yes", "en")
    assert "Which regency" in texts(calls)
    calls = await tg.tap(USER, "home:sikka", "en")
    assert "Your area: Sikka." in texts(calls)
    assert "Main menu" in texts(calls)
    resident = await runtime.storage.residents.find(channel="telegram", external_id=str(USER))
    assert resident is not None and resident.language == "en"


async def test_declining_consent_still_lets_people_browse(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    await flow_scenarios.declining_consent_still_lets_people_browse(
        tg, USER, lambda: runtime.storage.residents.find(channel="telegram", external_id=str(USER))
    )


async def test_restart_in_the_middle_of_onboarding_resumes(
    runtime: Runtime, fake_api: FakeBotApi
) -> None:
    first = TelegramChannel(runtime.settings, runtime.dispatcher, runtime.translator).build()
    async with first:
        harness = TelegramHarness(first, fake_api)
        await harness.send(USER, "/start", "en")
        await harness.tap(USER, "lang:en", "en")

    # A new process: everything opened afresh on the same database file, nothing shared in memory.
    again = await Runtime.open(runtime.settings)
    try:
        second = TelegramChannel(again.settings, again.dispatcher, again.translator).build()
        async with second:
            harness = TelegramHarness(second, fake_api)
            calls = await harness.tap(USER, "consent:yes", "en")
            assert "Which regency" in texts(calls)
            calls = await harness.tap(USER, "home:alor", "en")
            assert "Your area: Alor." in texts(calls)
    finally:
        await again.close()


async def test_typing_the_number_or_words_of_a_choice_picks_it(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    await flow_scenarios.typing_the_number_or_words_of_a_choice_picks_it(tg, USER)
