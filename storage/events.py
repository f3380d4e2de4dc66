"""Events, read side. Registration (seats) lives with the registrations repository."""

from __future__ import annotations

import bisect
import json
import re
import time
from datetime import datetime
from typing import Any

from storage.clock import from_db, opt_from_db, to_db
from storage.db import Database
from storage.errors import NotFound
from storage.models import Event

_COLUMNS = (
    "e.id, e.slug, e.library_id, e.title, e.category, e.description, e.place, e.starts_at, "
    "e.ends_at, e.capacity, e.seats_taken, e.status, e.questions, e.registration_opens_at, "
    "e.registration_closes_at, e.waitlist_limit, e.is_sample, l.name AS library_name, "
    "l.regency_code"
)
_FROM = "FROM events e JOIN libraries l ON l.id = e.library_id"
# What residents may see in listings: not drafts, not cancelled ones.
_LISTED = "e.status IN ('open', 'closed')"


def _event(row: Any) -> Event:
    return Event(
        id=row["id"],
        slug=row["slug"],
        library_id=row["library_id"],
        title=row["title"],
        category=row["category"],
        description=row["description"],
        place=row["place"],
        starts_at=from_db(row["starts_at"]),
        ends_at=from_db(row["ends_at"]),
        capacity=row["capacity"],
        seats_taken=row["seats_taken"],
        status=row["status"],
        questions=tuple(json.loads(row["questions"])),
        registration_opens_at=opt_from_db(row["registration_opens_at"]),
        registration_closes_at=opt_from_db(row["registration_closes_at"]),
        waitlist_limit=row["waitlist_limit"],
        is_sample=bool(row["is_sample"]),
        library_name=row["library_name"],
        regency_code=row["regency_code"],
    )


# Title words are looked up on free-text messages ("kelor"): a word index is kept in memory
# until a new event is added, for a minute at most (an edited title keeps the ids).
_TITLES_TTL_SECONDS = 60.0
_WORD = re.compile(r"[^\W_]+")


class Events:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._titles: tuple[object, list[str], dict[str, list[int]]] | None = None

    async def _title_index(self) -> tuple[list[str], dict[str, list[int]]]:
        row = await self._db.fetchone("SELECT max(id) AS top FROM events", inline=True)
        assert row is not None
        version = (row["top"], int(time.monotonic() // _TITLES_TTL_SECONDS))
        if self._titles is None or self._titles[0] != version:
            rows = await self._db.fetchall(
                f"SELECT id, title FROM events e WHERE {_LISTED}", inline=True
            )
            index: dict[str, list[int]] = {}
            for r in rows:
                for word in set(_WORD.findall(r["title"].casefold())):
                    index.setdefault(word, []).append(r["id"])
            self._titles = (version, sorted(index), index)
        return self._titles[1], self._titles[2]

    async def get(self, *, event_id: int) -> Event:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} {_FROM} WHERE e.id = ?", (event_id,), inline=True
        )
        if row is None:
            raise NotFound("event", event_id)
        return _event(row)

    async def upcoming(
        self,
        *,
        now: datetime,
        until: datetime,
        regency_code: str | None = None,
        category: str | None = None,
        offset: int = 0,
        limit: int = 5,
    ) -> tuple[list[Event], int]:
        """Listed events that have not ended and start before `until`, soonest first; and the
        total count so callers can page."""
        where = [_LISTED, "e.ends_at > ?", "e.starts_at < ?"]
        params: list[object] = [to_db(now), to_db(until)]
        if regency_code is not None:
            where.append("l.regency_code = ?")
            params.append(regency_code)
        if category is not None:
            where.append("e.category = ?")
            params.append(category)
        condition = " AND ".join(where)
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} {_FROM} WHERE {condition} ORDER BY e.starts_at, e.id "
            "LIMIT ? OFFSET ?",
            (*params, limit, offset),
            inline=True,
        )
        # Two simple queries cost half of one with count(*) OVER (), which sorts every match;
        # without a regency the count needs no library, and reads only the events_listing index.
        source = _FROM if regency_code is not None else "FROM events e"
        counted = await self._db.fetchone(
            f"SELECT count(*) {source} WHERE {condition}", params, inline=True
        )
        return [_event(r) for r in rows], int(counted[0]) if counted else 0

    async def titled(
        self, *, words: list[str], now: datetime, until: datetime, limit: int = 5
    ) -> tuple[list[Event], int]:
        """Listed upcoming events with a title word starting with each of `words` (any case),
        soonest first; and how many there are. ("kelor" finds "Olahan Kelor: Teh, Kue dan
        Keripik".)"""
        if not words:
            return [], 0
        tokens, index = await self._title_index()
        found: set[int] | None = None
        for word in words:
            word = word.casefold()
            ids: set[int] = set()
            at = bisect.bisect_left(tokens, word)
            while at < len(tokens) and tokens[at].startswith(word):
                ids.update(index[tokens[at]])
                at += 1
            found = ids if found is None else found & ids
            if not found:
                return [], 0
        assert found is not None
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS}, count(*) OVER () AS total {_FROM} "
            f"WHERE e.id IN (SELECT CAST(value AS INTEGER) FROM json_each(?)) AND {_LISTED} "
            "AND e.ends_at > ? AND e.starts_at < ? ORDER BY e.starts_at, e.id LIMIT ?",
            (json.dumps(sorted(found)), to_db(now), to_db(until), limit),
            inline=True,
        )
        total = int(rows[0]["total"]) if rows else 0
        return [_event(r) for r in rows], total

    async def categories(self, *, now: datetime, until: datetime) -> list[str]:
        rows = await self._db.fetchall(
            f"SELECT DISTINCT e.category {_FROM} WHERE {_LISTED} AND e.ends_at > ? "
            "AND e.starts_at < ? ORDER BY e.category",
            (to_db(now), to_db(until)),
            inline=True,
        )
        return [r[0] for r in rows]
