"""Reminder rows rendered at delivery time, with the event's current title, time and place."""

from __future__ import annotations

from typing import Any

from bot.notifications import Rendered, renderer
from handlers import notification_choices as choices
from handlers.types import Translator
from storage import Storage


@renderer("reminder")
async def reminder(
    params: dict[str, Any], language: str, translator: Translator, storage: Storage
) -> Rendered:
    event = await storage.events.get(event_id=int(params["event_id"]))
    values = {
        "title": event.title,
        "when": translator.when(language, event.starts_at),
        "place": f"{event.place} — {event.library_name}" if event.place else event.library_name,
    }
    if not params.get("ask"):
        return Rendered(translator.text(language, "reminders.soon", **values))
    registration = int(params["registration_id"])
    return Rendered(
        translator.text(language, "reminders.ask", **values),
        choices.reminder_question(translator, language, registration),
    )
