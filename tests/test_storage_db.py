"""The database layer's promises: grouped writes fail one by one, another process's write lock is
waited for without stalling the loop, and the write-ahead log reaches the database file."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

import storage.db
from storage.db import Database
from storage.errors import DatabaseBusy

UPSERT = "INSERT INTO sessions (channel, external_id, state, updated_at) VALUES (?, ?, ?, 'now')"


async def _states(db: Database) -> dict[str, str]:
    rows = await db.fetchall("SELECT external_id, state FROM sessions ORDER BY external_id")
    return {row["external_id"]: row["state"] for row in rows}


async def test_a_failing_write_fails_alone_in_its_group(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "group.db")
    try:
        # Issued together, the three are committed in one transaction.
        results = await asyncio.gather(
            db.write(UPSERT, ("t", "a", "{}")),
            db.write(UPSERT, ("t", "a", '{"again":1}')),  # the same key: a constraint error
            db.write(UPSERT + " RETURNING external_id", ("t", "b", "{}")),
            return_exceptions=True,
        )
        assert results[0] == []
        assert isinstance(results[1], sqlite3.IntegrityError)
        assert [tuple(row) for row in results[2]] == [("b",)]  # type: ignore[union-attr]
        assert await _states(db) == {"a": "{}", "b": "{}"}
    finally:
        await db.close()


@asynccontextmanager
async def _write_locked_elsewhere(
    path: Path, busy_timeout_ms: int
) -> AsyncIterator[tuple[Database, sqlite3.Connection]]:
    """A database whose write lock another process (here: another connection) holds until the
    test rolls that connection back."""
    db = await Database.open(path, busy_timeout_ms=busy_timeout_ms)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield db, other
    finally:
        other.close()
        await db.close()


async def test_another_process_holding_the_write_lock_is_waited_for_while_the_loop_serves(
    tmp_path: Path,
) -> None:
    async with _write_locked_elsewhere(tmp_path / "busy.db", 3000) as (db, other):
        asyncio.get_running_loop().call_later(0.3, other.rollback)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        await db.write(UPSERT, ("t", "waited", "{}"))
        ticking.cancel()
        assert ticks >= 15  # the loop went on serving while the write waited 0.3 s
        assert await _states(db) == {"waited": "{}"}


async def test_a_write_lock_held_past_the_busy_timeout_is_a_database_busy_error(
    tmp_path: Path,
) -> None:
    async with _write_locked_elsewhere(tmp_path / "locked.db", 100) as (db, other):
        row = await db.fetchone("SELECT count(*) FROM sessions", inline=True)
        assert row is not None and row[0] == 0  # reading is not blocked
        with pytest.raises(DatabaseBusy):
            await db.write(UPSERT, ("t", "lost?", "{}"))
        other.rollback()
        await db.write(UPSERT, ("t", "later", "{}"))
        assert await _states(db) == {"later": "{}"}


async def test_the_log_is_checkpointed_into_the_database_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage.db, "_CHECKPOINT_EVERY", 1)
    path = tmp_path / "wal.db"
    db = await Database.open(path)
    try:
        before = path.stat().st_size
        big = "x" * 400_000
        await db.write(UPSERT, ("t", "big", f'"{big}"'))
        # The loop's connection never checkpoints itself; a reader does it after the commit.
        for _ in range(100):
            if path.stat().st_size > before + len(big):
                break
            await asyncio.sleep(0.02)
        assert path.stat().st_size > before + len(big)
    finally:
        await db.close()
