"""A channel's sending rate and 429 pause, shared by every instance through one row per channel.

Each send reserves the next free slot: `next_at` moves on by 1/rate per send, never behind now
nor inside a pause, in one atomic statement. The instance sleeps until its slot, then sends, so
sends of all instances together are spaced 1/rate apart. Times are seconds since the epoch, from
the instances' clocks (passed in; kept in step by NTP).
"""

from __future__ import annotations

from storage.db import Database


class ChannelGates:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def reserve(self, *, channel: str, now: float, interval: float) -> float:
        """The moment this send may go (now or later)."""
        rows = await self._db.write(
            "INSERT INTO channel_gates (channel, next_at, paused_until) VALUES (?, ?, 0) "
            "ON CONFLICT (channel) DO UPDATE SET next_at = "
            "max(channel_gates.next_at, ?, channel_gates.paused_until) + ? RETURNING next_at",
            (channel, now + interval, now, interval),
        )
        return float(rows[0][0]) - interval

    async def pause(self, *, channel: str, until: float) -> None:
        """The platform asked us to wait (429): nobody's next slot comes before `until`."""
        await self._db.write(
            "INSERT INTO channel_gates (channel, next_at, paused_until) VALUES (?, ?, ?) "
            "ON CONFLICT (channel) DO UPDATE SET "
            "paused_until = max(channel_gates.paused_until, excluded.paused_until)",
            (channel, until, until),
        )

    async def paused_until(self, *, channel: str) -> float:
        row = await self._db.fetchone(
            "SELECT paused_until FROM channel_gates WHERE channel = ?", (channel,)
        )
        return 0.0 if row is None else float(row[0])
