"""Attendance: check-in codes typed at the venue, walk-ins, proxies marked present."""

from __future__ import annotations

from datetime import datetime

from storage.clock import to_db
from storage.db import Database
from storage.registration_sql import (
    _LIVE,
    _SELECT,
    _check_window,
    _consenting,
    _event_row,
    _one,
    _one_locked,
    _registration,
    _seat_from_waitlist,
    event_by_code,
)
from storage.registration_types import (
    CheckIn,
    CheckInClosed,
    EventCancelled,
    NotRegistered,
    Registration,
    WrongCode,
)


class Attendance:
    _db: Database

    async def check_in(self, *, resident_id: int, code: str, now: datetime) -> CheckIn:
        """Mark this resident present at the event the code names. Without a registration (or
        from the waitlist) they count as a walk-in. Raises WrongCode, CheckInClosed,
        EventCancelled, ConsentRequired."""
        async with self._db.transaction() as conn:
            event = await event_by_code(conn, code)
            try:
                _check_window(event, now)
            except (CheckInClosed, EventCancelled):
                # Only someone on the event's list learns that a code outside its window is
                # real; to anyone else it is as unknown as a guess (no existence oracle).
                listed = await conn.fetchone(
                    "SELECT 1 FROM registrations WHERE event_id = ? AND resident_id = ? "
                    "AND status <> 'cancelled' LIMIT 1",
                    (event["id"], resident_id),
                )
                if listed is None:
                    raise WrongCode(code) from None
                raise
            resident = await _consenting(conn, resident_id)
            own = await conn.fetchone(
                "SELECT id, status, attended_at FROM registrations WHERE event_id = ? "
                "AND resident_id = ? AND is_proxy = 0 AND status <> 'cancelled'",
                (event["id"], resident_id),
            )
            stamp = to_db(now)
            already = own is not None and own["attended_at"] is not None
            if own is None:
                # Came without registering: counted, but takes no seat (the event has begun or
                # is about to; seats only matter for who was promised one).
                cur = await conn.execute(
                    "INSERT INTO registrations (event_id, resident_id, is_proxy, name, status, "
                    "attended_at, created_at) VALUES (?, ?, 0, ?, 'walk_in', ?, ?)",
                    (event["id"], resident_id, resident["name"], stamp, stamp),
                )
                assert cur.lastrowid is not None
                registration_id = cur.lastrowid
            else:
                registration_id = own["id"]
                if own["status"] == "waitlisted":
                    await _seat_from_waitlist(conn, event["id"], registration_id, stamp)
                elif not already:
                    await conn.execute(
                        "UPDATE registrations SET attended_at = ? WHERE id = ?",
                        (stamp, registration_id),
                    )
            registration = await _one(conn, registration_id)
            rows = await conn.fetchall(
                f"{_SELECT} WHERE r.event_id = ? AND r.resident_id = ? AND r.is_proxy = 1 "
                f"AND r.status IN {_LIVE} ORDER BY r.id",
                (event["id"], resident_id),
            )
            proxies = tuple(_registration(r) for r in rows)
        return CheckIn(
            event_id=event["id"],
            event_title=event["title"],
            registration=registration,
            walk_in=registration.status == "walk_in",
            already=already,
            proxies=proxies,
            from_waitlist=own is not None and own["status"] == "waitlisted",
        )

    async def mark_proxy_present(
        self, *, registration_id: int, resident_id: int, now: datetime
    ) -> Registration:
        """The resident who registered someone marks them present, from the check-in screen."""
        async with self._db.transaction() as conn:
            current = await _one_locked(conn, registration_id)
            if (
                current.resident_id != resident_id
                or not current.is_proxy
                or current.status not in ("confirmed", "waitlisted")
            ):
                raise NotRegistered(f"registration {registration_id}")
            event = await _event_row(conn, current.event_id)
            _check_window(event, now)
            if current.status == "waitlisted":
                await _seat_from_waitlist(conn, current.event_id, registration_id, to_db(now))
            else:
                await conn.execute(
                    "UPDATE registrations SET attended_at = coalesce(attended_at, ?) WHERE id = ?",
                    (to_db(now), registration_id),
                )
            return await _one(conn, registration_id)
