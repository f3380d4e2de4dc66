"""Typed answers at every step, through the real python-telegram-bot Application
(tests/conversation_scenarios.py; the same scenarios run through WhatsApp too)."""

from __future__ import annotations

from bot.runtime import Runtime
from storage.registrations import Registration
from tests import conversation_scenarios as scenarios
from tests.registration_scenarios import agreeing_from_a_detour_returns_to_the_event, event_id
from tests.telegram_harness import TelegramHarness


def _finder(runtime: Runtime, user: int):  # type: ignore[no-untyped-def]
    async def find():  # type: ignore[no-untyped-def]
        return await runtime.storage.residents.find(channel="telegram", external_id=str(user))

    return find


def _registration(runtime: Runtime, user: int):  # type: ignore[no-untyped-def]
    async def find(event: int) -> Registration:
        resident = await _finder(runtime, user)()
        mine = await runtime.storage.registrations.for_resident(
            resident_id=resident.id, event_id=event
        )
        return next(r for r in mine if not r.is_proxy)

    return find


async def test_typed_onboarding_in_kupang_malay(tg: TelegramHarness, runtime: Runtime) -> None:
    await scenarios.typed_onboarding_in_kupang_malay(tg, 7001, _finder(runtime, 7001))


async def test_setuju_and_an_abbreviation(tg: TelegramHarness, runtime: Runtime) -> None:
    await scenarios.setuju_and_an_abbreviation(tg, 7002, _finder(runtime, 7002))


async def test_a_step_never_dies(tg: TelegramHarness) -> None:
    await scenarios.a_step_never_dies(tg, 7003)


async def test_registration_typed_all_the_way(tg: TelegramHarness, runtime: Runtime) -> None:
    await scenarios.registration_typed_all_the_way(tg, runtime, 7004, _registration(runtime, 7004))


async def test_hyphen_age_and_laki(tg: TelegramHarness, runtime: Runtime) -> None:
    await scenarios.hyphen_age_and_laki(tg, runtime, 7005)


async def test_a_half_finished_registration_is_offered_again(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    await scenarios.a_half_finished_registration_is_offered_again(tg, runtime, 7006)


async def test_full_event_says_waiting_list(tg: TelegramHarness, runtime: Runtime) -> None:
    await scenarios.full_event_says_waiting_list(tg, runtime, 7007)


async def test_agreeing_from_a_detour_returns_to_the_event(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    from tests.registration_scenarios import COMPUTER

    event = await event_id(runtime, COMPUTER)
    await agreeing_from_a_detour_returns_to_the_event(tg, 7008, event)


async def test_resident_screens_do_what_people_expect(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    await scenarios.resident_screens_do_what_people_expect(tg, runtime, 7009)


async def test_every_screen_fits_a_cheap_phone(tg: TelegramHarness, runtime: Runtime) -> None:
    await scenarios.every_screen_fits_a_cheap_phone(tg, runtime, 7010)
