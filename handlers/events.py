"""Upcoming events: paged lists by regency, category and window, and one event's details.

List payload: `evs:<regency code | * for everywhere | h for home>:<category | *>:<days>:<page>`,
the next `days` days from now; with a sixth field `:<start>`, whole local days instead: `days`
days from `start` days after today ("besok" is start 1, days 1). Build it with `list_payload`.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from handlers import registration
from handlers.common import clip, expired, page_count, pager, parse_page
from handlers.types import Choice, Context
from storage.errors import NotFound
from storage.models import Event

CATEGORIES = ("computer", "food", "marketing", "english", "children", "weaving", "other")
MAX_WINDOW_DAYS = 90


def list_payload(
    where: str, category: str = "*", days: int = 30, page: int = 0, start: int | None = None
) -> str:
    """The one way event-list payloads are written."""
    tail = "" if start is None else f":{start}"
    return f"evs:{where}:{category}:{days}:{page}{tail}"


async def show_list(ctx: Context, arg: str) -> None:
    try:
        where, category, days_text, page_text, *rest = arg.split(":")
        days, page = int(days_text), parse_page(page_text)
        start = int(rest[0]) if rest else None
        if not 1 <= days <= MAX_WINDOW_DAYS or (category != "*" and category not in CATEGORIES):
            raise ValueError(arg)
        if len(rest) > 1 or (start is not None and not 0 <= start <= 400):
            raise ValueError(arg)
    except ValueError:
        expired(ctx)
        return
    if where == "h":
        where = ctx.home_regency or "*"
    await list_events(ctx, where=where, category=category, days=days, page=page, start=start)


def local_days(ctx: Context, start: int, days: int) -> tuple[datetime, datetime, datetime]:
    """The window of whole local (WITA) days: from, until, and the first day's midnight."""
    zone = ZoneInfo(ctx.settings.timezone)
    today = ctx.now.astimezone(zone).date()
    first = datetime.combine(today + timedelta(days=start), time(), zone)
    until = datetime.combine(today + timedelta(days=start + days), time(), zone)
    return max(first, ctx.now), until, first


async def list_events(
    ctx: Context,
    *,
    where: str,
    category: str,
    days: int,
    page: int,
    start: int | None = None,
    intro: str | None = None,
) -> None:
    """A page of events; `start` given: whole local days (see the module's docstring)."""
    regency_name = None
    if where != "*":
        try:
            regency_name = (await ctx.storage.libraries.regency(code=where)).name
        except NotFound:
            expired(ctx)
            return
    size = ctx.settings.page_size
    since, until = ctx.now, ctx.now + timedelta(days=days)
    span = ""
    if start is not None:
        since, until, first = local_days(ctx, start, days)
        span = ctx.translator.day(ctx.language, first)
        if days > 1:
            last = first + timedelta(days=days - 1)
            span += " – " + ctx.translator.day(ctx.language, last)
    events, total = await ctx.storage.events.upcoming(
        now=since,
        until=until,
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
        if span:
            text = ctx.t("events.none_days", span=span, scope=scope)
        else:
            text = ctx.t("events.none", days=days, scope=scope)
    else:
        pages = page_count(total, size)
        if span:
            title = ctx.t("events.title_days", span=span, scope=scope, page=page + 1, pages=pages)
        else:
            title = ctx.t("events.title", days=days, scope=scope, page=page + 1, pages=pages)
        lines = [title]
        for number, event in enumerate(events, start=1):
            lines.append(f"{number}. {summary(ctx, event)}")
            choices.append(Choice(clip(f"{number}. {event.title}", 60), f"ev:{event.id}"))
        if any(event.is_sample for event in events):
            lines.append(ctx.t("common.sample_note"))
        text = "\n\n".join(lines)
    if intro:
        text = f"{intro}\n\n{text}"
    page_payload = f"evs:{where}:{category}:{days}:{{}}" + ("" if start is None else f":{start}")
    choices += pager(ctx, page=page, total=total, page_size=size, payload=page_payload)
    if where != "*":
        choices.append(ctx.choice("events.everywhere", list_payload("*", category, days, 0, start)))
    elif ctx.home_regency:
        choices.append(
            ctx.choice(
                "events.my_regency", list_payload(ctx.home_regency, category, days, 0, start)
            )
        )
    if start is None:
        choices.append(ctx.choice("events.by_category", f"evc:{where}:{days}"))
    else:
        choices.append(ctx.choice("events.next_30", list_payload(where, category)))
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
