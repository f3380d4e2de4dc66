"""Each example of issue 10 gets a useful answer through the real WhatsApp webhook server (the
same examples run through Telegram in test_issue_examples_telegram.py)."""

from __future__ import annotations

import pytest

from bot.runtime import Runtime
from tests import issue_examples, phrasebook
from tests.phrasebook import Phrase
from tests.whatsapp_harness import WhatsAppHarness


def _runner(wa: WhatsAppHarness, runtime: Runtime) -> phrasebook.Runner:
    numbers = phrasebook.counter(6281400000000)
    return phrasebook.Runner(
        wa, runtime, lambda: str(numbers()), lambda phone: ("whatsapp", "+" + phone)
    )


@pytest.mark.parametrize("phrase", issue_examples.SAID, ids=lambda p: f"{p.at}:{p.say}")
async def test_example(wa: WhatsAppHarness, runtime: Runtime, phrase: Phrase) -> None:
    await issue_examples.say(_runner(wa, runtime), phrase)
    assert wa.api.refused == []


async def test_beta_su_daftar_ko_lists_the_registration(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    text = await issue_examples.registered_resident_asks(
        wa, runtime, "6281400009901", "beta su daftar ko?"
    )
    assert "Acara saya" in text and "Pelatihan Komputer Dasar" in text and "Maria Bria" in text


async def test_sonde_bisa_datang_offers_the_cancel_button(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    text = await issue_examples.registered_resident_asks(
        wa, runtime, "6281400009902", "sonde bisa datang"
    )
    assert "Pilih pendaftaran yang ingin dibatalkan" in text
    assert "Pelatihan Komputer Dasar" in text
