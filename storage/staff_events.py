"""Events as staff see them: every status, limited to a role's scope, and their changes.

Residents' listings (storage.events) hide drafts and cancelled events; staff need all of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.clock import from_db, opt_from_db, opt_to_db, to_db
from storage.db import Database
from storage.errors import NotFound, StorageError
from storage.events import _COLUMNS, _FROM, _event
from storage.models import Event
from storage.registrations import promote_waitlisted
from storage.staff import StaffRole, audit


class _Reads:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def for_role(
        self, *, role: StaffRole, now: datetime, offset: int = 0, limit: int = 5
    ) -> tuple[list[Event], int]:
        """The events a role may see: a librarian's library, a coordinator's regency, or all."""
        librarian = role.role == "librarian"
        return await self.in_scope(
            now=now,
            library_id=role.library_id if librarian else None,
            regency_code=None if librarian else role.regency,
            offset=offset,
            limit=limit,
        )

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
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS}, count(*) OVER () AS total {_FROM} WHERE {' AND '.join(where)} "
            "ORDER BY e.ends_at < ?, CASE WHEN e.ends_at >= ? THEN e.starts_at END, "
            "e.starts_at DESC, e.id LIMIT ? OFFSET ?",
            (*params, stamp, stamp, limit, offset),
        )
        total = rows[0]["total"] if rows else 0
        return [_event(r) for r in rows], total


@dataclass(frozen=True, slots=True)
class EventCounts:
    confirmed: int
    waitlisted: int
    proxies: int  # live seats or places taken on someone else's behalf
    attended: int
    walk_ins: int
    no_shows: int | None  # confirmed and not present; None until the event has ended


@dataclass(frozen=True, slots=True)
class Person:
    registration_id: int
    name: str
    status: str  # confirmed | waitlisted | walk_in
    is_proxy: bool
    registered_by: str | None  # the resident's profile name, for a proxy registration
    gender: str | None
    age_band: str | None
    village: str | None
    attended_at: datetime | None
    created_at: datetime


class CapacityTooLow(StorageError):
    """More seats are already taken than the new capacity."""

    def __init__(self, taken: int) -> None:
        super().__init__(f"{taken} seats already taken")
        self.taken = taken


@dataclass(frozen=True, slots=True)
class NewEvent:
    library_id: int
    title: str
    category: str
    description: str
    place: str | None
    starts_at: datetime
    ends_at: datetime
    capacity: int
    registration_closes_at: datetime | None
    questions: tuple[str, ...]
    status: str  # draft | open


# Who is on an event's list: seats, waitlist and walk-ins; cancelled rows stay for history only.
_LISTED_PEOPLE = "('confirmed', 'waitlisted', 'walk_in')"
_PEOPLE_ORDER = (
    "CASE g.status WHEN 'confirmed' THEN 0 WHEN 'walk_in' THEN 1 ELSE 2 END, "
    "g.waitlist_seq, g.created_at, g.id"
)


def _person(row: Any) -> Person:
    return Person(
        registration_id=row["id"],
        name=row["name"] or "-",
        status=row["status"],
        is_proxy=bool(row["is_proxy"]),
        registered_by=row["registered_by"],
        gender=row["gender"],
        age_band=row["age_band"],
        village=row["village"],
        attended_at=opt_from_db(row["attended_at"]),
        created_at=from_db(row["created_at"]),
    )


_PEOPLE_SELECT = (
    "SELECT g.id, g.name, g.status, g.is_proxy, g.gender, g.age_band, g.village, "
    "g.attended_at, g.created_at, CASE WHEN g.is_proxy = 1 THEN r.name END AS registered_by "
    "FROM registrations g LEFT JOIN residents r ON r.id = g.resident_id "
)


class StaffEventsWrite:
    """Counts, lists and the changes staff make."""

    _db: Database

    async def counts(self, *, event_id: int, now: datetime) -> EventCounts:
        row = await self._db.fetchone(
            "SELECT e.ends_at, "
            "coalesce(sum(g.status = 'confirmed'), 0), coalesce(sum(g.status = 'waitlisted'), 0), "
            "coalesce(sum(g.is_proxy = 1 AND g.status IN ('confirmed', 'waitlisted')), 0), "
            "coalesce(sum(g.attended_at IS NOT NULL), 0), coalesce(sum(g.status = 'walk_in'), 0), "
            "coalesce(sum(g.status = 'confirmed' AND g.attended_at IS NULL), 0) "
            "FROM events e LEFT JOIN registrations g ON g.event_id = e.id WHERE e.id = ? "
            "GROUP BY e.id",
            (event_id,),
        )
        if row is None:
            raise NotFound("event", event_id)
        ended = from_db(row[0]) <= now
        return EventCounts(
            confirmed=int(row[1]),
            waitlisted=int(row[2]),
            proxies=int(row[3]),
            attended=int(row[4]),
            walk_ins=int(row[5]),
            no_shows=int(row[6]) if ended else None,
        )

    async def people(
        self, *, event_id: int, offset: int = 0, limit: int = 8
    ) -> tuple[list[Person], int]:
        rows = await self._db.fetchall(
            _PEOPLE_SELECT.replace("SELECT ", "SELECT count(*) OVER () AS total, ", 1)
            + f"WHERE g.event_id = ? AND g.status IN {_LISTED_PEOPLE} "
            f"ORDER BY {_PEOPLE_ORDER} LIMIT ? OFFSET ?",
            (event_id, limit, offset),
        )
        total = rows[0]["total"] if rows else 0
        return [_person(r) for r in rows], total

    async def all_people(self, *, event_id: int) -> list[Person]:
        rows = await self._db.fetchall(
            _PEOPLE_SELECT + f"WHERE g.event_id = ? AND g.status IN {_LISTED_PEOPLE} "
            f"ORDER BY {_PEOPLE_ORDER}",
            (event_id,),
        )
        return [_person(r) for r in rows]

    async def set_attended(
        self,
        *,
        event_id: int,
        registration_id: int,
        present: bool,
        now: datetime,
        actor: str,
        role: str,
    ) -> Person:
        """Staff mark someone present (or undo a mistaken tap). Someone from the waitlist who
        came counts as a walk-in, as at the check-in code; a walk-in stays present."""
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT status FROM registrations WHERE id = ? AND event_id = ?",
                (registration_id, event_id),
            ) as cur:
                row = await cur.fetchone()
            if row is None or row[0] not in ("confirmed", "waitlisted", "walk_in"):
                raise NotFound("registration", registration_id)
            if present and row[0] == "waitlisted":
                await conn.execute(
                    "UPDATE registrations SET status = 'walk_in', waitlist_seq = NULL, "
                    "attended_at = ? WHERE id = ?",
                    (to_db(now), registration_id),
                )
            elif present:
                await conn.execute(
                    "UPDATE registrations SET attended_at = coalesce(attended_at, ?) WHERE id = ?",
                    (to_db(now), registration_id),
                )
            elif row[0] == "confirmed":
                await conn.execute(
                    "UPDATE registrations SET attended_at = NULL WHERE id = ?", (registration_id,)
                )
            await audit(
                conn,
                actor=actor,
                role=role,
                action="attendance.mark" if present else "attendance.unmark",
                target=f"event:{event_id}",
                detail=f"registration {registration_id}",
                now=now,
            )
            async with conn.execute(_PEOPLE_SELECT + "WHERE g.id = ?", (registration_id,)) as cur:
                changed = await cur.fetchone()
        return _person(changed)

    async def create(self, event: NewEvent, *, actor: str, role: str, now: datetime) -> int:
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO events (slug, library_id, title, category, description, place, "
                "starts_at, ends_at, capacity, status, questions, registration_closes_at) "
                "VALUES ('staff-' || lower(hex(randomblob(6))), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event.library_id,
                    event.title,
                    event.category,
                    event.description,
                    event.place,
                    to_db(event.starts_at),
                    to_db(event.ends_at),
                    event.capacity,
                    event.status,
                    json.dumps(list(event.questions)),
                    opt_to_db(event.registration_closes_at),
                ),
            )
            event_id = cur.lastrowid
            assert event_id is not None
            await audit(
                conn,
                actor=actor,
                role=role,
                action="event.create",
                target=f"event:{event_id}",
                detail=f"{event.status} {event.title}",
                now=now,
            )
        return event_id

    async def update(
        self, *, event_id: int, field: str, value: object, actor: str, role: str, now: datetime
    ) -> int:
        """Change one of place, capacity, registration deadline or questions. Time changes go
        through the registrations repository, which tells the registrants. A raised capacity
        goes to the waitlist first, in arrival order; returns how many were given a seat."""
        columns = {
            "place": "place",
            "capacity": "capacity",
            "deadline": "registration_closes_at",
            "questions": "questions",
        }
        column = columns[field]
        if field == "questions":
            value = json.dumps(list(value))  # type: ignore[call-overload]
        elif isinstance(value, datetime):
            value = to_db(value)
        async with self._db.transaction() as conn:
            if field == "capacity":
                async with conn.execute(
                    "SELECT seats_taken FROM events WHERE id = ?", (event_id,)
                ) as cur:
                    row = await cur.fetchone()
                if row is None:
                    raise NotFound("event", event_id)
                if int(row[0]) > int(str(value)):
                    raise CapacityTooLow(int(row[0]))
            await conn.execute(f"UPDATE events SET {column} = ? WHERE id = ?", (value, event_id))
            promoted = await promote_waitlisted(conn, event_id, now) if field == "capacity" else []
            await audit(
                conn,
                actor=actor,
                role=role,
                action=f"event.{field}",
                target=f"event:{event_id}",
                detail=str(value)[:200]
                + (f" ({len(promoted)} from the waitlist)" if promoted else ""),
                now=now,
            )
        return len(promoted)


class StaffEvents(_Reads, StaffEventsWrite):
    """Events as staff see and change them."""
