"""Conversation sessions: a row per chat identity so a restart mid-flow resumes it."""

from __future__ import annotations

import asyncio
import json

from storage.clock import to_db, utcnow
from storage.db import Database
from storage.models import Resident, Session
from storage.residents import RESIDENT_COLUMNS, resident_from_row


class Sessions:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: dict[tuple[str, str], str] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def load(self, *, channel: str, external_id: str) -> Session:
        row = await self._db.fetchone(
            "SELECT state FROM sessions WHERE channel = ? AND external_id = ?",
            (channel, external_id),
        )
        state = json.loads(row["state"]) if row else {}
        return Session(channel=channel, external_id=external_id, state=state)

    async def load_with_resident(
        self, *, channel: str, external_id: str
    ) -> tuple[Session, Resident | None]:
        """Both things every incoming message needs, in one query (this is the hot path)."""
        row = await self._db.fetchone(
            "SELECT (SELECT state FROM sessions WHERE channel = ? AND external_id = ?) AS state, "
            f"{RESIDENT_COLUMNS} FROM (SELECT 1) "
            "LEFT JOIN residents ON channel = ? AND external_id = ?",
            (channel, external_id, channel, external_id),
        )
        assert row is not None  # the outer SELECT 1 always yields one row
        state = json.loads(row["state"]) if row["state"] else {}
        resident = resident_from_row(row) if row["id"] is not None else None
        return Session(channel=channel, external_id=external_id, state=state), resident

    async def save(self, session: Session) -> None:
        """Returns once the state is committed.

        Almost every message changes its session, so saves are committed in groups: whoever
        arrives while a commit is under way joins the next one. One transaction then carries many
        people's states, instead of every person waiting for the single writer in turn.
        """
        key = (session.channel, session.external_id)
        self._pending[key] = json.dumps(session.state, separators=(",", ":"))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(done)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        while self._pending:
            batch, waiters = self._pending, self._waiters
            self._pending, self._waiters = {}, []
            stamp = to_db(utcnow())
            try:
                async with self._db.transaction() as conn:
                    await conn.executemany(
                        "INSERT INTO sessions (channel, external_id, state, updated_at) "
                        "VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (channel, external_id) "
                        "DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                        [(channel, ext, state, stamp) for (channel, ext), state in batch.items()],
                    )
            except Exception as exc:  # each waiting caller gets the error; the loop goes on
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(exc)
                continue
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def delete(self, *, channel: str, external_id: str) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM sessions WHERE channel = ? AND external_id = ?",
                (channel, external_id),
            )
