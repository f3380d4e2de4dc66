"""`pustaka migrate`, `copy`, `backup`, `restore`: operating a deployment (docs/deploy.md)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path

from bot.config import Settings
from storage.db import Database, is_postgres_url
from storage.transfer import TransferError, backup_sqlite, copy_sqlite_to, restore_sqlite

Command = Callable[[Settings, argparse.Namespace], Coroutine[object, object, int]]


def add_parsers(sub: argparse._SubParsersAction) -> dict[str, Command]:  # type: ignore[type-arg]
    sub.add_parser("migrate", help="bring the database's schema up to date (also done at start)")
    copy = sub.add_parser("copy", help="copy a SQLite database into an empty PostgreSQL one")
    copy.add_argument("--from", dest="source", required=True, help="the SQLite file")
    copy.add_argument("--to", dest="target", required=True, help="postgresql://...")
    backup = sub.add_parser("backup", help="a consistent copy of the SQLite database, live")
    backup.add_argument("file", type=Path)
    restore = sub.add_parser("restore", help="replace the SQLite database with a backup")
    restore.add_argument("file", type=Path)
    return {"migrate": _migrate, "copy": _copy, "backup": _backup, "restore": _restore}


async def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    db = await Database.open(settings.db_path)  # opening applies what is missing
    try:
        print(f"{db.engine}: schema version {await db.schema_version()}")
    finally:
        await db.close()
    return 0


async def _copy(settings: Settings, args: argparse.Namespace) -> int:
    if is_postgres_url(args.source) or not await asyncio.to_thread(Path(args.source).is_file):
        print(f"{args.source}: not a SQLite file")
        return 1
    if not is_postgres_url(args.target):
        print(f"{args.target}: the target must be a postgresql:// URL")
        return 1
    # Opening the source migrates it, so both sides have the same tables.
    source = await Database.open(args.source)
    await source.close()
    target = await Database.open(args.target)
    try:
        counts = await copy_sqlite_to(args.source, target)
    except TransferError as exc:
        print(f"copy refused: {exc}")
        return 1
    finally:
        await target.close()
    for count in counts:
        print(f"{count.table:28} {count.source:>9} -> {count.target:>9}")
    print(f"copied {sum(c.target for c in counts)} rows in {len(counts)} tables; counts match")
    return 0


def _sqlite_only(settings: Settings) -> bool:
    if is_postgres_url(settings.db_path):
        print("PUSTAKA_DB is PostgreSQL: use pg_dump / pg_restore (docs/deploy.md)")
        return False
    return True


async def _backup(settings: Settings, args: argparse.Namespace) -> int:
    if not _sqlite_only(settings):
        return 1
    size = await asyncio.to_thread(backup_sqlite, settings.db_path, args.file)
    print(f"{settings.db_path} -> {args.file} ({size} bytes)")
    return 0


async def _restore(settings: Settings, args: argparse.Namespace) -> int:
    if not _sqlite_only(settings):
        return 1
    try:
        version = await asyncio.to_thread(restore_sqlite, args.file, settings.db_path)
    except TransferError as exc:
        print(f"restore refused: {exc}")
        return 1
    print(f"{args.file} -> {settings.db_path} (schema version {version}); start the bot again")
    return 0
