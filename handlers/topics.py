"""/langganan (/subscriptions): the topics (event categories) a resident hears announcements about.

Each tap toggles one topic and redraws the same message, so the list reads as a set of switches.
"""

from __future__ import annotations

from handlers.common import expired
from handlers.events import CATEGORIES
from handlers.onboarding import ask_consent
from handlers.types import Choice, Context, Reply


async def show(ctx: Context) -> None:
    if ctx.resident is None or not ctx.has_profile:
        # Subscriptions are personal data: only after the privacy notice was accepted.
        ctx.say(ctx.t("topics.need_consent"))
        ask_consent(ctx)
        return
    await _render(ctx, edit=False)


async def toggle(ctx: Context, arg: str) -> None:
    if ctx.resident is None or not ctx.has_profile or arg not in CATEGORIES:
        expired(ctx)
        return
    await ctx.storage.staff.toggle_topic(resident_id=ctx.resident.id, topic=arg, now=ctx.now)
    await _render(ctx, edit=True)


async def _render(ctx: Context, *, edit: bool) -> None:
    assert ctx.resident is not None
    chosen = await ctx.storage.staff.topics_of(resident_id=ctx.resident.id)
    choices = [
        Choice(
            ("✅ " if topic in chosen else "⬜ ") + ctx.t(f"events.category.{topic}"),
            f"tp:{topic}",
        )
        for topic in CATEGORIES
    ]
    choices.append(ctx.choice("common.menu", "menu"))
    key = "topics.off_note" if ctx.resident.announcements_off else "topics.title"
    ctx.replies.append(Reply(ctx.t(key), tuple(choices), edit=edit))
