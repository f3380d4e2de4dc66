"""PostgreSQL's passing errors become the storage layer's own: a deadlock between two
transactions is DatabaseBusy (the person is asked to try again), as a locked SQLite file is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from storage.db import Database
from storage.errors import DatabaseBusy
from tests import pg_support


@pytest.fixture
async def pg() -> AsyncIterator[Database]:
    url = await pg_support.create_database("pg_errors")
    db = await Database.open(url)
    yield db
    await db.close()
    await pg_support.drop_database(url)


async def test_a_deadlock_is_database_busy_and_the_other_commits(pg: Database) -> None:
    for n in (1, 2):
        await pg.write(
            "INSERT INTO sessions (channel, external_id, state, updated_at) VALUES (?, ?, ?, ?)",
            ("t", str(n), "{}", "2026-12-01T00:00:00Z"),
        )
    both_hold = asyncio.Barrier(2)

    async def touch(first: str, second: str) -> str:
        async with pg.transaction() as conn:
            update = "UPDATE sessions SET state = ? WHERE channel = 't' AND external_id = ?"
            await conn.execute(update, (first, first))
            await both_hold.wait()
            await conn.execute(update, (first, second))
        return first

    results = await asyncio.gather(touch("1", "2"), touch("2", "1"), return_exceptions=True)
    assert sum(isinstance(r, DatabaseBusy) for r in results) == 1, results
    winner = next(r for r in results if isinstance(r, str))
    rows = await pg.fetchall("SELECT state FROM sessions ORDER BY external_id")
    assert [r["state"] for r in rows] == [winner, winner]
