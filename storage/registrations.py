"""Registrations: seats, waitlist, cancellation with promotion, proxies, attendance, and the
event lifecycle changes that registrants must hear about.

Every rule that protects the numbers runs inside one `BEGIN IMMEDIATE` transaction, so two
coroutines or two processes can never both take the last seat:
- a seat is taken by `UPDATE events SET seats_taken = seats_taken + 1 WHERE ... < capacity`;
  if no row changed, the event is full and the registration goes to the waitlist;
- cancelling a confirmed seat promotes the first waitlisted registration in the same
  transaction, and the message telling that person is written to the outbox in it too.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storage.clock import from_db, opt_from_db, opt_to_db, to_db
from storage.db import Database, Tx
from storage.errors import ConsentRequired, NotFound, StorageError
from storage.outbox import OutboxMessage, enqueue

GENDERS = ("female", "male", "unsaid")
AGE_BANDS = ("u18", "18_35", "36_55", "55p")
QUESTIONS = ("gender", "age_band", "village")
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6  # as storage/migrations make them
# Check-in opens this long before the start, so people arriving early are not turned away.
CHECKIN_EARLY = timedelta(hours=1)
MAX_NAME_CHARS = 80
MAX_VILLAGE_CHARS = 60


# --- domain errors -------------------------------------------------------------------------


class RegistrationError(StorageError):
    """Base of the refusals a resident can be told about."""


class EventCancelled(RegistrationError):
    pass


class RegistrationClosed(RegistrationError):
    """Not open for registration (yet, or any more); `opens_at` is set when it opens later."""

    def __init__(self, opens_at: datetime | None = None) -> None:
        super().__init__("registration closed" if opens_at is None else f"opens at {opens_at}")
        self.opens_at = opens_at


class EventFull(RegistrationError):
    """No seat left and the waitlist is full or disabled."""


class AlreadyRegistered(RegistrationError):
    def __init__(self, existing: Registration) -> None:
        super().__init__(f"already registered: {existing.id}")
        self.existing = existing


class ProxyLimitReached(RegistrationError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} people registered on others' behalf per event")
        self.limit = limit


class AlreadyCancelled(RegistrationError):
    def __init__(self, registration: Registration) -> None:
        super().__init__(f"registration {registration.id} is already cancelled")
        self.registration = registration


class CancelClosed(RegistrationError):
    """The event has started or ended: there is nothing left to cancel."""


class WrongCode(RegistrationError):
    pass


class CheckInClosed(RegistrationError):
    def __init__(self, opens_at: datetime, closes_at: datetime) -> None:
        super().__init__(f"check-in is open from {opens_at} to {closes_at}")
        self.opens_at = opens_at
        self.closes_at = closes_at


class NotRegistered(RegistrationError):
    """Marking someone present who is not on this resident's list for the event."""


# --- what the repository returns ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Registration:
    id: int
    event_id: int
    resident_id: int | None
    is_proxy: bool
    name: str | None
    gender: str | None
    age_band: str | None
    village: str | None
    status: str  # confirmed | waitlisted | cancelled | walk_in
    position: int | None  # place on the waitlist (1 = next), None when not waitlisted
    attended_at: datetime | None
    created_at: datetime
    cancelled_at: datetime | None
    event_title: str
    event_starts_at: datetime
    event_ends_at: datetime
    event_status: str


@dataclass(frozen=True, slots=True)
class Answers:
    """Optional answers; None: not asked or skipped."""

    gender: str | None = None
    age_band: str | None = None
    village: str | None = None


@dataclass(frozen=True, slots=True)
class Remembered:
    """What a resident answered last time; '' means they skipped that question."""

    gender: str | None
    age_band: str | None
    village: str | None


@dataclass(frozen=True, slots=True)
class Cancellation:
    cancelled: Registration
    promoted: Registration | None


@dataclass(frozen=True, slots=True)
class CheckIn:
    event_id: int
    event_title: str
    registration: Registration
    walk_in: bool  # came without registering
    already: bool  # had checked in before
    proxies: tuple[Registration, ...]  # people this resident registered, to mark from here
    # Was on the waiting list: now counted as registered (with a seat if one was free).
    from_waitlist: bool = False


@dataclass(frozen=True, slots=True)
class Counts:
    capacity: int | None
    confirmed: int
    waitlisted: int
    cancelled: int
    attended: int
    walk_ins: int


@dataclass(frozen=True, slots=True)
class EventOverview:
    """What a librarian needs at the door: the code and the numbers."""

    event_id: int
    slug: str
    title: str
    starts_at: datetime
    status: str
    checkin_code: str
    counts: Counts


@dataclass(frozen=True, slots=True)
class LifecycleResult:
    event_id: int
    status: str
    notified: int  # outbox rows written for registrants


# --- SQL ------------------------------------------------------------------------------------

_SELECT = """
SELECT r.id, r.event_id, r.resident_id, r.is_proxy, r.name, r.gender, r.age_band, r.village,
       r.status, r.attended_at, r.created_at, r.cancelled_at,
       CASE WHEN r.status = 'waitlisted' THEN (
           SELECT count(*) FROM registrations w
           WHERE w.event_id = r.event_id AND w.status = 'waitlisted'
             AND w.waitlist_seq <= r.waitlist_seq) END AS position,
       e.title AS event_title, e.starts_at AS event_starts_at, e.ends_at AS event_ends_at,
       e.status AS event_status
FROM registrations r JOIN events e ON e.id = r.event_id
"""
_LIVE = "('confirmed', 'waitlisted')"


def _registration(row: Any) -> Registration:
    return Registration(
        id=row["id"],
        event_id=row["event_id"],
        resident_id=row["resident_id"],
        is_proxy=bool(row["is_proxy"]),
        name=row["name"],
        gender=row["gender"],
        age_band=row["age_band"],
        village=row["village"],
        status=row["status"],
        position=row["position"],
        attended_at=opt_from_db(row["attended_at"]),
        created_at=from_db(row["created_at"]),
        cancelled_at=opt_from_db(row["cancelled_at"]),
        event_title=row["event_title"],
        event_starts_at=from_db(row["event_starts_at"]),
        event_ends_at=from_db(row["event_ends_at"]),
        event_status=row["event_status"],
    )


async def _fetchone(conn: Tx, sql: str, params: tuple[Any, ...]) -> Any:
    # execute_fetchall is one round trip to aiosqlite's thread; a cursor context is three, and
    # under a burst of registrations those hops are most of the time spent.
    rows = await conn.execute_fetchall(sql, params)
    return next(iter(rows), None)


async def _fetchall(conn: Tx, sql: str, params: tuple[Any, ...]) -> list[Any]:
    return list(await conn.execute_fetchall(sql, params))


async def _one(conn: Tx, registration_id: int) -> Registration:
    row = await _fetchone(conn, f"{_SELECT} WHERE r.id = ?", (registration_id,))
    if row is None:
        raise NotFound("registration", registration_id)
    return _registration(row)


async def _one_locked(conn: Tx, registration_id: int) -> Registration:
    """The registration, read after its event's row is locked (see Tx.lock_row): its seat and
    waitlist place cannot change under the caller until the transaction ends."""
    current = await _one(conn, registration_id)
    if await conn.lock_row("events", current.event_id):  # an event id never changes
        current = await _one(conn, registration_id)
    return current


async def _consenting(conn: Tx, resident_id: int) -> Any:
    """The resident's row (consent_at, name); ConsentRequired unless they agreed."""
    row = await _fetchone(
        conn, "SELECT consent_at, name FROM residents WHERE id = ?", (resident_id,)
    )
    if row is None:
        raise NotFound("resident", resident_id)
    if row["consent_at"] is None:
        raise ConsentRequired(f"resident {resident_id} has not agreed")
    return row


async def _event_row(conn: Tx, event_id: int) -> Any:
    row = await _fetchone(
        conn,
        "SELECT id, status, capacity, seats_taken, waitlist_limit, starts_at, ends_at, "
        "registration_opens_at, registration_closes_at FROM events WHERE id = ?",
        (event_id,),
    )
    if row is None:
        raise NotFound("event", event_id)
    return row


def _check_open(event: Any, now: datetime) -> None:
    if event["status"] == "cancelled":
        raise EventCancelled(f"event {event['id']} is cancelled")
    if event["status"] != "open" or now >= from_db(event["starts_at"]):
        raise RegistrationClosed()
    opens = opt_from_db(event["registration_opens_at"])
    if opens is not None and now < opens:
        raise RegistrationClosed(opens)
    closes = opt_from_db(event["registration_closes_at"])
    if closes is not None and now >= closes:
        raise RegistrationClosed()


def clean_name(text: str, limit: int = MAX_NAME_CHARS) -> str:
    """Collapse whitespace; callers refuse an empty result."""
    return " ".join(text.split())[:limit]


class Registrations:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- registering ------------------------------------------------------------------------

    async def register(
        self,
        *,
        event_id: int,
        resident_id: int,
        name: str,
        answers: Answers = Answers(),
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
                existing = await _fetchone(
                    conn,
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
                waiting, last_seq = await _fetchone(
                    conn,
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
        rows = await _fetchall(
            conn,
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
        row = await _fetchone(
            self._db.reader,
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
        rows = await _fetchall(
            self._db.reader,
            f"{_SELECT} WHERE r.resident_id = ? AND r.event_id = ? AND r.status IN {_LIVE} "
            "ORDER BY r.is_proxy, r.id",
            (resident_id, event_id),
        )
        return [_registration(r) for r in rows]

    async def upcoming(self, *, resident_id: int, now: datetime) -> list[Registration]:
        """Seats and waitlist places (own and proxy) for events that have not ended."""
        rows = await _fetchall(
            self._db.reader,
            f"{_SELECT} WHERE r.resident_id = ? AND r.status IN {_LIVE} AND e.ends_at > ? "
            "ORDER BY e.starts_at, r.event_id, r.is_proxy, r.id",
            (resident_id, to_db(now)),
        )
        return [_registration(r) for r in rows]

    async def counts(self, *, event_id: int) -> Counts:
        row = await _fetchone(
            self._db.reader,
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
        rows = await _fetchall(
            self._db.reader,
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
        row = await _fetchone(
            self._db.reader, "SELECT checkin_code FROM events WHERE id = ?", (event_id,)
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

    # --- attendance -----------------------------------------------------------------------

    async def check_in(self, *, resident_id: int, code: str, now: datetime) -> CheckIn:
        """Mark this resident present at the event the code names. Without a registration (or
        from the waitlist) they count as a walk-in. Raises WrongCode, CheckInClosed,
        EventCancelled, ConsentRequired."""
        async with self._db.transaction() as conn:
            event = await _fetchone(
                conn,
                "SELECT id, title, status, starts_at, ends_at FROM events WHERE checkin_code = ?",
                (normalise_code(code),),
            )
            if event is None:
                raise WrongCode(code)
            try:
                _check_window(event, now)
            except (CheckInClosed, EventCancelled):
                # Only someone on the event's list learns that a code outside its window is
                # real; to anyone else it is as unknown as a guess (no existence oracle).
                listed = await _fetchone(
                    conn,
                    "SELECT 1 FROM registrations WHERE event_id = ? AND resident_id = ? "
                    "AND status <> 'cancelled' LIMIT 1",
                    (event["id"], resident_id),
                )
                if listed is None:
                    raise WrongCode(code) from None
                raise
            resident = await _consenting(conn, resident_id)
            own = await _fetchone(
                conn,
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
            async with conn.execute(
                f"{_SELECT} WHERE r.event_id = ? AND r.resident_id = ? AND r.is_proxy = 1 "
                f"AND r.status IN {_LIVE} ORDER BY r.id",
                (event["id"], resident_id),
            ) as cur:
                proxies = tuple(_registration(r) for r in await cur.fetchall())
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

    # --- personal data --------------------------------------------------------------------

    async def forget_resident(self, *, resident_id: int, now: datetime) -> int:
        """UU PDP deletion: upcoming seats and waitlist places this resident holds (own and
        proxy) are cancelled, promoting the next in line; then every registration they made is
        unlinked from them and stripped of name and village. Gender and age band stay on the
        anonymous rows because they feed only the aggregate monthly figures. Returns how many
        registrations were cancelled."""
        async with self._db.transaction() as conn:
            async with conn.execute(
                f"SELECT r.id FROM registrations r JOIN events e ON e.id = r.event_id "
                f"WHERE r.resident_id = ? AND r.status IN {_LIVE} AND e.starts_at > ? "
                "ORDER BY r.id",
                (resident_id, to_db(now)),
            ) as cur:
                live = [row[0] for row in await cur.fetchall()]
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

    # --- event lifecycle ------------------------------------------------------------------

    async def open_event(
        self,
        *,
        event_id: int,
        opens_at: datetime | None = None,
        closes_at: datetime | None = None,
    ) -> LifecycleResult:
        """Draft or closed → open, optionally only from/until a moment."""
        return await self._set_status(
            event_id,
            "open",
            allowed=("draft", "open", "closed"),
            extra="registration_opens_at = ?, registration_closes_at = ?",
            params=(opt_to_db(opens_at), opt_to_db(closes_at)),
        )

    async def close_event(self, *, event_id: int) -> LifecycleResult:
        """Registration closed; registrants keep their seats."""
        return await self._set_status(event_id, "closed", allowed=("open", "closed"))

    async def finish_event(self, *, event_id: int) -> LifecycleResult:
        return await self._set_status(event_id, "finished", allowed=("open", "closed", "finished"))

    async def cancel_event(self, *, event_id: int, now: datetime) -> LifecycleResult:
        """Cancel the event and tell every registrant through the outbox, in one transaction.
        Their registrations are left as they were, so the numbers still show who was affected."""
        async with self._db.transaction() as conn:
            event = await _event_row(conn, event_id)
            if event["status"] == "cancelled":
                return LifecycleResult(event_id, "cancelled", 0)
            if event["status"] == "finished":
                raise RegistrationClosed()
            await conn.execute("UPDATE events SET status = 'cancelled' WHERE id = ?", (event_id,))
            notified = await _notify_registrants(
                conn,
                event_id,
                kind="event_cancelled",
                key=f"event_cancelled:{event_id}",
                params={"event_id": event_id},
                now=now,
            )
            return LifecycleResult(event_id, "cancelled", notified)

    async def reschedule_event(
        self, *, event_id: int, starts_at: datetime, ends_at: datetime, now: datetime
    ) -> LifecycleResult:
        """Move the event and tell every registrant (one message per new time)."""
        if ends_at <= starts_at:
            raise ValueError("the event must end after it starts")
        async with self._db.transaction() as conn:
            event = await _event_row(conn, event_id)
            if event["status"] in ("cancelled", "finished"):
                raise RegistrationClosed()
            old = event["starts_at"]
            await conn.execute(
                "UPDATE events SET starts_at = ?, ends_at = ? WHERE id = ?",
                (to_db(starts_at), to_db(ends_at), event_id),
            )
            notified = 0
            if old != to_db(starts_at) or event["ends_at"] != to_db(ends_at):
                notified = await _notify_registrants(
                    conn,
                    event_id,
                    kind="event_changed",
                    key=f"event_changed:{event_id}:{to_db(starts_at)}",
                    params={"event_id": event_id, "old_starts_at": old},
                    now=now,
                )
            return LifecycleResult(event_id, event["status"], notified)

    async def _set_status(
        self,
        event_id: int,
        status: str,
        *,
        allowed: tuple[str, ...],
        extra: str = "",
        params: tuple[object, ...] = (),
    ) -> LifecycleResult:
        async with self._db.transaction() as conn:
            event = await _event_row(conn, event_id)
            if event["status"] not in allowed:
                if event["status"] == "cancelled":
                    raise EventCancelled(f"event {event_id} is cancelled")
                raise RegistrationClosed()
            assignments = "status = ?" + (f", {extra}" if extra else "")
            await conn.execute(
                f"UPDATE events SET {assignments} WHERE id = ?", (status, *params, event_id)
            )
            return LifecycleResult(event_id, status, 0)


# --- helpers that run inside a caller's transaction -----------------------------------------


async def _cancel_row(
    conn: Tx, current: Registration, now: datetime, *, reason: str
) -> Registration | None:
    """Cancel `current`; if it held a seat, free it and hand it to the first waitlisted."""
    await conn.lock_row("events", current.event_id)
    done = await conn.execute(
        "UPDATE registrations SET status = 'cancelled', cancelled_at = ?, cancel_reason = ? "
        "WHERE id = ? AND status = ?",
        (to_db(now), reason, current.id, current.status),
    )
    if done.rowcount == 0:  # changed by another instance since it was read
        return None
    if current.status != "confirmed":
        return None
    await conn.execute(
        "UPDATE events SET seats_taken = seats_taken - 1 WHERE id = ?", (current.event_id,)
    )
    # A cancelled event gives nobody a seat: promoting would tell people to come to nothing.
    if current.event_status in ("cancelled", "finished"):
        return None
    return await _promote_first(conn, current.event_id, now)


async def promote_waitlisted(conn: Tx, event_id: int, now: datetime) -> list[Registration]:
    """Give free seats (after the capacity was raised) to the waitlist in arrival order, inside
    the caller's transaction; each promoted person is told through the outbox."""
    event = await _event_row(conn, event_id)
    if event["status"] in ("cancelled", "finished", "draft"):
        return []
    promoted: list[Registration] = []
    while (registration := await _promote_first(conn, event_id, now)) is not None:
        promoted.append(registration)
    return promoted


async def _promote_first(conn: Tx, event_id: int, now: datetime) -> Registration | None:
    """The first waitlisted registration takes a free seat, if there is one."""
    await conn.lock_row("events", event_id)
    first = await _fetchone(
        conn,
        "SELECT id FROM registrations WHERE event_id = ? AND status = 'waitlisted' "
        "ORDER BY waitlist_seq LIMIT 1",
        (event_id,),
    )
    if first is None:
        return None
    seat = await conn.execute(
        "UPDATE events SET seats_taken = seats_taken + 1 "
        "WHERE id = ? AND (capacity IS NULL OR seats_taken < capacity)",
        (event_id,),
    )
    if seat.rowcount != 1:  # no seat free (the capacity may be below the registrations)
        return None
    await conn.execute(
        "UPDATE registrations SET status = 'confirmed', waitlist_seq = NULL WHERE id = ?",
        (first["id"],),
    )
    promoted = await _one(conn, first["id"])
    if promoted.resident_id is not None:
        recipient = await _recipient(conn, promoted.resident_id)
        if recipient is not None:
            channel, external_id, language = recipient
            await enqueue(
                conn,
                OutboxMessage(
                    dedupe_key=f"promotion:{promoted.id}",
                    kind="promotion",
                    channel=channel,
                    recipient=external_id,
                    text="",
                    resident_id=promoted.resident_id,
                    event_id=promoted.event_id,
                    language=language,
                    params={"registration_id": promoted.id, "event_id": promoted.event_id},
                    # Someone may need to rearrange their day: ahead of bulk announcements.
                    priority=10,
                    due_at=now,
                ),
            )
    return promoted


async def _recipient(conn: Tx, resident_id: int) -> tuple[str, str, str] | None:
    row = await _fetchone(
        conn,
        "SELECT channel, external_id, language, consent_at FROM residents WHERE id = ?",
        (resident_id,),
    )
    if row is None or row["consent_at"] is None:
        return None
    return row["channel"], row["external_id"], row["language"]


async def _notify_registrants(
    conn: Tx,
    event_id: int,
    *,
    kind: str,
    key: str,
    params: dict[str, Any],
    now: datetime,
) -> int:
    """One outbox row per resident holding a seat or waitlist place (a volunteer with five
    proxies hears it once, with everyone's names rendered at delivery)."""
    rows = await _fetchall(
        conn,
        f"SELECT DISTINCT p.id, p.channel, p.external_id, p.language "
        f"FROM registrations r JOIN residents p ON p.id = r.resident_id "
        f"WHERE r.event_id = ? AND r.status IN {_LIVE} AND p.consent_at IS NOT NULL "
        "ORDER BY p.id",
        (event_id,),
    )
    added = 0
    for row in rows:
        added += await enqueue(
            conn,
            OutboxMessage(
                dedupe_key=f"{key}:{row['id']}",
                kind=kind,
                channel=row["channel"],
                recipient=row["external_id"],
                text="",
                resident_id=row["id"],
                event_id=event_id,
                language=row["language"],
                # The renderer lists this resident's names (own and proxies) at delivery time.
                params={**params, "resident_id": row["id"]},
                priority=10,
                due_at=now,
            ),
        )
    return added


async def _remember(conn: Tx, resident_id: int, name: str, answers: Answers, now: datetime) -> None:
    stamp = to_db(now)
    await conn.execute(
        "UPDATE residents SET name = ?, updated_at = ? WHERE id = ?", (name, stamp, resident_id)
    )
    await conn.execute(
        "INSERT INTO resident_answers (resident_id, gender, age_band, village, updated_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (resident_id) DO UPDATE SET "
        "gender = excluded.gender, age_band = excluded.age_band, village = excluded.village, "
        "updated_at = excluded.updated_at",
        (
            resident_id,
            answers.gender or "",
            answers.age_band or "",
            answers.village or "",
            stamp,
        ),
    )


def _check_window(event: Any, now: datetime) -> None:
    if event["status"] == "cancelled":
        raise EventCancelled(f"event {event['id']} is cancelled")
    starts, ends = from_db(event["starts_at"]), from_db(event["ends_at"])
    if not starts - CHECKIN_EARLY <= now < ends:
        raise CheckInClosed(starts - CHECKIN_EARLY, ends)


def _validate(answers: Answers) -> None:
    if answers.gender is not None and answers.gender not in GENDERS:
        raise ValueError(f"gender {answers.gender!r}")
    if answers.age_band is not None and answers.age_band not in AGE_BANDS:
        raise ValueError(f"age band {answers.age_band!r}")


async def _seat_from_waitlist(conn: Tx, event_id: int, registration_id: int, stamp: str) -> None:
    """Someone from the waiting list came: they count as registered, not as a walk-in. They
    take a free seat if there is one; if not, the event has begun anyway (check-in opens just
    before it) and the seat count stays at capacity."""
    await conn.execute(
        "UPDATE events SET seats_taken = seats_taken + 1 "
        "WHERE id = ? AND (capacity IS NULL OR seats_taken < capacity)",
        (event_id,),
    )
    await conn.execute(
        "UPDATE registrations SET status = 'confirmed', waitlist_seq = NULL, "
        "attended_at = coalesce(attended_at, ?) WHERE id = ?",
        (stamp, registration_id),
    )


def normalise_code(text: str) -> str:
    """What people type: any case, spaces or dashes between groups."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def looks_like_code(text: str) -> bool:
    code = normalise_code(text)
    return 4 <= len(code) <= 6 and all(ch in CODE_ALPHABET for ch in code) and " " not in text
