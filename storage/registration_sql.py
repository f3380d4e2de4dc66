"""The registration rules that run inside a caller's transaction: reading a registration,
taking and freeing seats, promoting the waitlist, telling registrants through the outbox.

Every rule that protects the numbers runs inside one transaction (SQLite: BEGIN IMMEDIATE, one
writer at a time; PostgreSQL: the event's row locked first, see Tx.lock_row), so two coroutines
or two processes can never both take the last seat:
- a seat is taken by `UPDATE events SET seats_taken = seats_taken + 1 WHERE ... < capacity`;
  if no row changed, the event is full and the registration goes to the waitlist;
- cancelling a confirmed seat promotes the first waitlisted registration in the same
  transaction, and the message telling that person is written to the outbox in it too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.clock import from_db, opt_from_db, to_db
from storage.db import Tx
from storage.errors import ConsentRequired, NotFound
from storage.outbox import OutboxMessage, enqueue
from storage.registration_types import (
    AGE_BANDS,
    CHECKIN_EARLY,
    CODE_ALPHABET,
    GENDERS,
    MAX_NAME_CHARS,
    Answers,
    CheckInClosed,
    EventCancelled,
    Registration,
    RegistrationClosed,
    WrongCode,
)

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


async def _one(conn: Tx, registration_id: int) -> Registration:
    row = await conn.fetchone(f"{_SELECT} WHERE r.id = ?", (registration_id,))
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
    row = await conn.fetchone("SELECT consent_at, name FROM residents WHERE id = ?", (resident_id,))
    if row is None:
        raise NotFound("resident", resident_id)
    if row["consent_at"] is None:
        raise ConsentRequired(f"resident {resident_id} has not agreed")
    return row


async def _event_row(conn: Tx, event_id: int) -> Any:
    row = await conn.fetchone(
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
    first = await conn.fetchone(
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
                now=now,
            )
    return promoted


async def _recipient(conn: Tx, resident_id: int) -> tuple[str, str, str] | None:
    row = await conn.fetchone(
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
    rows = await conn.fetchall(
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
            now=now,
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


async def event_by_code(conn: Tx, code: str) -> Any:
    """The event a typed check-in code names (what its window check reads). Raises WrongCode."""
    event = await conn.fetchone(
        "SELECT id, title, status, starts_at, ends_at FROM events WHERE checkin_code = ?",
        (normalise_code(code),),
    )
    if event is None:
        raise WrongCode(code)
    return event


def normalise_code(text: str) -> str:
    """What people type: any case, spaces or dashes between groups."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def looks_like_code(text: str) -> bool:
    code = normalise_code(text)
    return 4 <= len(code) <= 6 and all(ch in CODE_ALPHABET for ch in code) and " " not in text
