"""Events, read side. Registration (seats) lives with the registrations repository."""

from __future__ import annotations

import json
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


class Events:
    def __init__(self, db: Database) -> None:
        self._db = db

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
        # Two simple queries cost half of one with count(*) OVER (), which sorts every match.
        counted = await self._db.fetchone(
            f"SELECT count(*) {_FROM} WHERE {condition}", params, inline=True
        )
        return [_event(r) for r in rows], int(counted[0]) if counted else 0

    async def titled(
        self, *, words: list[str], now: datetime, until: datetime, limit: int = 5
    ) -> tuple[list[Event], int]:
        """Listed upcoming events whose title contains every one of `words` (any case), soonest
        first; and how many there are. ("kelor" finds "Olahan Kelor: Teh, Kue dan Keripik".)"""
        if not words:
            return [], 0
        where = [_LISTED, "e.ends_at > ?", "e.starts_at < ?"]
        params: list[object] = [to_db(now), to_db(until)]
        for word in words:
            where.append("e.title LIKE ? ESCAPE '\\'")
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(f"%{escaped}%")
        condition = " AND ".join(where)
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS}, count(*) OVER () AS total {_FROM} WHERE {condition} "
            "ORDER BY e.starts_at, e.id LIMIT ?",
            (*params, limit),
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
