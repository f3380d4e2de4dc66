"""Upcoming events: paged lists by regency, category and window, and one event's details.

List payload: `evs:<regency code | * for everywhere | h for home>:<category | *>:<days>:<page>`.
"""

from __future__ import annotations

from datetime import timedelta

from handlers import registration
from handlers.common import clip, expired, page_count, pager, parse_page
from handlers.types import Choice, Context
from storage.errors import NotFound
from storage.models import Event

CATEGORIES = ("computer", "food", "marketing", "english", "children", "weaving", "other")
MAX_WINDOW_DAYS = 90


async def show_list(ctx: Context, arg: str) -> None:
    try:
        where, category, days_text, page_text = arg.split(":")
        days, page = int(days_text), parse_page(page_text)
        if not 1 <= days <= MAX_WINDOW_DAYS or (category != "*" and category not in CATEGORIES):
            raise ValueError(arg)
    except ValueError:
        expired(ctx)
        return
    if where == "h":
        where = ctx.home_regency or "*"
    await list_events(ctx, where=where, category=category, days=days, page=page)


async def list_events(ctx: Context, *, where: str, category: str, days: int, page: int) -> None:
    regency_name = None
    if where != "*":
        try:
            regency_name = (await ctx.storage.libraries.regency(code=where)).name
        except NotFound:
            expired(ctx)
            return
    size = ctx.settings.page_size
    events, total = await ctx.storage.events.upcoming(
        now=ctx.now,
        until=ctx.now + timedelta(days=days),
        regency_code=None if where == "*" else where,
        category=None if category == "*" else category,
        offset=page * size,
        limit=size,
    )
    if not events and page > 0:
        expired(ctx)
        return
    scope = (
        ctx.t("events.scope_regency", regency=regency_name)
        if regency_name
        else ctx.t("events.scope_all")
    )
    if category != "*":
        scope += " · " + ctx.t(f"events.category.{category}")
    choices: list[Choice] = []
    if not events:
        text = ctx.t("events.none", days=days, scope=scope)
    else:
        lines = [
            ctx.t(
                "events.title", days=days, scope=scope, page=page + 1, pages=page_count(total, size)
            )
        ]
        for number, event in enumerate(events, start=1):
            lines.append(f"{number}. {summary(ctx, event)}")
            choices.append(Choice(clip(f"{number}. {event.title}", 60), f"ev:{event.id}"))
        text = "\n\n".join(lines)
    prefix = f"evs:{where}:{category}:{days}:"
    choices += pager(ctx, page=page, total=total, page_size=size, payload=prefix + "{}")
    if where != "*":
        choices.append(ctx.choice("events.everywhere", f"evs:*:{category}:{days}:0"))
    elif ctx.home_regency:
        choices.append(
            ctx.choice("events.my_regency", f"evs:{ctx.home_regency}:{category}:{days}:0")
        )
    choices.append(ctx.choice("events.by_category", f"evc:{where}:{days}"))
    choices.append(ctx.choice("common.menu", "menu"))
    ctx.say(text, *choices)


def summary(ctx: Context, event: Event) -> str:
    line = f"{event.title}\n   {ctx.when(event.starts_at)}\n   {event.library_name}"
    return line + f"\n   {seats(ctx, event)}"


def seats(ctx: Context, event: Event) -> str:
    if event.status == "closed":
        return ctx.t("events.registration_closed")
    left = event.seats_left
    if left is None:
        return ctx.t("events.seats_unlimited")
    if left == 0:
        return ctx.t("events.seats_full")
    return ctx.t("events.seats_left", count=left)


async def choose_category(ctx: Context, arg: str) -> None:
    try:
        where, days_text = arg.split(":")
        days = int(days_text)
        if not 1 <= days <= MAX_WINDOW_DAYS:
            raise ValueError(arg)
        if where not in ("*", "h"):
            await ctx.storage.libraries.regency(code=where)
    except (ValueError, NotFound):
        # Only what the list offered is put into the new buttons: a crafted argument reflected
        # into them could make a payload longer than a button may carry.
        expired(ctx)
        return
    choices = [ctx.choice(f"events.category.{c}", f"evs:{where}:{c}:{days}:0") for c in CATEGORIES]
    choices.append(ctx.choice("events.all_categories", f"evs:{where}:*:{days}:0"))
    ctx.say(ctx.t("events.choose_category"), *choices)


async def show_one(ctx: Context, arg: str) -> None:
    try:
        event = await ctx.storage.events.get(event_id=int(arg))
    except (ValueError, NotFound):
        expired(ctx)
        return
    if event.status in ("draft",):
        expired(ctx)
        return
    parts = [
        event.title,
        ctx.t("events.when", when=ctx.when(event.starts_at)),
        ctx.t("events.where", library=event.library_name, place=event.place or event.library_name),
        ctx.t("events.kind", category=ctx.t(f"events.category.{event.category}")),
    ]
    if event.status == "cancelled":
        parts.append(ctx.t("events.cancelled"))
    else:
        parts.append(seats(ctx, event))
    if event.description:
        parts.append("")
        parts.append(event.description)
    if event.is_sample:
        parts.append(ctx.t("common.sample_note"))
    ctx.say(
        "\n".join(parts),
        *registration.event_choices(ctx, event),
        ctx.choice("events.library", f"lib:{event.library_id}"),
        ctx.choice("events.back", f"evs:{event.regency_code}:*:30:0"),
        ctx.choice("common.menu", "menu"),
    )
