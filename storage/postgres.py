"""The PostgreSQL implementation of the storage interface (asyncpg with a connection pool).

Repositories' SQL is translated by storage/dialect.py. Differences from SQLite that matter:
- Transactions run at READ COMMITTED on a pooled connection; several instances write at once.
  A transaction that reads and then writes something another may change at the same moment
  first locks the row that decides it (`Tx.lock_row`: SELECT ... FOR UPDATE) or, for a total
  over many rows, a key (`Tx.lock`: an advisory lock held until the transaction ends).
- Constraint errors come out as `sqlite3.IntegrityError` (a subclass), so the repositories'
  `except sqlite3.IntegrityError` holds on both engines.
- Migrations take an advisory lock, so instances starting together apply each one once.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TypeVar

import asyncpg

from storage.db import Cursor, Database, Params, Row, Tx, migration_files
from storage.dialect import Translated, translate
from storage.errors import DatabaseBusy

log = logging.getLogger(__name__)
T = TypeVar("T")

POOL_MIN = 2
POOL_MAX = 10
# Connections kept out of asyncpg's pool for statements and transactions (`_Lanes`); the rest of
# the pool serves the leader's lock, migrations and whatever asks the pool directly.
RESERVED = 2
# pg_advisory_lock keys: one number space per database, so each use has its own constant.
MIGRATION_LOCK = 0x5057_0001
_CACHE_LIMIT = 4096
# Run before the migrations, every start: what SQLite has built in and the repositories use.
# sum() over a comparison counts the rows where it holds (SQLite compares to 0 or 1).
_PRELUDE = """
CREATE OR REPLACE FUNCTION pustaka_count_true(bigint, boolean) RETURNS bigint
    LANGUAGE sql IMMUTABLE AS 'SELECT coalesce($1, 0) + CASE WHEN $2 THEN 1 ELSE 0 END';
CREATE OR REPLACE AGGREGATE sum(boolean) (SFUNC = pustaka_count_true, STYPE = bigint);
"""


# Errors that pass: another transaction in the way, the server restarting or out of connections.
_BUSY = (
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.LockNotAvailableError,
    asyncpg.TooManyConnectionsError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    OSError,
)


class PgIntegrityError(sqlite3.IntegrityError):
    """A PostgreSQL constraint violation, raised as the error repositories already catch."""


def lock_key(scope: str, key: int | str) -> int:
    """A stable signed 64-bit key for pg_advisory locks from a scope and a value."""
    high = zlib.crc32(scope.encode())
    low = zlib.crc32(str(key).encode())
    value = (high << 32) | low
    return value - (1 << 64) if value >= (1 << 63) else value


def _count(status: str) -> int:
    # "UPDATE 3", "DELETE 0", "INSERT 0 1"
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _numeric(text: str) -> int | float:
    """sum() of integers is numeric in PostgreSQL; SQLite gives an integer."""
    return float(text) if any(c in text for c in ".eE") else int(text)


async def _setup(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "numeric", schema="pg_catalog", encoder=str, decoder=_numeric, format="text"
    )
    # SQLite stores what it is given; a number bound to a text column is kept as its text.
    await conn.set_type_codec("text", schema="pg_catalog", encoder=str, decoder=str, format="text")


async def _no_reset(conn: asyncpg.Connection) -> None:
    """asyncpg resets a connection (RESET ALL, UNLISTEN, advisory unlock: one more round trip)
    each time it goes back to the pool, that is after every query here. Nothing needs it: every
    transaction ends before its connection goes back, no setting is changed, and the leader's
    advisory lock is held on a connection of its own and released explicitly."""


class _Lanes:
    """Connections borrowed from asyncpg's pool once and handed from statement to statement.

    asyncpg's `Pool.fetch` acquires and releases a connection around every statement: a holder,
    a proxy, an inactivity timer and a queue each time. Measured on the 2-core development
    machine with 200 coroutines querying at once, that was 156 us of client CPU per `SELECT 1`;
    handing idle connections over from a deque, waiters first come first served, 51 us
    (bench/bench_scaleout.py part 1 spends about three statements per update).

    A connection whose statement ended otherwise than with a server error (cancelled, a lost
    connection) goes back to the pool, which waits out a cancellation or replaces the connection,
    and a new one is borrowed when needed.
    """

    def __init__(self, pool: asyncpg.Pool, limit: int) -> None:
        self._pool = pool
        self._limit = max(limit, 1)
        self._idle: deque[asyncpg.Connection] = deque()
        # Waiting for a connection: each future gets one, or None to look again (one was lost).
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._count = 0  # borrowed: idle, in use, or being borrowed
        self._closing = False

    async def take(self) -> asyncpg.Connection:
        while True:
            if self._idle:
                return self._idle.pop()
            if self._count < self._limit:
                self._count += 1
                try:
                    return await self._pool.acquire()
                except BaseException:
                    self._count -= 1
                    self._wake_one(None)
                    raise
            waiter: asyncio.Future[asyncpg.Connection | None] = (
                asyncio.get_running_loop().create_future()
            )
            self._waiters.append(waiter)
            try:
                conn = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    got = waiter.result()
                    if got is not None:
                        self.give(got)
                    else:
                        self._wake_one(None)
                raise
            if conn is not None:
                return conn

    def give(self, conn: asyncpg.Connection) -> None:
        """A connection whose statement or transaction has ended."""
        if self._closing or conn.is_closed() or conn.is_in_transaction():
            self.drop(conn)
            return
        if not self._wake_one(conn):
            # Last in, first out: the connection used last is the one whose server process and
            # caches are warm.
            self._idle.append(conn)

    def drop(self, conn: asyncpg.Connection) -> None:
        """A connection in an unknown state: the pool cleans it up (or replaces it)."""
        self._count -= 1
        task = asyncio.get_running_loop().create_task(self._pool.release(conn))
        task.add_done_callback(_log_release_error)
        self._wake_one(None)

    def _wake_one(self, conn: asyncpg.Connection | None) -> bool:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False

    async def close(self) -> None:
        self._closing = True
        while self._idle:
            self._count -= 1
            await self._pool.release(self._idle.pop())

    async def _on_lane(self, run: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """`run` on a borrowed connection, given back (or dropped) however it ends."""
        conn = await self.take()
        try:
            result = await run(conn)
        except Exception:
            self.give(conn)  # an error the server or asyncpg reported; `give` checks the rest
            raise
        except BaseException:
            self.drop(conn)  # cancelled: asyncpg may still be cancelling the query
            raise
        self.give(conn)
        return result

    async def fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        return await self._on_lane(lambda conn: conn.fetch(sql, *args))

    async def execute(self, sql: str, *args: object) -> str:
        return await self._on_lane(lambda conn: conn.execute(sql, *args))

    async def executemany(self, sql: str, args: list[list[object]]) -> None:
        await self._on_lane(lambda conn: conn.executemany(sql, args))


def _log_release_error(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("a connection went back to the pool uncleanly: %r", task.exception())


class PgTx(Tx):
    """Statements on one connection (a transaction's) or on the lanes (each alone)."""

    __slots__ = ("_db", "_target")

    def __init__(self, db: PostgresDatabase, target: asyncpg.Connection | _Lanes) -> None:
        self._db = db
        self._target = target

    async def _run(self, sql: str, params: Params) -> Cursor:
        query = self._db.translated(sql)
        args = query.args(params)
        try:
            if query.returns_rows:
                rows = list(await self._target.fetch(query.sql, *args))
                lastrowid = int(rows[-1][0]) if query.added_returning and rows else None
                if query.added_returning:
                    return Cursor([], len(rows), lastrowid)
                return Cursor(rows, len(rows), None)
            status = await self._target.execute(query.sql, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise PgIntegrityError(str(exc)) from exc
        except _BUSY as exc:
            # The person is told to try again in a moment, as when SQLite stays locked.
            raise DatabaseBusy(str(exc)) from exc
        return Cursor([], _count(status), None)

    async def _run_many(self, sql: str, seq: Iterable[Params]) -> None:
        query = self._db.translated(sql)
        try:
            await self._target.executemany(query.sql, [query.args(p) for p in seq])
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise PgIntegrityError(str(exc)) from exc

    async def lock_row(self, table: str, row_id: int) -> bool:
        await self._target.execute(f"SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE", row_id)
        return True

    async def lock(self, scope: str, key: int | str) -> None:
        await self._target.execute("SELECT pg_advisory_xact_lock($1)", lock_key(scope, key))


class PostgresDatabase(Database):
    engine = "postgresql"

    def __init__(self, url: str, pool: asyncpg.Pool, *, lanes: int = POOL_MAX - RESERVED) -> None:
        self.path = url
        self.pool = pool
        self._id_tables: frozenset[str] = frozenset()
        self._columns: dict[str, frozenset[str]] = {}
        self._keys: dict[str, tuple[str, ...]] = {}
        self._cache: dict[str, Translated] = {}
        self._lanes = _Lanes(pool, lanes)
        self._pool_tx = PgTx(self, self._lanes)
        self._queued: list[tuple[str, Sequence[object], asyncio.Future[list[Row]]]] = []
        self._committer: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls, url: str, *, min_size: int = POOL_MIN, max_size: int = POOL_MAX
    ) -> PostgresDatabase:
        pool = await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            init=_setup,
            reset=_no_reset,
            statement_cache_size=1024,
        )
        db = cls(url, pool, lanes=max_size - RESERVED)
        try:
            await db.migrate()
        except BaseException:
            await pool.close()
            raise
        return db

    def translated(self, sql: str) -> Translated:
        found = self._cache.get(sql)
        if found is None:
            found = translate(sql, self._id_tables, self._columns, self._keys)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[sql] = found
        return found

    async def close(self) -> None:
        if self._committer is not None:
            await self._committer  # queued writes are committed, not dropped
        await self._lanes.close()
        await self.pool.close()

    @property
    def reader(self) -> Tx:
        return self._pool_tx

    async def fetchall(self, sql: str, params: Params = (), *, inline: bool = False) -> list[Row]:
        return await self._pool_tx.fetchall(sql, params)

    async def write(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """One statement, committed before this returns (rows of its RETURNING clause).

        Statements that return nothing are committed in groups, as on SQLite: whoever writes
        while a group is on its way joins the next, and the same statement for several callers
        (every update saves its session) goes in one round trip (`executemany`, one implicit
        transaction). A group that fails is run again statement by statement, so each caller
        gets its own outcome and a failing statement is backed out alone."""
        if self.translated(sql).returns_rows:
            return await self._pool_tx.fetchall(sql, params)
        done: asyncio.Future[list[Row]] = asyncio.get_running_loop().create_future()
        self._queued.append((sql, params, done))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.get_running_loop().create_task(self._commit_queued())
        return await done

    async def _commit_queued(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, []
            groups: dict[str, list[tuple[Sequence[object], asyncio.Future[list[Row]]]]] = {}
            for sql, params, done in batch:
                groups.setdefault(sql, []).append((params, done))
            await asyncio.gather(*(self._write_group(sql, items) for sql, items in groups.items()))

    async def _write_group(
        self, sql: str, items: list[tuple[Sequence[object], asyncio.Future[list[Row]]]]
    ) -> None:
        if len(items) > 1:
            try:
                await self._pool_tx.executemany(sql, [params for params, _ in items])
            except Exception:
                pass  # one by one below, each with its own outcome
            else:
                for _, done in items:
                    if not done.done():
                        done.set_result([])
                return
        for params, done in items:
            try:
                await self._pool_tx.execute(sql, params)
            except Exception as exc:
                if not done.done():
                    done.set_exception(exc)
            else:
                if not done.done():
                    done.set_result([])

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Tx]:
        conn = await self._lanes.take()
        try:
            async with conn.transaction():
                yield PgTx(self, conn)
        except Exception:
            # Rolled back (asyncpg did, leaving the block); `give` checks that it was.
            self._lanes.give(conn)
            raise
        except BaseException:
            self._lanes.drop(conn)  # cancelled: the rollback may not have run
            raise
        self._lanes.give(conn)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection of one's own (session-level advisory locks live on it)."""
        async with self.pool.acquire() as conn:
            yield conn

    async def schema_version(self) -> int:
        async with self.pool.acquire() as conn:
            exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
            if not exists:
                return 0
            return int(
                await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
            )

    async def migrate(self) -> int:
        """Apply every migration not yet applied, each in one transaction, under an advisory lock
        so that instances starting at the same moment apply each exactly once."""
        async with self.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                await conn.execute(_PRELUDE)
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    "name TEXT PRIMARY KEY, version INTEGER NOT NULL, applied_at TEXT NOT NULL)"
                )
                done = {str(r[0]) for r in await conn.fetch("SELECT name FROM schema_migrations")}
                for number, name, sql in migration_files("postgresql"):
                    if name in done:
                        continue
                    async with conn.transaction():
                        await conn.execute(sql)
                        await conn.execute(
                            "INSERT INTO schema_migrations (name, version, applied_at) VALUES "
                            "($1, $2, to_char(now() AT TIME ZONE 'UTC', "
                            '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\'))',
                            name,
                            number,
                        )
                    log.info("applied migration %s", name)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
            rows = await conn.fetch(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema()"
            )
            key_rows = await conn.fetch(
                "SELECT k.table_name, k.column_name FROM information_schema.table_constraints c "
                "JOIN information_schema.key_column_usage k ON k.constraint_name = "
                "c.constraint_name AND k.table_schema = c.table_schema "
                "WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = current_schema() "
                "ORDER BY k.table_name, k.ordinal_position"
            )
        keys: dict[str, list[str]] = {}
        for table, column in key_rows:
            keys.setdefault(str(table), []).append(str(column))
        self._keys = {t: tuple(c) for t, c in keys.items()}
        columns: dict[str, set[str]] = {}
        for table, column in rows:
            columns.setdefault(str(table), set()).add(str(column))
        self._columns = {t: frozenset(c) for t, c in columns.items()}
        self._id_tables = frozenset(t for t, c in columns.items() if "id" in c)
        self._cache.clear()
        return await self.schema_version()
