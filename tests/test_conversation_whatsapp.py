"""Typed answers at every step, through the real WhatsApp webhook server
(tests/conversation_scenarios.py; the same scenarios run through Telegram too)."""

from __future__ import annotations

from bot.runtime import Runtime
from storage.registrations import Registration
from tests import conversation_scenarios as scenarios
from tests.registration_scenarios import (
    COMPUTER,
    agreeing_from_a_detour_returns_to_the_event,
    event_id,
)
from tests.whatsapp_harness import WhatsAppHarness


def _finder(runtime: Runtime, phone: str):  # type: ignore[no-untyped-def]
    async def find():  # type: ignore[no-untyped-def]
        return await runtime.storage.residents.find(channel="whatsapp", external_id="+" + phone)

    return find


def _registration(runtime: Runtime, phone: str):  # type: ignore[no-untyped-def]
    async def find(event: int) -> Registration:
        resident = await _finder(runtime, phone)()
        mine = await runtime.storage.registrations.for_resident(
            resident_id=resident.id, event_id=event
        )
        return next(r for r in mine if not r.is_proxy)

    return find


async def test_typed_onboarding_in_kupang_malay(wa: WhatsAppHarness, runtime: Runtime) -> None:
    phone = "6281200007001"
    await scenarios.typed_onboarding_in_kupang_malay(wa, phone, _finder(runtime, phone))


async def test_setuju_and_an_abbreviation(wa: WhatsAppHarness, runtime: Runtime) -> None:
    phone = "6281200007002"
    await scenarios.setuju_and_an_abbreviation(wa, phone, _finder(runtime, phone))


async def test_a_step_never_dies(wa: WhatsAppHarness) -> None:
    await scenarios.a_step_never_dies(wa, "6281200007003")


async def test_registration_typed_all_the_way(wa: WhatsAppHarness, runtime: Runtime) -> None:
    phone = "6281200007004"
    await scenarios.registration_typed_all_the_way(
        wa, runtime, phone, _registration(runtime, phone)
    )


async def test_hyphen_age_and_laki(wa: WhatsAppHarness, runtime: Runtime) -> None:
    await scenarios.hyphen_age_and_laki(wa, runtime, "6281200007005")


async def test_a_half_finished_registration_is_offered_again(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    await scenarios.a_half_finished_registration_is_offered_again(wa, runtime, "6281200007006")


async def test_full_event_says_waiting_list(wa: WhatsAppHarness, runtime: Runtime) -> None:
    await scenarios.full_event_says_waiting_list(wa, runtime, "6281200007007")


async def test_agreeing_from_a_detour_returns_to_the_event(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    event = await event_id(runtime, COMPUTER)
    await agreeing_from_a_detour_returns_to_the_event(wa, "6281200007008", event)


async def test_resident_screens_do_what_people_expect(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    await scenarios.resident_screens_do_what_people_expect(wa, runtime, "6281200007009")


async def test_every_screen_fits_a_cheap_phone(wa: WhatsAppHarness, runtime: Runtime) -> None:
    await scenarios.every_screen_fits_a_cheap_phone(wa, runtime, "6281200007010")
