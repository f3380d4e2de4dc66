"""What the core knows of SMS costs: the daily budget and what a text costs in segments.

An announcement's author is shown, before it goes, how many segments sending it by SMS would take
against what is left of the day's budget (handlers/staff/broadcast.py). The rules of the GSM-7
alphabet live with the SMS channel (bot/channels/gsm7.py); the bot layer hands the core an
`SmsCost` (handlers/types.py) in `CoreSettings.sms_cost`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.types import Context, SmsCost


def sms_cost(ctx: Context) -> SmsCost | None:
    """The SMS costs when SMS is configured, else None."""
    return ctx.settings.sms_cost if ctx.settings.sms else None


@dataclass(frozen=True, slots=True)
class Room:
    day: datetime  # local midnight of the budget's day
    today: bool
    left: int  # segments open to announcements that day
    limit: int


async def room(ctx: Context, cost: SmsCost, moment: datetime) -> Room:
    """What is left of the SMS budget of the (WITA) day of `moment` for anything but reminders."""
    zone = ZoneInfo(ctx.settings.timezone)
    local = moment.astimezone(zone)
    starts = datetime.combine(local.date(), datetime.min.time(), zone)
    ends = starts + timedelta(days=1)
    today = local.date() == ctx.now.astimezone(zone).date()
    left = await ctx.storage.sms.room(
        day=local.date().isoformat(),
        day_starts=None if today else starts,
        day_ends=ends,
        limit=cost.daily_limit,
    )
    return Room(day=starts, today=today, left=left, limit=cost.daily_limit)
