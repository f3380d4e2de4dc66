"""Library services: the libraries near a resident (their regency first) and one library's card."""

from __future__ import annotations

from handlers.common import clip, expired, page_count, pager, parse_page
from handlers.types import Choice, Context
from storage.errors import NotFound
from storage.models import Library


async def show_list(ctx: Context, arg: str = "0") -> None:
    try:
        page = parse_page(arg)
    except ValueError:
        expired(ctx)
        return
    size = ctx.settings.page_size
    libraries, total = await ctx.storage.libraries.near(
        regency_code=ctx.home_regency, offset=page * size, limit=size
    )
    if not libraries and page > 0:
        expired(ctx)
        return
    if not libraries:
        ctx.say(ctx.t("libraries.none"), ctx.choice("common.menu", "menu"))
        return
    lines = [ctx.t("libraries.title", page=page + 1, pages=page_count(total, size))]
    for number, library in enumerate(libraries, start=1):
        lines.append(f"{number}. {library.name}\n   {library.opening_hours}")
    if any(library.is_sample for library in libraries):
        lines.append(ctx.t("common.sample_note"))
    choices = [
        Choice(clip(f"{n}. {lib.name}", 60), f"lib:{lib.id}")
        for n, lib in enumerate(libraries, start=1)
    ]
    choices += pager(ctx, page=page, total=total, page_size=size, payload="libs:{}")
    choices.append(ctx.choice("common.menu", "menu"))
    ctx.say("\n\n".join(lines), *choices)


def card(ctx: Context, library: Library, regency_name: str) -> str:
    level = ctx.t(f"libraries.level.{library.level}")
    parts = [
        f"{library.name}",
        ctx.t("libraries.where", level=level, regency=regency_name),
        ctx.t("libraries.address", address=library.address),
        ctx.t("libraries.hours", hours=library.opening_hours),
    ]
    if library.contact:
        parts.append(ctx.t("libraries.contact", contact=library.contact))
    if library.services:
        services = "\n".join(f"• {s}" for s in library.services)
        parts.append(ctx.t("libraries.services", services=services))
    if library.is_sample:
        parts.append(ctx.t("common.sample_note"))
    return "\n".join(parts)


async def show_one(ctx: Context, arg: str) -> None:
    try:
        library = await ctx.storage.libraries.get(library_id=int(arg))
    except (ValueError, NotFound):
        expired(ctx)
        return
    regency = await ctx.storage.libraries.regency(code=library.regency_code)
    ctx.say(
        card(ctx, library, regency.name),
        ctx.choice("libraries.its_events", f"evs:{library.regency_code}:*:30:0"),
        ctx.choice("libraries.back", "libs:0"),
        ctx.choice("common.menu", "menu"),
    )
