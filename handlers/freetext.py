"""Free text never meets silence: greetings, questions about hours and events, a library's or a
regency's name, or the menu with an apology. Keywords are matched in both languages whatever the
person's language, because people mix them."""

from __future__ import annotations

import functools
import re

from handlers import books, events, libraries
from handlers.common import main_menu, menu_choices
from handlers.help import show_help
from handlers.types import Choice, Context

_GREETINGS = {"halo", "hallo", "hai", "hi", "hello", "pagi", "siang", "sore", "malam", "salam"}
_HELP = {"help", "bantuan", "tolong", "bantu", "?"}
_MENU = {"menu", "mulai", "start"}
_HOURS = ("jam buka", "buka jam", "jam layanan", "opening hours", "open hours", "hours", "buka")
_THIS_WEEK = ("minggu ini", "this week", "pekan ini")
_EVENTS = ("acara", "kegiatan", "event", "pelatihan", "training", "kelas", "class")
_LIBRARIES = ("perpustakaan", "perpus", "library", "libraries", "layanan", "services", "taman baca")
_CATEGORY_WORDS = {
    "computer": ("komputer", "computer", "internet"),
    "food": ("olahan", "pangan", "makanan", "food", "kuliner"),
    "marketing": ("pemasaran", "marketing", "umkm", "jualan online"),
    "english": ("bahasa inggris", "english", "inggris"),
    "children": ("anak", "children", "dongeng", "story"),
    "weaving": ("tenun", "weaving", "ikat"),
}


# Regency names are normalised on every free-text message, and people repeat the same words.
@functools.lru_cache(maxsize=4096)
def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s?]", " ", text.lower()).split())


@functools.cache
def _starting_a_word(phrases: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(rf"\b{re.escape(p)}" for p in phrases))


def _has(text: str, phrases: tuple[str, ...]) -> bool:
    return _starting_a_word(phrases).search(text) is not None


async def answer(ctx: Context) -> None:
    text = _normalise(ctx.incoming.text)
    words = set(text.split())
    if not text:
        main_menu(ctx, "freetext.not_understood")
        return
    if text in _MENU:
        main_menu(ctx)
        return
    if words <= _GREETINGS:  # only a greeting ("halo", "pagi"): nothing to look up
        main_menu(ctx, "freetext.greeting")
        return
    if words & _HELP:
        await show_help(ctx)
        return
    # A book asked for ("buku anak", "novel Pramoedya") before the event categories' words.
    if await books.free_text(ctx, text):
        return
    if _has(text, _HOURS):
        await _opening_hours(ctx)
        return
    where = ctx.home_regency or "*"
    for category, phrases in _CATEGORY_WORDS.items():
        if _has(text, phrases):
            await events.list_events(ctx, where="*", category=category, days=30, page=0)
            return
    if _has(text, _THIS_WEEK):
        await events.list_events(ctx, where=where, category="*", days=7, page=0)
        return
    if _has(text, _EVENTS):
        await events.list_events(ctx, where=where, category="*", days=30, page=0)
        return
    if await _named_place(ctx, text):
        return
    if _has(text, _LIBRARIES):
        await libraries.show_list(ctx)
        return
    if words & _GREETINGS:
        main_menu(ctx, "freetext.greeting")
        return
    ctx.say(ctx.t("freetext.not_understood"), *menu_choices(ctx))


async def _opening_hours(ctx: Context) -> None:
    near, _ = await ctx.storage.libraries.near(regency_code=ctx.home_regency, limit=5)
    lines = [ctx.t("freetext.hours_title")]
    lines += [f"• {lib.name}: {lib.opening_hours}" for lib in near]
    ctx.say(
        "\n".join(lines),
        *(Choice(lib.name[:60], f"lib:{lib.id}") for lib in near),
        ctx.choice("common.menu", "menu"),
    )


async def _named_place(ctx: Context, text: str) -> bool:
    """A regency's or a library's name: show what is there."""
    for regency in await ctx.storage.libraries.regencies():
        if _normalise(regency.name) == text or (
            len(text) >= 4 and _normalise(regency.name).endswith(text)
        ):
            found = await ctx.storage.libraries.in_regency(regency_code=regency.code)
            lines = [ctx.t("freetext.in_regency", regency=regency.name)]
            lines += [f"• {lib.name}: {lib.opening_hours}" for lib in found] or [
                ctx.t("libraries.none")
            ]
            ctx.say(
                "\n".join(lines),
                *(Choice(lib.name[:60], f"lib:{lib.id}") for lib in found[:5]),
                ctx.choice("libraries.its_events", f"evs:{regency.code}:*:30:0"),
                ctx.choice("common.menu", "menu"),
            )
            return True
    if len(text) < 4:
        return False
    found = await ctx.storage.libraries.search(text=text)
    if len(found) == 1:
        await libraries.show_one(ctx, str(found[0].id))
        return True
    if found:
        ctx.say(
            ctx.t("freetext.libraries_found"),
            *(Choice(lib.name[:60], f"lib:{lib.id}") for lib in found),
            ctx.choice("common.menu", "menu"),
        )
        return True
    return False
