"""Each example of issue 10 gets a useful answer through the real python-telegram-bot
Application (the same examples run through WhatsApp in test_issue_examples_whatsapp.py)."""

from __future__ import annotations

import pytest

from bot.runtime import Runtime
from tests import issue_examples, phrasebook
from tests.phrasebook import Phrase
from tests.telegram_harness import TelegramHarness


def _runner(tg: TelegramHarness, runtime: Runtime) -> phrasebook.Runner:
    return phrasebook.Runner(
        tg, runtime, phrasebook.counter(800_000), lambda user: ("telegram", str(user))
    )


@pytest.mark.parametrize("phrase", issue_examples.SAID, ids=lambda p: f"{p.at}:{p.say}")
async def test_example(tg: TelegramHarness, runtime: Runtime, phrase: Phrase) -> None:
    await issue_examples.say(_runner(tg, runtime), phrase)


async def test_beta_su_daftar_ko_lists_the_registration(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    text = await issue_examples.registered_resident_asks(tg, runtime, 8801, "beta su daftar ko?")
    assert "Acara saya" in text and "Pelatihan Komputer Dasar" in text and "Maria Bria" in text


async def test_sonde_bisa_datang_offers_the_cancel_button(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    text = await issue_examples.registered_resident_asks(tg, runtime, 8802, "sonde bisa datang")
    assert "Pilih pendaftaran yang ingin dibatalkan" in text
    assert "Pelatihan Komputer Dasar" in text
