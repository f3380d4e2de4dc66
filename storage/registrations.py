"""Registrations: seats, waitlist, cancellation with promotion, proxies; with attendance
(storage/attendance.py), the event lifecycle (storage/event_lifecycle.py) and deleting personal
data (storage/forgetting.py) beside it, one repository for the handlers. The rules that run
inside a transaction are in storage/registration_sql.py, what they return and raise in
storage/registration_types.py (all importable from here, as before)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from storage.attendance import Attendance
from storage.clock import from_db, to_db
from storage.db import Database, Tx
from storage.errors import NotFound, StorageError
from storage.event_lifecycle import EventLifecycle
from storage.forgetting import Forgetting
from storage.registration_sql import (
    _LIVE,
    _SELECT,
    _cancel_row,
    _check_open,
    _consenting,
    _event_row,
    _one,
    _one_locked,
    _registration,
    _remember,
    _validate,
    clean_name,
    looks_like_code,
    normalise_code,
    promote_waitlisted,
)
from storage.registration_types import (
    AGE_BANDS,
    CHECKIN_EARLY,
    CODE_ALPHABET,
    CODE_LENGTH,
    GENDERS,
    MAX_NAME_CHARS,
    MAX_VILLAGE_CHARS,
    QUESTIONS,
    AlreadyCancelled,
    AlreadyRegistered,
    Answers,
    CancelClosed,
    Cancellation,
    CheckIn,
    CheckInClosed,
    Counts,
    EventCancelled,
    EventFull,
    EventOverview,
    LifecycleResult,
    NotRegistered,
    ProxyLimitReached,
    Registration,
    RegistrationClosed,
    RegistrationError,
    Remembered,
    WrongCode,
)


class Registrations(Attendance, EventLifecycle, Forgetting):
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- registering ------------------------------------------------------------------------

    async def register(
        self,
        *,
        event_id: int,
        resident_id: int,
        name: str,
        answers: Answers = Answers(),  # noqa: B008 - a frozen dataclass
        proxy: bool = False,
        proxy_limit: int = 5,
        now: datetime,
    ) -> Registration:
        """Take a seat, or a waitlist place when the seats are gone. Raises EventCancelled,
        RegistrationClosed, EventFull, AlreadyRegistered, ProxyLimitReached, ConsentRequired."""
        name = clean_name(name)
        if not name:
            raise ValueError("empty name")
        _validate(answers)
        async with self._db.transaction() as conn:
            await conn.lock_row("events", event_id)
            await _consenting(conn, resident_id)
            event = await _event_row(conn, event_id)
            _check_open(event, now)
            if proxy:
                await self._check_proxy(conn, event_id, resident_id, name, proxy_limit)
            else:
                existing = await conn.fetchone(
                    "SELECT id FROM registrations WHERE event_id = ? AND resident_id = ? "
                    "AND is_proxy = 0 AND status <> 'cancelled'",
                    (event_id, resident_id),
                )
                if existing is not None:
                    raise AlreadyRegistered(await _one(conn, existing["id"]))

            seat = await conn.execute(
                "UPDATE events SET seats_taken = seats_taken + 1 "
                "WHERE id = ? AND (capacity IS NULL OR seats_taken < capacity)",
                (event_id,),
            )
            if seat.rowcount == 1:
                status, seq = "confirmed", None
            else:
                # max+1 over *all* rows ever waitlisted keeps arrival order after promotions.
                (waiting, last_seq), *_ = await conn.fetchall(
                    "SELECT count(*) FILTER (WHERE status = 'waitlisted'), "
                    "coalesce(max(waitlist_seq), 0) FROM registrations WHERE event_id = ?",
                    (event_id,),
                )
                limit = event["waitlist_limit"]
                if limit is not None and waiting >= limit:
                    raise EventFull(f"event {event_id} and its waitlist are full")
                status, seq = "waitlisted", last_seq + 1
            try:
                cur = await conn.execute(
                    "INSERT INTO registrations (event_id, resident_id, is_proxy, name, gender, "
                    "age_band, village, status, waitlist_seq, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        event_id,
                        resident_id,
                        int(proxy),
                        name,
                        answers.gender,
                        answers.age_band,
                        answers.village,
                        status,
                        seq,
                        to_db(now),
                    ),
                )
            except sqlite3.IntegrityError as exc:  # pragma: no cover - guarded by the check above
                raise StorageError(str(exc)) from exc
            assert cur.lastrowid is not None
            if not proxy:
                await _remember(conn, resident_id, name, answers, now)
            return await _one(conn, cur.lastrowid)

    async def _check_proxy(
        self, conn: Tx, event_id: int, resident_id: int, name: str, limit: int
    ) -> None:
        rows = await conn.fetchall(
            f"SELECT id, lower(name) = lower(?) AS same FROM registrations "
            f"WHERE event_id = ? AND resident_id = ? AND is_proxy = 1 AND status IN {_LIVE}",
            (name, event_id, resident_id),
        )
        # The same name twice is a duplicate tap, not a second neighbour.
        for row in rows:
            if row["same"]:
                raise AlreadyRegistered(await _one(conn, row["id"]))
        if len(rows) >= limit:
            raise ProxyLimitReached(limit)

    async def remembered(self, *, resident_id: int) -> Remembered | None:
        row = await self._db.reader.fetchone(
            "SELECT gender, age_band, village FROM resident_answers WHERE resident_id = ?",
            (resident_id,),
        )
        if row is None:
            return None
        return Remembered(gender=row["gender"], age_band=row["age_band"], village=row["village"])

    # --- reading --------------------------------------------------------------------------

    async def get(self, *, registration_id: int) -> Registration:
        return await _one(self._db.reader, registration_id)

    async def for_resident(self, *, resident_id: int, event_id: int) -> list[Registration]:
        """This resident's live registrations for one event: their own first, then proxies."""
        rows = await self._db.reader.fetchall(
            f"{_SELECT} WHERE r.resident_id = ? AND r.event_id = ? AND r.status IN {_LIVE} "
            "ORDER BY r.is_proxy, r.id",
            (resident_id, event_id),
        )
        return [_registration(r) for r in rows]

    async def upcoming(self, *, resident_id: int, now: datetime) -> list[Registration]:
        """Seats and waitlist places (own and proxy) for events that have not ended."""
        rows = await self._db.reader.fetchall(
            f"{_SELECT} WHERE r.resident_id = ? AND r.status IN {_LIVE} AND e.ends_at > ? "
            "ORDER BY e.starts_at, r.event_id, r.is_proxy, r.id",
            (resident_id, to_db(now)),
        )
        return [_registration(r) for r in rows]

    async def counts(self, *, event_id: int) -> Counts:
        row = await self._db.reader.fetchone(
            "SELECT e.capacity, "
            "sum(r.status = 'confirmed'), sum(r.status = 'waitlisted'), "
            "sum(r.status = 'cancelled'), sum(r.attended_at IS NOT NULL), "
            "sum(r.status = 'walk_in') "
            "FROM events e LEFT JOIN registrations r ON r.event_id = e.id WHERE e.id = ? "
            "GROUP BY e.id",
            (event_id,),
        )
        if row is None:
            raise NotFound("event", event_id)
        return Counts(row[0], *(int(v or 0) for v in tuple(row)[1:]))

    async def overview(self, *, now: datetime, limit: int = 100) -> list[EventOverview]:
        """Events that have not ended, soonest first, with their codes and numbers."""
        rows = await self._db.reader.fetchall(
            "SELECT e.id, e.slug, e.title, e.starts_at, e.status, e.checkin_code, e.capacity, "
            "sum(r.status = 'confirmed'), sum(r.status = 'waitlisted'), "
            "sum(r.status = 'cancelled'), sum(r.attended_at IS NOT NULL), "
            "sum(r.status = 'walk_in') "
            "FROM events e LEFT JOIN registrations r ON r.event_id = e.id "
            "WHERE e.ends_at > ? GROUP BY e.id ORDER BY e.starts_at, e.id LIMIT ?",
            (to_db(now), limit),
        )
        return [
            EventOverview(
                event_id=row[0],
                slug=row[1],
                title=row[2],
                starts_at=from_db(row[3]),
                status=row[4],
                checkin_code=row[5],
                counts=Counts(row[6], *(int(v or 0) for v in tuple(row)[7:])),
            )
            for row in rows
        ]

    async def checkin_code(self, *, event_id: int) -> str:
        row = await self._db.reader.fetchone(
            "SELECT checkin_code FROM events WHERE id = ?", (event_id,)
        )
        if row is None:
            raise NotFound("event", event_id)
        return str(row[0])

    async def event_by_code(self, *, code: str) -> int:
        # Every short word typed in free text is tried as a code: an indexed lookup on the loop.
        row = await self._db.fetchone(
            "SELECT id FROM events WHERE checkin_code = ?", (normalise_code(code),), inline=True
        )
        if row is None:
            raise WrongCode(code)
        return int(row[0])

    # --- cancelling -----------------------------------------------------------------------

    async def cancel(
        self, *, registration_id: int, resident_id: int, now: datetime
    ) -> Cancellation:
        """Cancel one of this resident's registrations (own or proxy). A freed seat goes to the
        first on the waitlist in the same transaction. Raises NotFound (not theirs),
        AlreadyCancelled, CancelClosed."""
        async with self._db.transaction() as conn:
            current = await _one_locked(conn, registration_id)
            if current.resident_id != resident_id:
                raise NotFound("registration", registration_id)
            if current.status == "cancelled":
                raise AlreadyCancelled(current)
            if current.status == "walk_in" or now >= current.event_starts_at:
                raise CancelClosed(f"event {current.event_id} has started")
            promoted = await _cancel_row(conn, current, now, reason="self")
            return Cancellation(await _one(conn, registration_id), promoted)


# What handlers and tests import from here (the pieces live in the modules named above).
__all__ = [
    "AGE_BANDS",
    "AlreadyCancelled",
    "AlreadyRegistered",
    "Answers",
    "CHECKIN_EARLY",
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "CancelClosed",
    "Cancellation",
    "CheckIn",
    "CheckInClosed",
    "Counts",
    "EventCancelled",
    "EventFull",
    "EventOverview",
    "GENDERS",
    "LifecycleResult",
    "MAX_NAME_CHARS",
    "MAX_VILLAGE_CHARS",
    "NotRegistered",
    "ProxyLimitReached",
    "QUESTIONS",
    "Registration",
    "RegistrationClosed",
    "RegistrationError",
    "Registrations",
    "Remembered",
    "WrongCode",
    "clean_name",
    "looks_like_code",
    "normalise_code",
    "promote_waitlisted",
]
