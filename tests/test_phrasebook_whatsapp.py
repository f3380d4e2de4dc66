"""The phrasebook (tests/data/phrasebook.yaml) through the real WhatsApp webhook server: every
phrase has its expected outcome, as on Telegram (test_phrasebook_telegram.py)."""

from __future__ import annotations

from bot.runtime import Runtime
from tests import phrasebook
from tests.whatsapp_harness import WhatsAppHarness


async def test_every_phrase_is_understood_on_whatsapp(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    numbers = phrasebook.counter(6281300000000)
    runner = phrasebook.Runner(
        wa, runtime, lambda: str(numbers()), lambda phone: ("whatsapp", "+" + phone)
    )
    missed = await phrasebook.run_all(runner)
    assert not missed, "\n".join(
        f"{p.at} {p.say!r} (expected {p.expect}): {text[:160]!r}" for p, text in missed
    )
    assert wa.api.refused == []
