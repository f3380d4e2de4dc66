"""Conversation sessions: a row per chat identity so a restart mid-flow resumes it."""

from __future__ import annotations

import json
from datetime import datetime

from storage.clock import to_db
from storage.db import Database
from storage.models import Resident, Session
from storage.residents import RESIDENT_COLUMNS, resident_from_row

# The stamp in the database's own UTC text format, made by SQLite: cheaper than in Python on a
# path every message takes.


class Sessions:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def load(self, *, channel: str, external_id: str) -> Session:
        session, _ = await self.load_with_resident(channel=channel, external_id=external_id)
        return session

    async def load_with_resident(
        self, *, channel: str, external_id: str
    ) -> tuple[Session, Resident | None]:
        """Both things every incoming message needs, in one query (this is the hot path)."""
        row = await self._db.fetchone(
            "SELECT (SELECT state FROM sessions WHERE channel = ? AND external_id = ?) AS state, "
            f"{RESIDENT_COLUMNS} FROM (SELECT 1) "
            "LEFT JOIN residents ON channel = ? AND external_id = ?",
            (channel, external_id, channel, external_id),
            inline=True,
        )
        assert row is not None  # the outer SELECT 1 always yields one row
        stored = row["state"] or ""
        resident = resident_from_row(row) if row["id"] is not None else None
        return Session(channel, external_id, json.loads(stored) if stored else {}, stored), resident

    async def save(self, session: Session, *, now: datetime) -> None:
        """Writes the state if it changed since it was loaded; returns once it is committed
        (almost every message changes its session: such writes are committed in groups, see
        `Database.write`)."""
        state = json.dumps(session.state, separators=(",", ":"), sort_keys=True)
        if state == session.stored or (not session.stored and not session.state):
            return
        await self._db.write(
            "INSERT INTO sessions (channel, external_id, state, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (channel, external_id) "
            "DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            # The time comes from the caller, not the database's clock: the same on both
            # engines, and under test control.
            (session.channel, session.external_id, state, to_db(now)),
        )
        session.stored = state

    async def delete(self, *, channel: str, external_id: str) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM sessions WHERE channel = ? AND external_id = ?",
                (channel, external_id),
            )
