"""Renderers for staff rows: the final report of an announcement to its author."""

from __future__ import annotations

from typing import Any

from bot.notifications import Rendered, renderer
from handlers import notification_choices as choices
from handlers.types import Translator
from storage import Storage


@renderer("broadcast_report")
async def broadcast_report(
    params: dict[str, Any], language: str, translator: Translator, storage: Storage
) -> Rendered:
    def number(key: str) -> str:
        return translator.number(language, int(params.get(key, 0)))

    return Rendered(
        translator.text(
            language,
            "staff.bc.report",
            id=params["broadcast_id"],
            sent=number("sent"),
            failed=number("failed"),
            cancelled=number("cancelled"),
            total=number("recipients"),
        )
    )


@renderer("event_restored")
async def event_restored(
    params: dict[str, Any], language: str, translator: Translator, storage: Storage
) -> Rendered:
    """A cancelled event is on again: the registrations stand as they were."""
    event = await storage.events.get(event_id=int(params["event_id"]))
    names = "-"
    if params.get("resident_id") is not None:
        mine = await storage.registrations.for_resident(
            resident_id=int(params["resident_id"]), event_id=event.id
        )
        names = ", ".join(r.name or "-" for r in mine) or "-"
    return Rendered(
        translator.text(
            language,
            "staff_safety.notify.restored",
            title=event.title,
            when=translator.when(language, event.starts_at),
            names=names,
        ),
        (choices.my_events(translator, language),),
        {"event": event.title, "when": translator.when(language, event.starts_at)},
    )


@renderer("event_moved")
async def event_moved(
    params: dict[str, Any], language: str, translator: Translator, storage: Storage
) -> Rendered:
    event = await storage.events.get(event_id=int(params["event_id"]))
    new = event.place or event.library_name
    return Rendered(
        translator.text(
            language,
            "staff_safety.notify.moved",
            title=event.title,
            when=translator.when(language, event.starts_at),
            old=str(params.get("old_place") or "-"),
            new=new,
        ),
        (choices.my_events(translator, language),),
        {"event": event.title, "when": translator.when(language, event.starts_at), "place": new},
    )
