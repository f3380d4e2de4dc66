"""/dasbor (/dashboard): a one-time link to the staff web dashboard, sent in the chat the person
already uses, so nobody needs a password. The link's token is stored hashed, works for ten
minutes and once (storage/dashboard.py); the pages check the role again on every request."""

from __future__ import annotations

from handlers.types import Context
from storage.dashboard import LINK_TTL
from storage.staff import StaffRole


async def open_dashboard(ctx: Context, role: StaffRole) -> None:
    base = ctx.settings.dashboard_url
    if base is None:
        ctx.say(ctx.t("dashboard.chat.off"))
        return
    token = await ctx.storage.dashboard.create_link(
        channel=ctx.incoming.channel,
        external_id=ctx.incoming.user_id,
        language=ctx.language,
        now=ctx.now,
    )
    ctx.say(
        ctx.t(
            "dashboard.chat.link",
            url=f"{base.rstrip('/')}/dasbor/masuk/{token}",
            minutes=int(LINK_TTL.total_seconds() // 60),
        )
    )
