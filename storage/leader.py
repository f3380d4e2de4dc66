"""Which instance runs the scheduled work (reminder sync, scheduled announcements, progress
reports, housekeeping): the one holding a PostgreSQL session-level advisory lock. The lock lives
as long as the holder's connection, so a dead leader's lock is gone as soon as the server notices
the connection closed, and another instance takes it at its next try. On SQLite there is one
instance, always the leader."""

from __future__ import annotations

import logging
from typing import Any

from storage.db import Database

log = logging.getLogger(__name__)

LEADER_LOCK = 0x5057_0002


class LeaderLock:
    def __init__(self, db: Database, key: int = LEADER_LOCK) -> None:
        self._db = db
        self._key = key
        self._conn: Any = None  # the held asyncpg connection, PostgreSQL only

    async def try_acquire(self) -> bool:
        """True when this instance holds the lock after the call."""
        from storage.postgres import PostgresDatabase

        if not isinstance(self._db, PostgresDatabase):
            return True
        if self._conn is None:
            self._conn = await self._db.pool.acquire()
        try:
            if await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key):
                return True
        except Exception:
            await self.release()
            raise
        # Not ours: give the connection back to the pool until the next try.
        await self._db.pool.release(self._conn)
        self._conn = None
        return False

    async def still_held(self) -> bool:
        """The lock is held as long as its connection is alive."""
        if self._conn is None:
            from storage.postgres import PostgresDatabase

            return not isinstance(self._db, PostgresDatabase)
        try:
            await self._conn.fetchval("SELECT 1")
        except Exception:
            log.warning("lost the leader's connection")
            self._conn = None
            return False
        return True

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        from storage.postgres import PostgresDatabase

        assert isinstance(self._db, PostgresDatabase)
        try:
            await conn.execute("SELECT pg_advisory_unlock($1)", self._key)
        except Exception:
            log.info("leader lock not released cleanly; the server drops it with the connection")
        finally:
            await self._db.pool.release(conn)
