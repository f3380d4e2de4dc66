"""What the core knows of SMS costs: the daily budget and what a text costs in segments.

An announcement's author is shown, before it goes, how many segments sending it by SMS would take
against what is left of the day's budget (handlers/staff/broadcast.py). The rules of the GSM-7
alphabet live with the SMS channel (bot/channels/gsm7.py); the bot layer hands the core an
`SmsCost` through `SmsCoreSettings`, as it hands it the catalogs through `Translator`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from handlers.types import Context, CoreSettings


class SmsCost(Protocol):
    @property
    def daily_limit(self) -> int:
        """Segments a day (WITA), replies and outbox together."""
        ...

    @property
    def max_segments(self) -> int:
        """The most one SMS may take; a longer text is cut to it."""
        ...

    def segments(self, text: str) -> int:
        """Segments `text` takes as an SMS (in GSM-7), before any cut."""
        ...


@dataclass(frozen=True, slots=True)
class SmsCoreSettings(CoreSettings):
    """CoreSettings of a deployment with SMS configured (`sms` True) and its costs."""

    sms_cost: SmsCost | None = None


def sms_cost(ctx: Context) -> SmsCost | None:
    """The SMS costs when SMS is configured, else None."""
    settings = ctx.settings
    if isinstance(settings, SmsCoreSettings) and settings.sms:
        return settings.sms_cost
    return None


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
