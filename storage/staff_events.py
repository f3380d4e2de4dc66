"""Events as staff see them: every status, limited to a role's scope, and their changes.

Residents' listings (storage.events) hide drafts and cancelled events; staff need all of them.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.broadcasts import Audience, Broadcasts, EmptyAudience
from storage.checkin_codes import assign_checkin_codes
from storage.clock import from_db, opt_from_db, opt_to_db, to_db
from storage.db import Database, Tx
from storage.errors import NotFound, StorageError
from storage.events import _COLUMNS, _FROM, _event
from storage.models import Event
from storage.registration_sql import _notify_registrants
from storage.registrations import (
    EventCancelled,
    RegistrationClosed,
    promote_waitlisted,
)
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
    capacity: int | None  # None: no seat limit
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
            row = await conn.fetchone(
                "SELECT status FROM registrations WHERE id = ? AND event_id = ?",
                (registration_id, event_id),
            )
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
            changed = await conn.fetchone(_PEOPLE_SELECT + "WHERE g.id = ?", (registration_id,))
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
            await assign_checkin_codes(conn)
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
                row = await conn.fetchone(
                    "SELECT seats_taken FROM events WHERE id = ?", (event_id,)
                )
                if row is None:
                    raise NotFound("event", event_id)
                if value is not None and int(row[0]) > int(str(value)):
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


class NotRestorable(StorageError):
    """The event is not cancelled, or it has already started."""


@dataclass(frozen=True, slots=True)
class Cancellation:
    previous_status: str
    note: str | None
    cancelled_by: str
    cancelled_at: datetime


@dataclass(frozen=True, slots=True)
class CancelNote:
    """Who writes the note of a cancellation, and the message registrants get in each language
    (JSON bodies, as `Broadcasts.create` takes them)."""

    author_channel: str
    author_recipient: str
    author_language: str
    bodies: dict[str, str]


class StaffEventsLifecycle:
    """Cancelling and restoring an event: the status change, the registrants' messages and the
    audit entry in one transaction. Registrations are left untouched by a cancellation, so a
    restored event has its seats and its waiting list in the same order as before."""

    _db: Database

    async def cancel(
        self,
        *,
        event_id: int,
        note: str | None,
        actor: str,
        role: str,
        now: datetime,
        note_message: CancelNote | None = None,
    ) -> int:
        """Cancel and tell the registrants; returns how many were told. With a note and its
        `note_message`, the librarian's words follow the standard notice as an event message to
        the registrants (an announcement, so they get it even if they stopped announcements),
        queued and audited in the cancellation's own transaction."""
        async with self._db.transaction() as conn:
            row = await conn.fetchone(
                "SELECT status, (SELECT count(*) FROM event_cancellations c "
                "WHERE c.event_id = e.id) FROM events e WHERE id = ?",
                (event_id,),
            )
            if row is None:
                raise NotFound("event", event_id)
            status, earlier = str(row[0]), int(row[1])
            if status == "cancelled":
                raise EventCancelled(f"event {event_id} is cancelled")
            if status == "finished":
                raise RegistrationClosed()
            await conn.execute("UPDATE events SET status = 'cancelled' WHERE id = ?", (event_id,))
            await conn.execute(
                "INSERT INTO event_cancellations (event_id, previous_status, note, cancelled_by, "
                "cancelled_at) VALUES (?, ?, ?, ?, ?)",
                (event_id, status, note, actor, to_db(now)),
            )
            # A cancellation after a restore is news again: its own dedupe keys.
            suffix = f"#{earlier}" if earlier else ""
            notified = await _notify_registrants(
                conn,
                event_id,
                kind="event_cancelled",
                key=f"event_cancelled:{event_id}{suffix}",
                params={"event_id": event_id},
                now=now,
            )
            await audit(
                conn,
                actor=actor,
                role=role,
                action="event.cancel",
                target=f"event:{event_id}",
                detail=f"{notified} told" + (f"; note: {note}" if note else ""),
                now=now,
            )
            if note and note_message is not None:
                await _queue_note(conn, self._db, event_id, note, note_message, actor, role, now)
        return notified

    async def move(self, *, event_id: int, place: str, actor: str, role: str, now: datetime) -> int:
        """A new place, its registrants told (old and new place in the message), audited; returns
        how many were told."""
        async with self._db.transaction() as conn:
            row = await conn.fetchone(
                "SELECT e.place, l.name, e.status FROM events e "
                "JOIN libraries l ON l.id = e.library_id WHERE e.id = ?",
                (event_id,),
            )
            if row is None:
                raise NotFound("event", event_id)
            if row[2] in ("cancelled", "finished"):
                raise RegistrationClosed()
            old = row[0] or row[1]
            await conn.execute("UPDATE events SET place = ? WHERE id = ?", (place, event_id))
            notified = 0
            if old != place:
                notified = await _notify_registrants(
                    conn,
                    event_id,
                    kind="event_moved",
                    key=f"event_moved:{event_id}:{to_db(now)}",
                    params={"event_id": event_id, "old_place": old},
                    now=now,
                )
            await audit(
                conn,
                actor=actor,
                role=role,
                action="event.place",
                target=f"event:{event_id}",
                detail=f"{old} -> {place}; {notified} told"[:200],
                now=now,
            )
        return notified

    async def last_cancellation(self, *, event_id: int) -> Cancellation | None:
        row = await self._db.fetchone(
            "SELECT previous_status, note, cancelled_by, cancelled_at FROM event_cancellations "
            "WHERE event_id = ? AND restored_at IS NULL ORDER BY id DESC LIMIT 1",
            (event_id,),
        )
        if row is None:
            return None
        return Cancellation(row[0], row[1], row[2], from_db(row[3]))

    async def restore(self, *, event_id: int, actor: str, role: str, now: datetime) -> int:
        """Undo the last cancellation of an event that has not started: back to the status it
        had, the registrants told, the reminders that were called off due again. Returns how
        many registrants were told."""
        stamp = to_db(now)
        async with self._db.transaction() as conn:
            row = await conn.fetchone(
                "SELECT e.status, e.starts_at, c.id, c.previous_status, "
                "(SELECT count(*) FROM event_cancellations x WHERE x.event_id = e.id) "
                "FROM events e LEFT JOIN event_cancellations c ON c.event_id = e.id "
                "AND c.restored_at IS NULL WHERE e.id = ? ORDER BY c.id DESC LIMIT 1",
                (event_id,),
            )
            if row is None:
                raise NotFound("event", event_id)
            if row[0] != "cancelled" or row[2] is None or from_db(row[1]) <= now:
                raise NotRestorable(f"event {event_id}")
            cancellation_id, previous, count = int(row[2]), str(row[3]), int(row[4])
            await conn.execute("UPDATE events SET status = ? WHERE id = ?", (previous, event_id))
            await conn.execute(
                "UPDATE event_cancellations SET restored_by = ?, restored_at = ? WHERE id = ?",
                (actor, stamp, cancellation_id),
            )
            await conn.execute(
                "UPDATE outbox SET status = 'pending', last_error = NULL, attempts = 0, "
                "updated_at = ? WHERE kind = 'reminder' AND event_id = ? AND status = 'cancelled' "
                "AND last_error = 'event cancelled' AND due_at > ?",
                (stamp, event_id, stamp),
            )
            notified = 0
            if previous != "draft":
                # A seat given up while the event was off goes to the waiting list now, in
                # arrival order (those promoted hear it, and the restoration, separately).
                await promote_waitlisted(conn, event_id, now)
                notified = await _notify_registrants(
                    conn,
                    event_id,
                    kind="event_restored",
                    key=f"event_restored:{event_id}#{count}",
                    params={"event_id": event_id},
                    now=now,
                )
            await audit(
                conn,
                actor=actor,
                role=role,
                action="event.restore",
                target=f"event:{event_id}",
                detail=f"{previous}; {notified} told",
                now=now,
            )
        return notified


async def _queue_note(
    conn: Tx,
    db: Database,
    event_id: int,
    note: str,
    message: CancelNote,
    actor: str,
    role: str,
    now: datetime,
) -> None:
    # An event nobody registered for has nobody to tell: EmptyAudience is no error here.
    with contextlib.suppress(EmptyAudience):
        await Broadcasts(db).create(
            author=actor,
            author_role=role,
            author_channel=message.author_channel,
            author_recipient=message.author_recipient,
            author_language=message.author_language,
            text=note,
            photo=None,
            audience=Audience("registrants", event_id=event_id),
            due_at=now,
            bodies=message.bodies,
            now=now,
            within=conn,
        )


class StaffEvents(_Reads, StaffEventsWrite, StaffEventsLifecycle):
    """Events as staff see and change them."""
