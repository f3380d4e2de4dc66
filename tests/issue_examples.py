"""The examples that used to end in "Maaf, saya belum mengerti" and the main menu (issue 10),
each said at its place through a harness; tests/test_issue_examples_*.py run each one through
Telegram and through WhatsApp."""

from __future__ import annotations

from typing import Any

from bot.runtime import Runtime
from tests.phrasebook import Phrase, Runner

# Said where the phrasebook's runner puts each place (see tests/phrasebook.py).
SAID = [
    Phrase("language", "id", "indonesia"),
    Phrase("consent", "yes", "iya"),
    Phrase("consent", "yes", "setuju"),
    Phrase("regency", "kupang", "kab kupang"),
    Phrase("regency", "tts", "TTS"),
    Phrase("regency", "which", "kupang"),
    Phrase("cancel_confirm", "yes", "ya"),
    Phrase("confirm", "confirmed", "ya"),
    Phrase("age", "36_55", "40"),
    Phrase("age", "18_35", "18-35"),
    Phrase("gender", "female", "cewek"),
    Phrase("gender", "male", "laki"),
    Phrase("gender", "reask", "12345"),
    Phrase("age", "reask", "12345"),
    Phrase("consent", "reask", "12345"),
    Phrase("free", "thanks", "terima kasih kak"),
    Phrase("free", "thanks", "makasih"),
    Phrase("free", "greeting", "P"),
    Phrase("free", "thanks", "👍"),
    Phrase("free", "stop", "berhenti"),
    Phrase("free", "delete", "hapus data saya"),
    Phrase("free", "checkin", "kode FRJ6D3"),
    Phrase("free", "register", "daftar"),
    Phrase("free", "hours@Ende", "jam buka perpus ende"),
    Phrase("free", "libraries@Ende", "where is the library in ende?"),
    Phrase("free", "which", "perpustakan kupang"),
    Phrase("free", "events+day", "acara besok"),
    Phrase("free", "events+day", "acara besok di sikka"),
    Phrase("free", "which", "kupang"),
    Phrase("free", "titled:kelor", "kelor"),
]


async def say(runner: Runner, phrase: Phrase) -> None:
    ok, text = await runner.say(phrase)
    assert ok, (phrase, text)


async def registered_resident_asks(harness: Any, runtime: Runtime, user: Any, said: str) -> str:
    """Someone registered for the computer class types `said`; returns the reply's text."""
    from tests.registration_scenarios import COMPUTER, event_id, register_and_confirm

    event = await event_id(runtime, COMPUTER)
    await harness.onboard(user)
    await register_and_confirm(harness, user, event, "Maria Bria")
    await harness.send(user, "/menu")
    replies = await harness.send(user, said)
    return "\n".join(r.text for r in replies)
