"""Help text and the answer to anything not understood."""

from __future__ import annotations

from handlers.common import menu_choices
from handlers.types import Context


async def show_help(ctx: Context) -> None:
    ctx.say(ctx.t("help.text"), *menu_choices(ctx))


async def unknown_command(ctx: Context) -> None:
    ctx.say(ctx.t("common.unknown_command"), *menu_choices(ctx))


async def text_only(ctx: Context) -> None:
    ctx.say(ctx.t("common.text_only"), *menu_choices(ctx))
