"""The PostgreSQL database's own connection handling (storage/postgres.py): statements share a
few borrowed connections ("lanes"), and writes that return nothing are committed in groups.
What must hold whatever the grouping: each caller gets its own outcome, a failing statement is
backed out alone, a cancelled statement leaves no connection unusable, and nothing queued is
lost at close."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator

import pytest

from storage.db import Database
from storage.postgres import PostgresDatabase
from tests import pg_support

INSERT = "INSERT INTO sessions (channel, external_id, state, updated_at) VALUES (?, ?, ?, ?)"


@pytest.fixture
async def url() -> AsyncIterator[str]:
    url = await pg_support.create_database("pg_lanes")
    yield url
    await pg_support.drop_database(url)


@pytest.fixture
async def pg(url: str) -> AsyncIterator[Database]:
    db = await Database.open(url)
    yield db
    await db.close()


async def _states(db: Database) -> dict[str, str]:
    rows = await db.fetchall("SELECT external_id, state FROM sessions")
    return {r["external_id"]: r["state"] for r in rows}


async def test_grouped_writes_each_caller_gets_its_own_outcome(pg: Database) -> None:
    await pg.write(INSERT, ("t", "taken", "{}", "2026-12-01T00:00:00Z"))
    people = [str(n) for n in range(40)]
    # Written at once, so they are grouped; one of them breaks the primary key.
    results = await asyncio.gather(
        *(pg.write(INSERT, ("t", p, f'"{p}"', "2026-12-01T00:00:00Z")) for p in people),
        pg.write(INSERT, ("t", "taken", '"again"', "2026-12-01T00:00:00Z")),
        return_exceptions=True,
    )
    assert results[:-1] == [[]] * len(people)
    assert isinstance(results[-1], sqlite3.IntegrityError)
    states = await _states(pg)
    assert states == {"taken": "{}", **{p: f'"{p}"' for p in people}}


async def test_more_callers_than_connections_all_served_in_order_of_their_own(
    pg: Database,
) -> None:
    async def person(n: int) -> list[str]:
        seen = []
        for k in range(5):
            await pg.write(
                "INSERT INTO sessions (channel, external_id, state, updated_at) VALUES "
                "(?, ?, ?, ?) ON CONFLICT (channel, external_id) DO UPDATE SET "
                "state = excluded.state",
                ("t", str(n), str(k), "2026-12-01T00:00:00Z"),
            )
            row = await pg.fetchone(
                "SELECT state FROM sessions WHERE channel = 't' AND external_id = ?", (str(n),)
            )
            seen.append(row["state"])
        return seen

    results = await asyncio.gather(*(person(n) for n in range(100)))
    assert results == [["0", "1", "2", "3", "4"]] * 100


async def test_a_cancelled_statement_leaves_every_connection_usable(pg: Database) -> None:
    assert isinstance(pg, PostgresDatabase)
    sleepers = [
        asyncio.ensure_future(pg.fetchall("SELECT pg_sleep(30)")) for _ in range(pg._lanes._limit)
    ]
    await asyncio.sleep(0.5)  # every lane is in a query now
    for task in sleepers:
        task.cancel()
    await asyncio.gather(*sleepers, return_exceptions=True)
    # Every lane is usable again (or replaced): as many statements at once as there are lanes.
    rows = await asyncio.gather(*(pg.fetchall("SELECT 1") for _ in range(3 * pg._lanes._limit)))
    assert [r[0][0] for r in rows] == [1] * (3 * pg._lanes._limit)
    async with pg.transaction() as conn:
        await conn.execute(INSERT, ("t", "after", "{}", "2026-12-01T00:00:00Z"))
    assert await _states(pg) == {"after": "{}"}


async def test_a_failed_transaction_gives_its_connection_back_clean(pg: Database) -> None:
    with pytest.raises(RuntimeError):
        async with pg.transaction() as conn:
            await conn.execute(INSERT, ("t", "rolled back", "{}", "2026-12-01T00:00:00Z"))
            raise RuntimeError("the caller changed its mind")
    with pytest.raises(sqlite3.IntegrityError):
        async with pg.transaction() as conn:
            await conn.execute(INSERT, ("t", "x", "{}", "2026-12-01T00:00:00Z"))
            await conn.execute(INSERT, ("t", "x", "{}", "2026-12-01T00:00:00Z"))
    # No connection was left inside a transaction: single statements commit on their own.
    await asyncio.gather(
        *(pg.write(INSERT, ("t", str(n), "{}", "2026-12-01T00:00:00Z")) for n in range(20))
    )
    assert sorted(await _states(pg)) == sorted(str(n) for n in range(20))


async def test_writes_queued_at_close_are_committed(url: str) -> None:
    db = await Database.open(url)
    writes = [
        asyncio.ensure_future(db.write(INSERT, ("t", str(n), "{}", "2026-12-01T00:00:00Z")))
        for n in range(30)
    ]
    await asyncio.sleep(0)  # queued, not yet committed
    await db.close()
    await asyncio.gather(*writes)
    db = await Database.open(url)
    try:
        assert len(await _states(db)) == 30
    finally:
        await db.close()
