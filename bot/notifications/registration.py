"""Renderers for the outbox rows the registrations repository writes inside its transactions:
`promotion` (a waitlisted person got a seat), `event_cancelled` and `event_changed`.

They read the registration and event as they are at delivery time, so a message delayed by a
rate limit still carries the current time and place.
"""

from __future__ import annotations

from typing import Any

from bot.notifications import Rendered, renderer
from handlers import notification_choices as choices
from handlers.types import Translator
from storage import Storage
from storage.clock import from_db
from storage.models import Event


def _where(event: Event, language: str, translator: Translator) -> str:
    return translator.text(
        language,
        "events.where",
        library=event.library_name,
        place=event.place or event.library_name,
    )


def _when(event: Event, language: str, translator: Translator) -> str:
    return translator.text(language, "events.when", when=translator.when(language, event.starts_at))


async def _names(storage: Storage, resident_id: int | None, event_id: int) -> str:
    if resident_id is None:
        return "-"
    mine = await storage.registrations.for_resident(resident_id=resident_id, event_id=event_id)
    return ", ".join(r.name or "-" for r in mine) or "-"


def _template_params(event: Event, language: str, translator: Translator) -> dict[str, str]:
    """Template parameters ({{1}}, {{2}}... of docs/whatsapp.md section 7): plain words, no emoji
    or line breaks, because the approved template text already says "on" and "at"."""
    place = f"{event.place}, {event.library_name}" if event.place else event.library_name
    return {
        "event": event.title,
        "when": translator.when(language, event.starts_at),
        "place": place,
    }


@renderer("promotion")
async def promotion(
    params: dict[str, Any], language: str, translator: Translator, storage: Storage
) -> Rendered:
    registration = await storage.registrations.get(registration_id=int(params["registration_id"]))
    event = await storage.events.get(event_id=registration.event_id)
    key = "reg.notify.promotion_proxy" if registration.is_proxy else "reg.notify.promotion"
    text = translator.text(
        language,
        key,
        name=registration.name or "-",
        title=event.title,
        when=_when(event, language, translator),
        where=_where(event, language, translator),
    )
    return Rendered(
        text,
        choices.promotion(translator, language, registration.id),
        _template_params(event, language, translator),
    )


@renderer("event_cancelled")
async def event_cancelled(
    params: dict[str, Any], language: str, translator: Translator, storage: Storage
) -> Rendered:
    event = await storage.events.get(event_id=int(params["event_id"]))
    resident_id = params.get("resident_id")
    text = translator.text(
        language,
        "reg.notify.event_cancelled",
        title=event.title,
        when=translator.when(language, event.starts_at),
        names=await _names(storage, resident_id, event.id),
    )
    return Rendered(
        text,
        (choices.browse_events(translator, language),),
        _template_params(event, language, translator),
    )


@renderer("event_changed")
async def event_changed(
    params: dict[str, Any], language: str, translator: Translator, storage: Storage
) -> Rendered:
    event = await storage.events.get(event_id=int(params["event_id"]))
    text = translator.text(
        language,
        "reg.notify.event_changed",
        title=event.title,
        old=translator.when(language, from_db(str(params["old_starts_at"]))),
        when=_when(event, language, translator),
        where=_where(event, language, translator),
        names=await _names(storage, params.get("resident_id"), event.id),
    )
    return Rendered(
        text,
        (choices.my_events(translator, language),),
        _template_params(event, language, translator),
    )
