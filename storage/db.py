"""Connections, pragmas and numbered migrations.

Two connections: writes go through one guarded by an asyncio lock and `BEGIN IMMEDIATE`, so a
transaction of one coroutine never sees or commits another's half-done work; reads use a second
connection that in WAL mode sees only committed data. Another process writing the same file waits
on SQLite's busy timeout instead of failing at once.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import aiosqlite

from storage.errors import DatabaseBusy

BUSY_TIMEOUT_MS = 5000
# Each aiosqlite connection is one thread; with a few, reads from different people do not queue
# behind each other (SQLite releases the GIL while it works).
READERS = 3


def _migrations() -> list[tuple[int, str]]:
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


async def _open(path: str, busy_timeout_ms: int) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    # Pragmas return rows; fetching them all closes the statement so it holds no lock.
    await conn.execute_fetchall(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    await conn.execute_fetchall("PRAGMA foreign_keys = ON")
    await conn.execute_fetchall("PRAGMA synchronous = NORMAL")
    return conn


class Database:
    def __init__(
        self, path: str, writer: aiosqlite.Connection, readers: list[aiosqlite.Connection]
    ):
        self.path = path
        self._writer = writer
        self._readers = readers
        self._reader = readers[0]
        self._next_reader = itertools.cycle(readers)
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Database:
        path = str(path)
        writer = await _open(path, busy_timeout_ms)
        await writer.execute_fetchall("PRAGMA journal_mode = WAL")
        db = cls(path, writer, [await _open(path, busy_timeout_ms) for _ in range(READERS)])
        await db.migrate()
        return db

    async def close(self) -> None:
        for reader in self._readers:
            await reader.close()
        await self._writer.close()

    @property
    def reader(self) -> aiosqlite.Connection:
        return self._reader

    # Each aiosqlite call is a hop to the connection's thread and back; these helpers fetch in
    # one hop instead of three (execute, fetch, close), which matters on the hot path.
    async def fetchall(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        return list(await next(self._next_reader).execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
        rows = await next(self._next_reader).execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def write(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        """One statement on its own (SQLite makes a lone statement atomic), in a single hop;
        returns the rows of a RETURNING clause."""
        async with self._write_lock:
            try:
                return list(await self._writer.execute_fetchall(sql, params))
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise DatabaseBusy(str(exc)) from exc
                raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction; commits on success, rolls back on any exception."""
        async with self._write_lock:
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise DatabaseBusy(str(exc)) from exc
                raise
            try:
                yield self._writer
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            else:
                await self._writer.execute("COMMIT")

    async def schema_version(self) -> int:
        async with self._reader.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self) -> int:
        """Apply every migration newer than the file's `user_version`, each in one transaction."""
        async with self._write_lock:
            async with self._writer.execute("PRAGMA user_version") as cur:
                row = await cur.fetchone()
            current = int(row[0]) if row else 0
            for number, sql in _migrations():
                if number <= current:
                    continue
                try:
                    await self._writer.executescript(
                        f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;"
                    )
                except sqlite3.Error:
                    if self._writer.in_transaction:
                        await self._writer.execute("ROLLBACK")
                    raise
                current = number
            return current
