"""Renderers for staff rows: the final report of an announcement to its author."""

from __future__ import annotations

import json
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


@renderer("staff_menu")
async def staff_menu(
    params: dict[str, Any], language: str, translator: Translator, storage: Storage
) -> Rendered:
    """The person's command menu as their roles are now: the public commands, then the staff
    commands of every role held (none: the public menu only). No text: the channel sets it."""
    from handlers.router import COMMANDS, STAFF_COMMANDS
    from handlers.staff.roles import ROLE_COMMANDS

    held = await storage.staff.roles_of(
        channel=str(params["channel"]), external_id=str(params["external_id"])
    )
    names = dict.fromkeys(["peran"] if held else [])
    for role in held:
        names.update(dict.fromkeys(ROLE_COMMANDS[role.role]))
    english = language == "en"
    menu = [
        (en if english else ind, translator.text(language, key)) for ind, en, _, key in COMMANDS
    ]
    staff = [
        (en if english else ind, translator.text(language, f"staff_safety.commands.{ind}"))
        for ind, en, _ in STAFF_COMMANDS
        if ind in names
    ]
    return Rendered(
        "",
        params={"commands": json.dumps(menu + staff, ensure_ascii=False), "staff": str(len(staff))},
    )
