"""Pieces every flow uses: the main menu, the "expired" answer, paging buttons, and matching
what people type against the choices they were shown."""

from __future__ import annotations

import functools
import re

from handlers import steps
from handlers.types import Choice, Context
from handlers.understand import match_choice


# The same menu labels come back with every typed message.
@functools.lru_cache(maxsize=4096)
def words_of(text: str) -> str:
    """Typed text or a label as its lower-case words, without emoji, arrows or punctuation, for
    matching what people type against what they were shown."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def typed_choice(text: str, shown: object) -> str | None:
    """The payload of the shown choice (a session's [[label, payload(, means)], ...]) that typed
    text names by its number, its words or what it means (handlers/understand.py), if any."""
    return match_choice(text, shown).payload


def menu_choices(ctx: Context) -> list[Choice]:
    return [
        ctx.choice("menu.services", "libs:0"),
        ctx.choice("menu.events", "evs:h:*:30:0"),
        ctx.choice("catalogue.menu", "bk?"),
        ctx.choice("menu.my_events", "my"),
        ctx.choice("menu.language", "lang?"),
        ctx.choice("menu.privacy", "privacy"),
        ctx.choice("menu.help", "help"),
    ]


def main_menu(ctx: Context, intro_key: str = "menu.title") -> None:
    """The menu; a registration left half-way in the last day is offered first."""
    offer = steps.offer(ctx) if ctx.session.flow is None else None
    if offer is None:
        ctx.say(ctx.t(intro_key), *menu_choices(ctx))
        return
    text, choice = offer
    ctx.say(f"{ctx.t(intro_key)}\n\n{text}", choice, *menu_choices(ctx))


def expired(ctx: Context) -> None:
    """A button from an old message, or a payload that no longer means anything."""
    ctx.session.end_flow()
    main_menu(ctx, "common.expired")


def pager(ctx: Context, *, page: int, total: int, page_size: int, payload: str) -> list[Choice]:
    """Previous/next buttons; `payload` has one `{}` for the page number."""
    choices = []
    if page > 0:
        choices.append(ctx.choice("common.previous", payload.format(page - 1)))
    if (page + 1) * page_size < total:
        choices.append(ctx.choice("common.next", payload.format(page + 1)))
    return choices


def page_count(total: int, page_size: int) -> int:
    return max((total + page_size - 1) // page_size, 1)


def parse_page(text: str) -> int:
    page = int(text)
    if page < 0:
        raise ValueError(text)
    return page


def clip(text: str, limit: int) -> str:
    """Cut to `limit` characters on a word boundary where one is near, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"
