"""Regencies and libraries (province, regency and village level)."""

from __future__ import annotations

import json
import time
from typing import Any

from storage.db import Database
from storage.errors import NotFound
from storage.models import Library, Regency

_COLUMNS = (
    "id, slug, name, level, regency_code, village, address, opening_hours, contact, services, "
    "is_sample"
)
# Province first, then regency, then village libraries: the order a resident reads them in.
_LEVEL_ORDER = "CASE level WHEN 'province' THEN 0 WHEN 'regency' THEN 1 ELSE 2 END"
# Aliases and library names are read on free-text messages and change only with an import
# (often from another process): a copy is kept while the tables' sizes stay the same, and for a
# minute at most (a renamed library keeps the size).
_NAMES_TTL_SECONDS = 60.0
_NAMES_VERSION = (
    "SELECT (SELECT count(*) FROM libraries) AS libraries, (SELECT max(id) FROM libraries) AS top,"
    # The alias table is small (tens of rows): all of it is the version of itself.
    " (SELECT group_concat(alias || '=' || regency_codes, ';') FROM place_aliases) AS aliases"
)


def _library(row: Any) -> Library:
    return Library(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        level=row["level"],
        regency_code=row["regency_code"],
        village=row["village"],
        address=row["address"],
        opening_hours=row["opening_hours"],
        contact=row["contact"],
        services=tuple(json.loads(row["services"])),
        is_sample=bool(row["is_sample"]),
    )


class Libraries:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._regencies: list[Regency] | None = None
        self._aliases: tuple[object, dict[str, tuple[str, ...]]] | None = None
        self._names: tuple[object, list[tuple[int, str, str, str]]] | None = None

    async def regencies(self) -> list[Regency]:
        # The 22 regencies are fixed by the first migration; read them once.
        if self._regencies is None:
            rows = await self._db.fetchall(
                "SELECT code, name, kind FROM regencies ORDER BY position", inline=True
            )
            self._regencies = [Regency(r["code"], r["name"], r["kind"]) for r in rows]
        return self._regencies

    async def regency(self, *, code: str) -> Regency:
        for regency in await self.regencies():
            if regency.code == code:
                return regency
        raise NotFound("regency", code)

    async def get(self, *, library_id: int) -> Library:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM libraries WHERE id = ?", (library_id,), inline=True
        )
        if row is None:
            raise NotFound("library", library_id)
        return _library(row)

    async def near(
        self, *, regency_code: str | None, offset: int = 0, limit: int = 50
    ) -> tuple[list[Library], int]:
        """Libraries with the resident's regency first, then the rest; and the total count."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM libraries "
            f"ORDER BY regency_code IS NOT ? , {_LEVEL_ORDER}, name LIMIT ? OFFSET ?",
            (regency_code, limit, offset),
            inline=True,
        )
        return [_library(r) for r in rows], await self.count()

    async def in_regency(self, *, regency_code: str) -> list[Library]:
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM libraries WHERE regency_code = ? "
            f"ORDER BY {_LEVEL_ORDER}, name",
            (regency_code,),
            inline=True,
        )
        return [_library(r) for r in rows]

    async def search(self, *, text: str, limit: int = 5) -> list[Library]:
        """Libraries whose name or village contains `text` (case-insensitive). A scan of every
        library, so it runs on a reader's thread, not on the loop."""
        pattern = f"%{text.strip().lower()}%"
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM libraries "
            f"WHERE lower(name) LIKE ? OR lower(coalesce(village, '')) LIKE ? "
            f"ORDER BY {_LEVEL_ORDER}, name LIMIT ?",
            (pattern, pattern, limit),
            inline=True,
        )
        return [_library(r) for r in rows]

    async def _names_version(self) -> object:
        row = await self._db.fetchone(_NAMES_VERSION, inline=True)
        assert row is not None
        minute = int(time.monotonic() // _NAMES_TTL_SECONDS)
        return (row["libraries"], row["top"], row["aliases"], minute)

    async def aliases(self) -> dict[str, tuple[str, ...]]:
        """The content file's place aliases: alias as written -> the regency codes it means."""
        version = await self._names_version()
        if self._aliases is None or self._aliases[0] != version:
            rows = await self._db.fetchall(
                "SELECT alias, regency_codes FROM place_aliases", inline=True
            )
            found = {r["alias"]: tuple(json.loads(r["regency_codes"])) for r in rows}
            self._aliases = (version, found)
        return self._aliases[1]

    async def names(self) -> list[tuple[int, str, str, str]]:
        """Every library as (id, name, regency code, village or ''), for matching typed names."""
        version = await self._names_version()
        if self._names is None or self._names[0] != version:
            rows = await self._db.fetchall(
                "SELECT id, name, regency_code, coalesce(village, '') AS village FROM libraries "
                f"ORDER BY {_LEVEL_ORDER}, name",
                inline=True,
            )
            listed = [(r["id"], r["name"], r["regency_code"], r["village"]) for r in rows]
            self._names = (version, listed)
        return self._names[1]

    async def count(self) -> int:
        row = await self._db.fetchone("SELECT count(*) FROM libraries", inline=True)
        return int(row[0]) if row else 0
