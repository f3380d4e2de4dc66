"""The database file is the bot's memory: it must not be silently replaced by an empty one.

- Beside `pustaka.db` lives `pustaka.db.pustaka-id`, holding the random id written into the
  database's header (`PRAGMA application_id`) when it was first created. At start-up a missing
  database next to a marker is refused (a restart used to create an empty database without a
  word), and so is a database whose id is not the marker's (another file put in its place).
- While running, `FileGuard.problem()` notices the file removed or replaced (another inode under
  the same name): the process keeps answering from the deleted file otherwise, losing everything
  it writes. `pustaka run` checks it every few seconds and stops with a clear log line.

A database deliberately started afresh: remove the marker with it.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from storage.db import Database
from storage.errors import StorageError

MARKER_SUFFIX = ".pustaka-id"


class DatabaseMissing(StorageError):
    """The database this place had is gone, or another one is in its place."""


def _is_file(path: str) -> bool:
    return path != ":memory:" and "://" not in path and not path.startswith("file:")


def marker_path(path: str | Path) -> Path:
    return Path(f"{path}{MARKER_SUFFIX}")


def check_before_open(path: str | Path) -> None:
    path = str(path)
    if not _is_file(path):
        return
    marker = marker_path(path)
    if marker.exists() and not Path(path).exists():
        raise DatabaseMissing(
            f"{path} is missing, but {marker} says a database was here: refusing to start with "
            f"an empty one. Restore the file from a backup; to start afresh on purpose, delete "
            f"{marker} too."
        )


async def stamp(db: Database) -> None:
    """Give a new database its id and write the marker; check an existing one against it."""
    if not _is_file(db.path):
        return
    row = await db.fetchone("PRAGMA application_id")
    current = int(row[0]) if row else 0
    if current == 0:
        current = secrets.randbelow(2**31 - 2) + 1
        async with db.transaction() as conn:
            await conn.execute(f"PRAGMA application_id = {current}")
    marker = marker_path(db.path)
    if marker.exists():
        expected = marker.read_text(encoding="utf-8").strip()
        if expected != str(current):
            raise DatabaseMissing(
                f"{db.path} is not the database that was here (id {current}, expected "
                f"{expected} from {marker}): refusing to start. Put the right file back; to use "
                f"this one on purpose, delete {marker}."
            )
    else:
        marker.write_text(f"{current}\n", encoding="utf-8")


@dataclass(frozen=True, slots=True)
class FileGuard:
    path: str
    device: int
    inode: int

    @classmethod
    def capture(cls, path: str) -> FileGuard | None:
        if not _is_file(path):
            return None
        info = os.stat(path)
        return cls(path, info.st_dev, info.st_ino)

    def problem(self) -> str | None:
        """Why the open database is no longer the file under its name, or None."""
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return f"the database file {self.path} was removed while the bot was running"
        if (info.st_dev, info.st_ino) != (self.device, self.inode):
            return f"the database file {self.path} was replaced while the bot was running"
        return None
