"""Events as staff see them: every status, limited to a role's scope, and their changes.

Residents' listings (storage.events) hide drafts and cancelled events; staff need all of them.
"""

from __future__ import annotations

from datetime import datetime

from storage.clock import to_db
from storage.db import Database
from storage.events import _COLUMNS, _FROM, _event
from storage.models import Event


class StaffEvents:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def in_scope(
        self,
        *,
        now: datetime,
        library_id: int | None = None,
        regency_code: str | None = None,
        offset: int = 0,
        limit: int = 5,
    ) -> tuple[list[Event], int]:
        """Upcoming and running events first (soonest first), then past ones (most recent
        first): the order staff look for them in."""
        where: list[str] = ["1"]
        params: list[object] = []
        if library_id is not None:
            where.append("e.library_id = ?")
            params.append(library_id)
        if regency_code is not None:
            where.append("l.regency_code = ?")
            params.append(regency_code)
        stamp = to_db(now)
        async with self._db.reader.execute(
            f"SELECT {_COLUMNS}, count(*) OVER () AS total {_FROM} WHERE {' AND '.join(where)} "
            "ORDER BY e.ends_at < ?, CASE WHEN e.ends_at >= ? THEN e.starts_at END, "
            "e.starts_at DESC, e.id LIMIT ? OFFSET ?",
            (*params, stamp, stamp, limit, offset),
        ) as cur:
            rows = list(await cur.fetchall())
        total = rows[0]["total"] if rows else 0
        return [_event(r) for r in rows], total
