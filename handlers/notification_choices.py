"""The buttons under messages the bot sends on its own (outbox rows rendered in
bot/notifications/): built here, beside the handlers that answer them, so a payload's shape is
decided in one layer. Each choice is one the router in handlers/router.py knows."""

from __future__ import annotations

from handlers.types import Choice, Translator


def _choice(translator: Translator, language: str, key: str, payload: str) -> Choice:
    return Choice(translator.text(language, key), payload)


def my_events(translator: Translator, language: str) -> Choice:
    return _choice(translator, language, "reg.my_events", "my")


def browse_events(translator: Translator, language: str) -> Choice:
    return _choice(translator, language, "reg.browse_events", "evs:h:*:30:0")


def promotion(translator: Translator, language: str, registration_id: int) -> tuple[Choice, ...]:
    """A waiting-list place became a seat: calendar, cancel, my events."""
    return (
        _choice(translator, language, "reg.add_calendar", f"ics:{registration_id}"),
        _choice(translator, language, "reg.cancel_registration", f"rc?:{registration_id}"),
        my_events(translator, language),
    )


def reminder_question(
    translator: Translator, language: str, registration_id: int
) -> tuple[Choice, ...]:
    """The earliest reminder asks whether the person still comes (handlers/reminders.py)."""
    return (
        _choice(translator, language, "reminders.yes", f"rmd:ok:{registration_id}"),
        _choice(translator, language, "reminders.no", f"rmd:no:{registration_id}"),
    )
