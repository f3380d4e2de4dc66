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

import logging
import sqlite3
import zlib
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import asyncpg

from storage.db import Cursor, Database, Params, Row, Tx, migration_files
from storage.dialect import Translated, translate
from storage.errors import DatabaseBusy

log = logging.getLogger(__name__)

POOL_MIN = 2
POOL_MAX = 10
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


class PgTx(Tx):
    """Statements on one pooled connection (a transaction's) or on the pool (each alone)."""

    __slots__ = ("_db", "_target")

    def __init__(self, db: PostgresDatabase, target: asyncpg.Connection | asyncpg.Pool) -> None:
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

    def __init__(self, url: str, pool: asyncpg.Pool) -> None:
        self.path = url
        self.pool = pool
        self._id_tables: frozenset[str] = frozenset()
        self._columns: dict[str, frozenset[str]] = {}
        self._keys: dict[str, tuple[str, ...]] = {}
        self._cache: dict[str, Translated] = {}
        self._pool_tx = PgTx(self, pool)

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
        db = cls(url, pool)
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
        await self.pool.close()

    @property
    def reader(self) -> Tx:
        return self._pool_tx

    async def fetchall(self, sql: str, params: Params = (), *, inline: bool = False) -> list[Row]:
        return await self._pool_tx.fetchall(sql, params)

    async def write(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return await self._pool_tx.fetchall(sql, params)

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Tx]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield PgTx(self, conn)

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
