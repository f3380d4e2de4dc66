"""Monthly participation figures for the national library's TPBIS reports.

Definitions (the same in chat, in the PNG chart and in `pustaka report`):
- events held: events starting in the month that have ended (by the moment asked) and were
  not cancelled (nor left as drafts): an event still to come is not "held";
- registered: seats held at the event (confirmed registrations, proxies included);
- attended: people marked present (registered, or walk-ins); attendance rate = registered
  people present / registered;
- participants by gender, age band and regency: the people present, by the answers they gave
  and by the regency of the event's library (where the activity took place);
- new residents: profiles created in the month (consent given), by home regency;
- announcements: announcement messages delivered in the month to residents of the scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from storage.clock import to_db
from storage.db import Database

GENDERS = ("female", "male", "unsaid", "unknown")
AGE_BANDS = ("u18", "18_35", "36_55", "55p", "unknown")


@dataclass(frozen=True, slots=True)
class MonthStats:
    start: datetime
    end: datetime
    regency_code: str | None
    events_held: int
    registered: int
    attended_registered: int
    walk_ins: int
    new_residents: int
    announcements_sent: int
    by_gender: dict[str, int] = field(default_factory=dict)
    by_age_band: dict[str, int] = field(default_factory=dict)
    by_regency: dict[str, int] = field(default_factory=dict)  # regency code -> people present

    @property
    def attended(self) -> int:
        return self.attended_registered + self.walk_ins

    @property
    def attendance_rate(self) -> float | None:
        return None if self.registered == 0 else self.attended_registered / self.registered


_HELD = (
    "e.status IN ('open', 'closed', 'finished') AND e.starts_at >= :start AND e.starts_at < :end "
    "AND e.ends_at <= :now"
)


class Stats:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def month(
        self,
        *,
        start: datetime,
        end: datetime,
        regency_code: str | None = None,
        now: datetime,
    ) -> MonthStats:
        params: dict[str, object] = {
            "start": to_db(start),
            "end": to_db(end),
            "regency": regency_code,
            "now": to_db(now),
        }
        scope = "" if regency_code is None else " AND l.regency_code = :regency"
        reader = self._db.reader
        base = f"FROM events e JOIN libraries l ON l.id = e.library_id WHERE {_HELD}{scope}"
        events_held = await self._count(f"SELECT count(*) {base}", params)
        row = await reader.fetchone(
            "SELECT coalesce(sum(g.status = 'confirmed'), 0), "
            "coalesce(sum(g.status = 'confirmed' AND g.attended_at IS NOT NULL), 0), "
            "coalesce(sum(g.status = 'walk_in' AND g.attended_at IS NOT NULL), 0) "
            f"FROM registrations g JOIN events e ON e.id = g.event_id "
            f"JOIN libraries l ON l.id = e.library_id WHERE {_HELD}{scope}",
            params,
        )
        assert row is not None  # an aggregate always returns one row
        registered, attended_registered, walk_ins = (int(v) for v in row)
        present = (
            "FROM registrations g JOIN events e ON e.id = g.event_id "
            f"JOIN libraries l ON l.id = e.library_id WHERE {_HELD}{scope} "
            "AND g.attended_at IS NOT NULL AND g.status IN ('confirmed', 'walk_in')"
        )
        by_gender = await self._grouped(f"coalesce(g.gender, 'unknown') {present}", params)
        by_age = await self._grouped(f"coalesce(g.age_band, 'unknown') {present}", params)
        by_regency = await self._grouped(f"l.regency_code {present}", params)
        resident_scope = "" if regency_code is None else " AND regency_code = :regency"
        new_residents = await self._count(
            "SELECT count(*) FROM residents WHERE consent_at IS NOT NULL "
            f"AND created_at >= :start AND created_at < :end{resident_scope}",
            params,
        )
        announcement_scope = (
            ""
            if regency_code is None
            else " AND o.resident_id IN (SELECT id FROM residents WHERE regency_code = :regency)"
        )
        # The planner, without statistics, prefers the claim index on status and reads every
        # delivered row; the partial index (migration 0006) reads only the month's.
        announcements = await self._count(
            "SELECT count(*) FROM outbox o INDEXED BY outbox_announcements_sent "
            "WHERE o.kind = 'announcement' AND o.status = 'sent' "
            "AND o.sent_at >= :start AND o.sent_at < :end" + announcement_scope,
            params,
        )
        return MonthStats(
            start=start,
            end=end,
            regency_code=regency_code,
            events_held=events_held,
            registered=registered,
            attended_registered=attended_registered,
            walk_ins=walk_ins,
            new_residents=new_residents,
            announcements_sent=announcements,
            by_gender={k: by_gender.get(k, 0) for k in GENDERS},
            by_age_band={k: by_age.get(k, 0) for k in AGE_BANDS},
            by_regency=by_regency,
        )

    async def _count(self, sql: str, params: dict[str, object]) -> int:
        row = await self._db.fetchone(sql, params)
        return 0 if row is None else int(row[0])

    async def _grouped(self, expression_and_from: str, params: dict[str, object]) -> dict[str, int]:
        key, _, rest = expression_and_from.partition(" FROM ")
        rows = await self._db.fetchall(
            f"SELECT {key} AS k, count(*) FROM {rest} GROUP BY k", params
        )
        return {str(r[0]): int(r[1]) for r in rows}
