"""The storage interface (Database, Tx) and its SQLite implementation: connections, pragmas and
numbered migrations. PostgreSQL is the other implementation (storage/postgres.py); repositories
see only `Database` and the `Tx` a transaction gives, and write SQLite-flavoured SQL that
storage/dialect.py translates for PostgreSQL.

Where each kind of work runs, and why:
- Short, indexed queries of the conversation hot path (a session, a resident, a page of events)
  and single-statement writes run on the event loop's own connection. They take microseconds;
  a hop to a worker thread and back costs far more, mostly in waiting for the GIL while the loop
  is busy, and under load those waits were most of the time an update took.
- Everything else (reports, exports, multi-statement transactions, migrations) goes through
  aiosqlite's threads, so a long query never stalls the loop.
- Writes are serialised by one asyncio lock and `BEGIN IMMEDIATE`, so a transaction of one
  coroutine never sees or commits another's half-done work. Reads in WAL mode see only committed
  data. Another process writing the same file is waited for (the busy timeout), never failed at
  once, and the loop keeps serving while it waits.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, cast

import aiosqlite

from storage.errors import DatabaseBusy

log = logging.getLogger(__name__)

# Positional (?) or named (:name) parameters, as sqlite3 takes them.
Params = Sequence[object] | Mapping[str, object]
# In a subquery that picks rows to claim: PostgreSQL skips rows another transaction is claiming
# (storage/dialect.py); SQLite, whose writers take turns, reads it as a comment.
SKIP_LOCKED = "/*FOR UPDATE SKIP LOCKED*/"
# A row of either engine: sqlite3.Row or asyncpg.Record. Both are read by column name or index,
# iterate over their values and give `keys()`.
Row = Any

BUSY_TIMEOUT_MS = 5000
# Each aiosqlite connection is one thread; with a few, one long report or export does not hold
# up the other reads that run there.
READERS = 3
# While another process writes, a group of writes is tried again this often.
_BUSY_RETRY_SECONDS = 0.01
# The loop's connection never checkpoints (that writes and syncs the database file); a reader
# does it after this many group commits.
_CHECKPOINT_EVERY = 200


def is_postgres_url(target: str | Path) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


class Cursor:
    """What a statement gave: its rows (those of a SELECT or a RETURNING clause), how many rows it
    changed, and the id of the row an INSERT added."""

    __slots__ = ("lastrowid", "rowcount", "rows")

    def __init__(self, rows: list[Row], rowcount: int, lastrowid: int | None) -> None:
        self.rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid


class Tx:
    """One connection's way to run statements: inside `Database.transaction()` every statement is
    part of that transaction; `Database.reader` gives one whose statements stand alone.

    The one query style: `fetchone` and `fetchall` for rows (of a SELECT or a RETURNING clause),
    `execute` for a write (its Cursor gives `rowcount` and `lastrowid`), `executemany` for one
    write over many parameter sets."""

    async def _run(self, sql: str, params: Params) -> Cursor:
        raise NotImplementedError

    async def _run_many(self, sql: str, seq: Iterable[Params]) -> None:
        for params in seq:
            await self._run(sql, params)

    async def execute(self, sql: str, params: Params = ()) -> Cursor:
        return await self._run(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return (await self._run(sql, params)).rows

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = (await self._run(sql, params)).rows
        return rows[0] if rows else None

    async def executemany(self, sql: str, seq: Iterable[Params]) -> None:
        await self._run_many(sql, seq)

    async def lock_row(self, table: str, row_id: int) -> bool:
        """Lock one row until the transaction ends, before reading what decides a write (an
        event's free seats, its waitlist order). PostgreSQL: SELECT ... FOR UPDATE, the same
        lock an UPDATE of that row takes, so lock order stays that of the row. SQLite needs
        nothing: its write transactions already take turns. True when a lock was taken (what was
        read before it may be stale)."""
        return False

    async def lock(self, scope: str, key: int | str) -> None:
        """Hold a lock on (scope, key) until the transaction ends: concurrent transactions that
        read then write the same thing (an event's waitlist order) take turns. SQLite needs
        nothing: its write transactions already take turns."""


class Database:
    """The storage interface. `Database.open` picks the engine from the target: a
    `postgresql://` URL opens PostgreSQL, anything else is a SQLite file."""

    engine = "sqlite"
    path: str

    @classmethod
    async def open(cls, path: str | Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Database:
        if is_postgres_url(path):
            from storage.postgres import PostgresDatabase

            return await PostgresDatabase.connect(str(path))
        return await SqliteDatabase.connect(path, busy_timeout_ms=busy_timeout_ms)

    async def close(self) -> None:
        raise NotImplementedError

    @property
    def reader(self) -> Tx:
        raise NotImplementedError

    async def fetchall(self, sql: str, params: Params = (), *, inline: bool = False) -> list[Row]:
        raise NotImplementedError

    async def fetchone(self, sql: str, params: Params = (), *, inline: bool = False) -> Row | None:
        return next(iter(await self.fetchall(sql, params, inline=inline)), None)

    async def write(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        raise NotImplementedError

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        raise NotImplementedError

    async def schema_version(self) -> int:
        raise NotImplementedError

    async def migrate(self) -> int:
        raise NotImplementedError

    async def ping(self) -> bool:
        """Whether the database answers a trivial query (for /healthz)."""
        try:
            await self.fetchall("SELECT 1")
        except Exception:
            return False
        return True


def _run_sqlite(
    conn: sqlite3.Connection, sql: str, params: Params
) -> tuple[list[sqlite3.Row], int, int | None]:
    cur = conn.execute(sql, params)
    try:
        rows = cur.fetchall()
        return rows, cur.rowcount, cur.lastrowid
    finally:
        cur.close()


class SqliteTx(Tx):
    """Statements on one aiosqlite connection, each one hop to its thread and back (rows, count
    and new id together)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        # aiosqlite's own queue to the connection's thread; its public methods make two or three
        # hops for what this does in one.
        self._call = cast(Callable[..., Awaitable[Any]], conn._execute)

    async def _run(self, sql: str, params: Params) -> Cursor:
        rows, count, rowid = await self._call(_run_sqlite, self._conn._conn, sql, params)
        return Cursor(rows, count, rowid)

    async def _run_many(self, sql: str, seq: Iterable[Params]) -> None:
        await self._conn.executemany(sql, seq)

    @property
    def in_transaction(self) -> bool:
        return bool(self._conn.in_transaction)


def migration_files(engine: str = "sqlite") -> list[tuple[int, str, str]]:
    """(number, name, SQL) of every migration, in order. `NNNN_x.sql` is written for SQLite;
    PostgreSQL takes its `NNNN_x.postgresql.sql` twin where one exists (triggers, SQLite-only
    functions) and otherwise the SQLite file translated by storage/dialect.py. Two branches may
    have used one number; both files are applied, in name order."""
    files = {
        entry.name: entry
        for entry in resources.files("storage.migrations").iterdir()
        if entry.name.endswith(".sql") and entry.name[:4].isdigit()
    }
    found = []
    for name in sorted(files):
        if name.endswith(".postgresql.sql"):
            continue
        sql = files[name].read_text(encoding="utf-8")
        if engine != "sqlite":
            twin = files.get(name.removesuffix(".sql") + ".postgresql.sql")
            if twin is not None:
                sql = twin.read_text(encoding="utf-8")
            else:
                from storage.dialect import translate_schema

                sql = translate_schema(sql)
        found.append((int(name[:4]), name.removesuffix(".sql"), sql))
    return found


def _migrations() -> list[tuple[int, str]]:
    return [(number, sql) for number, _, sql in migration_files("sqlite")]


async def _open(path: str, busy_timeout_ms: int) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    # Pragmas return rows; fetching them all closes the statement so it holds no lock.
    await conn.execute_fetchall(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    await conn.execute_fetchall("PRAGMA foreign_keys = ON")
    await conn.execute_fetchall("PRAGMA synchronous = NORMAL")
    return conn


def _is_busy(exc: sqlite3.Error) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


def _domain_error(exc: Exception) -> Exception:
    return DatabaseBusy(str(exc)) if isinstance(exc, sqlite3.Error) and _is_busy(exc) else exc


class _Busy(Exception):
    """Another process holds the write lock; the group is tried again a little later."""

    def __init__(self, error: sqlite3.Error) -> None:
        super().__init__(str(error))
        self.error = error


def _run_group(
    conn: sqlite3.Connection, statements: list[tuple[str, tuple[object, ...]]]
) -> list[list[sqlite3.Row] | Exception]:
    """One transaction for a group of single-statement writes, on the loop's connection."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        if _is_busy(exc):
            raise _Busy(exc) from exc
        return [exc] * len(statements)
    outcomes: list[list[sqlite3.Row] | Exception] = []
    for sql, params in statements:
        try:
            outcomes.append(conn.execute(sql, params).fetchall())
        except sqlite3.Error as exc:
            # A constraint error backs out that statement only; a full disk or an I/O error
            # ends the whole transaction, and then nothing of the group was kept.
            if not conn.in_transaction:
                return [exc] * len(statements)
            outcomes.append(exc)
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return [exc] * len(statements)
    return outcomes


class SqliteDatabase(Database):
    def __init__(
        self,
        path: str,
        inline: sqlite3.Connection,
        writer: aiosqlite.Connection,
        readers: list[aiosqlite.Connection],
        busy_timeout_ms: int,
    ):
        self.path = path
        self._inline = inline
        self._writer = writer
        self._readers = readers
        self._next_reader = itertools.cycle(readers)
        self._busy_timeout = busy_timeout_ms / 1000
        self._write_lock = asyncio.Lock()
        self._queued: list[tuple[str, tuple[object, ...], asyncio.Future[list[sqlite3.Row]]]] = []
        self._committer: asyncio.Task[None] | None = None
        self._commits_since_checkpoint = 0
        self._checkpointer: asyncio.Task[None] | None = None
        self._reader_txs = [SqliteTx(r) for r in readers]
        self._next_reader_tx = itertools.cycle(self._reader_txs)

    @classmethod
    async def connect(
        cls, path: str | Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS
    ) -> SqliteDatabase:
        path = str(path)
        writer = await _open(path, busy_timeout_ms)
        await writer.execute_fetchall("PRAGMA journal_mode = WAL")
        inline = sqlite3.connect(path, isolation_level=None)
        inline.row_factory = sqlite3.Row
        # The loop must never sleep inside SQLite: a busy file fails at once here and is waited
        # for with asyncio instead (see _commit_queued), and checkpoints, which write the
        # database file and sync it, run on a reader's thread (see _checkpoint).
        for pragma in ("busy_timeout = 0", "foreign_keys = ON", "synchronous = NORMAL"):
            inline.execute(f"PRAGMA {pragma}").fetchall()
        inline.execute("PRAGMA wal_autocheckpoint = 0").fetchall()
        readers = [await _open(path, busy_timeout_ms) for _ in range(READERS)]
        db = cls(path, inline, writer, readers, busy_timeout_ms)
        await db.migrate()
        return db

    async def close(self) -> None:
        for task in (self._committer, self._checkpointer):
            if task is not None:
                await task  # queued writes are committed, not dropped
        self._inline.close()
        for reader in self._readers:
            await reader.close()
        await self._writer.close()

    @property
    def reader(self) -> Tx:
        """A reader connection for a query of its own; taken in turn, like `fetchall` does, so
        one long report does not hold up the reads behind it."""
        return next(self._next_reader_tx)

    async def fetchall(self, sql: str, params: Params = (), *, inline: bool = False) -> list[Row]:
        """Rows of a query. `inline` runs it on the loop's connection (see the module's
        docstring): only for queries an index or a small table bounds, which take well under a
        millisecond; anything that scans a growing table stays on a reader's thread."""
        if inline:
            try:
                return self._inline.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                # Rare in WAL mode (another process recovering the log): wait on a thread.
        # execute_fetchall is one hop to the thread and back; a cursor would take three.
        return list(await next(self._next_reader).execute_fetchall(sql, params))

    async def write(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """One statement, committed before this returns; gives the rows of a RETURNING clause.

        Writes are committed in groups: whoever writes while a commit is under way joins the next
        one, in a single transaction. Each statement stays atomic on its own: a failing one is
        backed out alone and its caller gets the error, while the others are committed.
        """
        done: asyncio.Future[list[sqlite3.Row]] = asyncio.get_running_loop().create_future()
        self._queued.append((sql, tuple(params), done))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_queued())
        return await done

    async def _commit_queued(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queued:
            async with self._write_lock:
                batch, self._queued = self._queued, []
                statements = [(sql, params) for sql, params, _ in batch]
                deadline = loop.time() + self._busy_timeout
                while True:
                    try:
                        outcomes = _run_group(self._inline, statements)
                        break
                    except _Busy as exc:
                        if loop.time() >= deadline:
                            outcomes = [exc.error] * len(batch)
                            break
                        await asyncio.sleep(_BUSY_RETRY_SECONDS)
            for (_, _, done), outcome in zip(batch, outcomes, strict=True):
                if done.done():
                    continue
                if isinstance(outcome, Exception):
                    done.set_exception(_domain_error(outcome))
                else:
                    done.set_result(outcome)
            self._commits_since_checkpoint += 1
            if self._commits_since_checkpoint >= _CHECKPOINT_EVERY and (
                self._checkpointer is None or self._checkpointer.done()
            ):
                self._commits_since_checkpoint = 0
                self._checkpointer = asyncio.create_task(self._checkpoint())

    async def _checkpoint(self) -> None:
        """Copy the write-ahead log into the database file, off the loop. PASSIVE never waits
        for readers or writers; what it cannot copy now is copied next time."""
        try:
            await self._readers[-1].execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:  # the log just grows a little longer until the next one
            log.warning("WAL checkpoint failed: %s", exc)

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Tx]:
        """One write transaction; commits on success, rolls back on any exception."""
        async with self._write_lock:
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise _domain_error(exc) from exc
            try:
                yield SqliteTx(self._writer)
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            else:
                await self._writer.execute("COMMIT")

    async def schema_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
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
