"""Conversation sessions: a row per chat identity so a restart mid-flow resumes it."""

from __future__ import annotations

import json

from storage.clock import to_db, utcnow
from storage.db import Database
from storage.models import Session


class Sessions:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def load(self, *, channel: str, external_id: str) -> Session:
        async with self._db.reader.execute(
            "SELECT state FROM sessions WHERE channel = ? AND external_id = ?",
            (channel, external_id),
        ) as cur:
            row = await cur.fetchone()
        state = json.loads(row["state"]) if row else {}
        return Session(channel=channel, external_id=external_id, state=state)

    async def save(self, session: Session) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO sessions (channel, external_id, state, updated_at) "
                "VALUES (?, ?, ?, ?) "
                "ON CONFLICT (channel, external_id) "
                "DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                (
                    session.channel,
                    session.external_id,
                    json.dumps(session.state, separators=(",", ":")),
                    to_db(utcnow()),
                ),
            )

    async def delete(self, *, channel: str, external_id: str) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM sessions WHERE channel = ? AND external_id = ?",
                (channel, external_id),
            )
