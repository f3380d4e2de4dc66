"""A channel's sending rate and 429 pause, shared by every instance through the database.

Pacing (`channel_gates`, one row per channel): each send reserves the next moment, `next_at`
moving on by 1/rate per send, never behind now nor inside a pause, in one atomic statement. The
instance sleeps until then, so sends of all instances together leave spaced 1/rate apart.

The bound (`channel_slots`, `rate` rows per channel): pacing alone does not bound what the
platform counts, sends *arriving* per second, because requests from several processes arrive
bunched. A send holds a slot from before it leaves until one second after its answer came back
(bot/delivery/shared.py says why that bounds every one-second window of arrivals).

Times are seconds since the epoch, from the instances' clocks (passed in; kept in step by NTP).
"""

from __future__ import annotations

from storage.db import SKIP_LOCKED, Database


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

    async def add_slots(self, *, channel: str, count: int) -> None:
        """Make sure the channel has slots 0 .. count-1 (a larger rate adds slots; a smaller one
        only uses the first `count`)."""
        async with self._db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO channel_slots (channel, slot, free_at) VALUES (?, ?, 0) "
                "ON CONFLICT (channel, slot) DO NOTHING",
                [(channel, slot) for slot in range(count)],
            )

    async def take_slots(
        self, *, channel: str, count: int, wanted: int, now: float, within: float, hold: float
    ) -> tuple[list[int], float, float]:
        """`wanted` slots that are free by `now + within`, the first to free first: (the slots,
        the moment from which all are free, the mark they carry while held: that moment +
        `hold`, given back to `free_slot`). None at all unless all `wanted` can be
        had (a send of several parts holding some while waiting for the rest could wait on
        another such send forever)."""
        horizon = now + within
        if wanted == 1:  # nearly every send: one statement
            rows = await self._db.write(
                "UPDATE channel_slots SET free_at = max(free_at, ?) + ? WHERE channel = ? "
                "AND slot = (SELECT slot FROM channel_slots WHERE channel = ? AND slot < ? "
                f"AND free_at <= ? ORDER BY free_at LIMIT 1 {SKIP_LOCKED}) AND free_at <= ? "
                "RETURNING slot, free_at",
                (now, hold, channel, channel, count, horizon, horizon),
            )
            if not rows:
                return [], 0.0, 0.0
            mark = float(rows[0][1])
            return [int(rows[0][0])], mark - hold, mark
        async with self._db.transaction() as conn:
            rows = await conn.fetchall(
                "SELECT slot, free_at FROM channel_slots WHERE channel = ? AND slot < ? "
                f"AND free_at <= ? ORDER BY free_at LIMIT ? {SKIP_LOCKED}",
                (channel, count, horizon, wanted),
            )
            if len(rows) < wanted:
                return [], 0.0, 0.0
            start = max([now, *(float(r[1]) for r in rows)])
            slots = [int(r[0]) for r in rows]
            await conn.executemany(
                "UPDATE channel_slots SET free_at = ? WHERE channel = ? AND slot = ?",
                [(start + hold, channel, slot) for slot in slots],
            )
            return slots, start, start + hold

    async def next_free(self, *, channel: str, count: int) -> float:
        """When the first held slot frees (seconds since the epoch)."""
        row = await self._db.fetchone(
            "SELECT min(free_at) FROM channel_slots WHERE channel = ? AND slot < ?",
            (channel, count),
        )
        return 0.0 if row is None or row[0] is None else float(row[0])

    async def free_slot(self, *, channel: str, slot: int, held_until: float, at: float) -> None:
        """The send holding `slot` is over: the slot frees at `at`. Nothing happens if the hold
        ran out and someone else has the slot now."""
        await self._db.write(
            "UPDATE channel_slots SET free_at = ? WHERE channel = ? AND slot = ? AND free_at = ?",
            (at, channel, slot, held_until),
        )
