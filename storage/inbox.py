"""The durable inbox (PostgreSQL deployments): webhook updates stored before they are
acknowledged, handled once, each person's in arrival order whichever instance received them.

A person's updates are handled by whoever holds that person's turn (a `person_turns` row with a
lease). The holder handles every pending update of the person in `id` order, so updates stored
by other instances meanwhile are handled too, in order. A dead holder's lease runs out and the
next instance that looks takes the turn over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.clock import to_db
from storage.db import Database


@dataclass(frozen=True, slots=True)
class InboxItem:
    id: int
    channel: str
    platform_id: str
    person: str
    payload: str


class Inbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def store(
        self, *, channel: str, platform_id: str, person: str, payload: str, now: datetime
    ) -> bool:
        """Keep the update; False when it was stored before (a re-delivery)."""
        rows = await self._db.write(
            "INSERT INTO inbox (channel, platform_id, person, payload, received_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, platform_id) DO NOTHING RETURNING id",
            (channel, platform_id, person, payload, to_db(now)),
        )
        return bool(rows)

    async def take_turn(
        self, *, channel: str, person: str, owner: str, now: datetime, lease: timedelta
    ) -> bool:
        """Take this person's turn if nobody holds it, or the holder's lease ran out."""
        rows = await self._db.write(
            "INSERT INTO person_turns (channel, person, owner, until) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (channel, person) DO UPDATE SET owner = excluded.owner, "
            "until = excluded.until WHERE person_turns.until < ? RETURNING owner",
            (channel, person, owner, to_db(now + lease), to_db(now)),
        )
        return bool(rows)

    async def renew_turns(
        self, *, owner: str, now: datetime, lease: timedelta
    ) -> set[tuple[str, str]]:
        """Every turn `owner` holds runs on for another `lease`; gives the (channel, person) of
        those it still held (one it lost to a successor after its lease ran out is not)."""
        rows = await self._db.write(
            "UPDATE person_turns SET until = ? WHERE owner = ? RETURNING channel, person",
            (to_db(now + lease), owner),
        )
        return {(str(r[0]), str(r[1])) for r in rows}

    async def give_turn_back(self, *, channel: str, person: str, owner: str) -> None:
        await self._db.write(
            "DELETE FROM person_turns WHERE channel = ? AND person = ? AND owner = ?",
            (channel, person, owner),
        )

    async def next_for(self, *, channel: str, person: str) -> InboxItem | None:
        """The person's oldest update not yet handled."""
        row = await self._db.fetchone(
            "SELECT id, channel, platform_id, person, payload FROM inbox "
            "WHERE channel = ? AND person = ? AND status = 'pending' ORDER BY id LIMIT 1",
            (channel, person),
        )
        return None if row is None else InboxItem(*row)

    async def is_done(self, *, channel: str, platform_id: str) -> bool:
        row = await self._db.fetchone(
            "SELECT status FROM inbox WHERE channel = ? AND platform_id = ?",
            (channel, platform_id),
        )
        return row is None or row["status"] == "done"

    async def done(self, *, item_id: int, now: datetime) -> None:
        await self._db.write(
            "UPDATE inbox SET status = 'done', handled_at = ? WHERE id = ?", (to_db(now), item_id)
        )

    async def orphaned(self, *, now: datetime, older_than: timedelta) -> list[tuple[str, str]]:
        """(channel, person) with updates waiting longer than `older_than`: their instance may
        have died after storing them."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT channel, person FROM inbox WHERE status = 'pending' "
            "AND received_at < ? LIMIT 100",
            (to_db(now - older_than),),
        )
        return [(r["channel"], r["person"]) for r in rows]

    async def prune(self, *, before: datetime) -> int:
        """Forget handled updates older than `before` (re-deliveries stop after a few days)."""
        rows = await self._db.write(
            "DELETE FROM inbox WHERE status = 'done' AND handled_at < ? RETURNING id",
            (to_db(before),),
        )
        return len(rows)

    async def counts(self) -> dict[str, int]:
        rows = await self._db.fetchall("SELECT status, count(*) FROM inbox GROUP BY status")
        return {str(r[0]): int(r[1]) for r in rows}
