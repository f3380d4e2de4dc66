"""Deleting a resident's personal data (UU PDP): their registrations cancelled (seats handed
on) and anonymised, remembered answers removed."""

from __future__ import annotations

from datetime import datetime

from storage.clock import to_db
from storage.db import Database
from storage.registration_sql import (
    _LIVE,
    _cancel_row,
    _one_locked,
)


class Forgetting:
    _db: Database

    async def forget_resident(self, *, resident_id: int, now: datetime) -> int:
        """UU PDP deletion: upcoming seats and waitlist places this resident holds (own and
        proxy) are cancelled, promoting the next in line; then every registration they made is
        unlinked from them and stripped of name and village. Gender and age band stay on the
        anonymous rows because they feed only the aggregate monthly figures. Returns how many
        registrations were cancelled."""
        async with self._db.transaction() as conn:
            rows = await conn.fetchall(
                f"SELECT r.id FROM registrations r JOIN events e ON e.id = r.event_id "
                f"WHERE r.resident_id = ? AND r.status IN {_LIVE} AND e.starts_at > ? "
                "ORDER BY r.id",
                (resident_id, to_db(now)),
            )
            live = [row[0] for row in rows]
            for registration_id in live:
                current = await _one_locked(conn, registration_id)
                await _cancel_row(conn, current, now, reason="data_deleted")
            await conn.execute(
                "UPDATE registrations SET resident_id = NULL, name = NULL, village = NULL, "
                "sms_phone = NULL, sms_consent_at = NULL WHERE resident_id = ?",
                (resident_id,),
            )
            await conn.execute("DELETE FROM resident_answers WHERE resident_id = ?", (resident_id,))
            return len(live)
