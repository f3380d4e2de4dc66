"""The phrasebook (tests/data/phrasebook.yaml, over 400 things residents type, at each place of
the conversation) through the real python-telegram-bot Application: every phrase has its
expected outcome. The same phrasebook runs through WhatsApp in test_phrasebook_whatsapp.py."""

from __future__ import annotations

from bot.runtime import Runtime
from tests import phrasebook
from tests.telegram_harness import TelegramHarness


async def test_every_phrase_is_understood_on_telegram(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    runner = phrasebook.Runner(
        tg, runtime, phrasebook.counter(900_000), lambda user: ("telegram", str(user))
    )
    phrases = phrasebook.load()
    assert len(phrases) >= 250
    missed = await phrasebook.run_all(runner, phrases)
    assert not missed, "\n".join(
        f"{p.at} {p.say!r} (expected {p.expect}): {text[:160]!r}" for p, text in missed
    )
