"""Moving data between databases: SQLite backups (the online backup API, consistent while the bot
writes) and a full copy of a SQLite deployment into PostgreSQL, checked by counting every table.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from storage.db import Database, is_postgres_url

CHUNK = 1000


class TransferError(Exception):
    """The copy or restore cannot go ahead, or its counts do not match; nothing was kept."""


def backup_sqlite(source: str | Path, target: str | Path) -> int:
    """Copy the live SQLite database at `source` into the file `target` with SQLite's online
    backup API: one consistent moment even while the bot keeps writing. Returns its size."""
    src = sqlite3.connect(str(source))
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return Path(target).stat().st_size


def restore_sqlite(backup: str | Path, target: str | Path) -> int:
    """Replace the database at `target` with the backup file (the bot must be stopped). Refuses
    anything that is not a Pustaka SQLite database. Returns the backup's schema version."""
    path = Path(backup)
    if not path.is_file():
        raise TransferError(f"{backup}: no such file")
    try:
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        version = int(src.execute("PRAGMA user_version").fetchone()[0])
        src.execute("SELECT count(*) FROM residents").fetchone()
    except sqlite3.DatabaseError as exc:
        raise TransferError(f"{backup}: not a Pustaka database ({exc})") from exc
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return version


def tables_in_order(conn: sqlite3.Connection) -> list[str]:
    """Tables with every table a foreign key points to before the table itself."""
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    ).fetchall()
    # Full-text indexes (virtual tables and their shadow tables) are SQLite's own; PostgreSQL
    # searches the records themselves (storage/catalogue.py).
    virtual = [name for name, sql in rows if str(sql).upper().startswith("CREATE VIRTUAL")]
    names = [
        name for name, _ in rows if not any(name == v or name.startswith(v + "_") for v in virtual)
    ]
    needs = {
        name: {r[2] for r in conn.execute(f"PRAGMA foreign_key_list('{name}')")} - {name}
        for name in names
    }
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and needs[n] <= set(ordered)]
        if not ready:
            raise TransferError(f"circular foreign keys among {set(names) - set(ordered)}")
        ordered.extend(ready)
    return ordered


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int


async def copy_sqlite_to(source: str | Path, target: Database) -> list[TableCount]:
    """Copy every row of the SQLite database at `source` into `target` (a migrated, empty
    PostgreSQL database), in one transaction, then compare each table's count. A snapshot is
    taken first with the backup API, so the source may be in use."""
    if not is_postgres_url(target.path):
        raise TransferError("the copy goes to a postgresql:// database")
    with tempfile.TemporaryDirectory() as folder:
        snapshot = Path(folder) / "snapshot.db"
        await asyncio.to_thread(backup_sqlite, source, snapshot)
        src = sqlite3.connect(str(snapshot))
        try:
            return await _copy(src, target)
        finally:
            src.close()


async def _copy(src: sqlite3.Connection, target: Database) -> list[TableCount]:
    tables = tables_in_order(src)
    target_tables = {
        r[0]
        for r in await target.fetchall(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
    }
    missing = [t for t in tables if t not in target_tables]
    if missing:
        raise TransferError(f"the target has no table {', '.join(missing)} (newer source?)")
    for table in tables:
        if table == "regencies":  # filled by the first migration on both sides
            continue
        row = await target.fetchone(f"SELECT count(*) FROM {table}")
        if row is not None and row[0]:
            raise TransferError(f"the target is not empty ({table} has {row[0]} rows)")
    counts: list[TableCount] = []
    async with target.transaction() as conn:
        await conn.execute("DELETE FROM regencies")
        for table in tables:
            columns = [r[1] for r in src.execute(f"PRAGMA table_info('{table}')")]
            names = ", ".join(columns)
            marks = ", ".join("?" for _ in columns)
            insert = f"INSERT INTO {table} ({names}) VALUES ({marks})"
            cursor = src.execute(f"SELECT {names} FROM {table}")
            while batch := cursor.fetchmany(CHUNK):
                await conn.executemany(insert, [tuple(r) for r in batch])
            if "id" in columns:
                # Identity columns go on after the highest copied id.
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )
            copied = await conn.fetchone(f"SELECT count(*) FROM {table}")
            source_count = int(src.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            counts.append(TableCount(table, source_count, int(copied[0]) if copied else 0))
        wrong = [c for c in counts if c.source != c.target]
        if wrong:
            raise TransferError(f"counts differ, nothing kept: {wrong}")
    return counts
