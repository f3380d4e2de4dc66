"""Announcements: who receives one, queueing it in the outbox, progress, cancellation.

The audience is resolved and queued by INSERT ... SELECT, one statement per chunk of 5,000
residents: 100,000 recipients never pass through Python, no transaction holds the write lock for
long, and the count the sender sees afterwards is the number of rows actually queued.

Scheduled announcements are queued at once with a future `due_at`; the delivery worker leaves
them until then. Residents who stop announcements or withdraw consent in the meantime have their
pending rows cancelled by triggers (migration 0006).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storage.clock import from_db, opt_from_db, to_db
from storage.db import Database, Tx
from storage.errors import NotFound, StorageError
from storage.staff import audit

AUDIENCES = ("all", "regency", "topic", "registrants", "waitlist")
# Announcements yield to everything else the bot sends (replies, reminders).
BROADCAST_PRIORITY = -10
OPEN_STATUSES = ("scheduled", "running")
# Recipients queued per write transaction: about 60 ms of write lock on a laptop-class machine.
QUEUE_CHUNK = 5000
# A draft not touched for this long was being queued by a process that died.
STALE_DRAFT = timedelta(minutes=10)
SMS_CHANNEL = "sms"
# Who of an audience reads an announcement sent by SMS: residents who use SMS alone, and residents
# of the chats who added a verified number for SMS (storage/sms.py).
_BY_SMS = (
    f"(r.channel = '{SMS_CHANNEL}' OR (r.sms_verified_at IS NOT NULL AND r.sms_phone IS NOT NULL))"
)


class NotCancellable(StorageError):
    """The announcement already finished or was cancelled."""


class EmptyAudience(StorageError):
    """Nobody would receive it: nothing was queued."""


@dataclass(frozen=True, slots=True)
class Audience:
    kind: str  # all | regency | topic | registrants | waitlist
    regency_code: str | None = None  # all: the scope's regency (None: province); regency; topic
    topic: str | None = None
    event_id: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in AUDIENCES:
            raise ValueError(self.kind)

    def encode(self) -> str | None:
        if self.kind in ("registrants", "waitlist"):
            return str(self.event_id)
        if self.kind == "topic":
            return f"{self.topic}@{self.regency_code}" if self.regency_code else self.topic
        return self.regency_code

    @classmethod
    def decode(cls, kind: str, arg: str | None) -> Audience:
        if kind in ("registrants", "waitlist"):
            return cls(kind, event_id=int(arg or 0))
        if kind == "topic":
            topic, _, regency = (arg or "").partition("@")
            return cls(kind, topic=topic, regency_code=regency or None)
        return cls(kind, regency_code=arg)

    @property
    def is_event_message(self) -> bool:
        """Messages to an event's registrants reach people who stopped general announcements:
        they asked to hear about the events they registered for."""
        return self.kind in ("registrants", "waitlist")


@dataclass(frozen=True, slots=True)
class Broadcast:
    id: int
    author: str
    author_channel: str
    author_recipient: str
    author_language: str
    text: str
    photo: str | None
    audience: Audience
    due_at: datetime
    status: str
    recipients: int
    sent: int
    failed: int
    cancelled: int
    progress_message: str | None
    created_at: datetime
    finished_at: datetime | None
    sms: bool = False  # its author included SMS (migration 0021)


@dataclass(frozen=True, slots=True)
class Progress:
    sent: int
    failed: int
    remaining: int
    cancelled: int

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.remaining + self.cancelled


def _broadcast(row: Any) -> Broadcast:
    return Broadcast(
        id=row["id"],
        author=row["author"],
        author_channel=row["author_channel"],
        author_recipient=row["author_recipient"],
        author_language=row["author_language"],
        text=row["text"],
        photo=row["photo"],
        audience=Audience.decode(row["audience"], row["audience_arg"]),
        due_at=from_db(row["due_at"]),
        status=row["status"],
        recipients=row["recipients"],
        sent=row["sent"],
        failed=row["failed"],
        cancelled=row["cancelled"],
        progress_message=row["progress_message"],
        created_at=from_db(row["created_at"]),
        finished_at=opt_from_db(row["finished_at"]),
        sms=bool(row["sms"]),
    )


def _key_range(broadcast_id: int) -> tuple[str, str]:
    """Dedupe keys `broadcast:{id}:{resident}` sort between these two, so the outbox's unique
    index on dedupe_key finds one announcement's rows without a column of its own
    (';' is the character after ':')."""
    return f"broadcast:{broadcast_id}:", f"broadcast:{broadcast_id};"


def _recipients_sql(audience: Audience, *, sms: bool = False) -> tuple[str, list[object]]:
    """FROM ... WHERE over residents `r` (one row per resident) for an audience. Residents who
    use SMS alone are in it only when the announcement goes by SMS (`sms`)."""
    sql, params = _audience_sql(audience)
    if not sms:
        sql += f" AND r.channel <> '{SMS_CHANNEL}'"
    return sql, params


def _audience_sql(audience: Audience) -> tuple[str, list[object]]:
    params: list[object] = []
    if audience.kind == "topic":
        sql = (
            "FROM topic_subscriptions t JOIN residents r ON r.id = t.resident_id "
            "WHERE t.topic = ? AND r.consent_at IS NOT NULL AND r.announcements_off = 0 "
            "AND r.unreachable_at IS NULL"
        )
        params.append(audience.topic)
        if audience.regency_code is not None:
            sql += " AND r.regency_code = ?"
            params.append(audience.regency_code)
        return sql, params
    if audience.kind in ("registrants", "waitlist"):
        # One message per resident, whoever they registered (themselves or by proxy).
        status = "'confirmed'" if audience.kind == "registrants" else "'waitlisted'"
        sql = (
            "FROM residents r WHERE r.consent_at IS NOT NULL AND r.unreachable_at IS NULL "
            "AND r.id IN (SELECT g.resident_id "
            f"FROM registrations g WHERE g.event_id = ? AND g.status = {status})"
        )
        return sql, [audience.event_id]
    sql = (
        "FROM residents r WHERE r.consent_at IS NOT NULL AND r.announcements_off = 0 "
        "AND r.unreachable_at IS NULL"
    )
    if audience.kind == "regency" or audience.regency_code is not None:
        sql += " AND r.regency_code = ?"
        params.append(audience.regency_code)
    return sql, params


class Broadcasts:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def count(self, audience: Audience) -> int:
        """Residents of the audience it reaches in the chats (not by SMS)."""
        sql, params = _recipients_sql(audience)
        row = await self._db.fetchone(f"SELECT count(*) {sql}", params)
        return int(row[0]) if row else 0

    async def sms_count(self, audience: Audience) -> dict[str, int]:
        """Residents of the audience who would get it by SMS if their author includes SMS, by
        language ('en', else 'id': the SMS text is in one of the two)."""
        sql, params = _recipients_sql(audience, sms=True)
        rows = await self._db.fetchall(
            "SELECT CASE r.language WHEN 'en' THEN 'en' ELSE 'id' END AS lang, count(*) "
            f"{sql} AND {_BY_SMS} GROUP BY lang",
            params,
        )
        return {str(r[0]): int(r[1]) for r in rows}

    async def create(
        self,
        *,
        author: str,
        author_role: str,
        author_channel: str,
        author_recipient: str,
        author_language: str,
        text: str,
        photo: str | None,
        audience: Audience,
        due_at: datetime,
        bodies: dict[str, str],
        sms_bodies: dict[str, str] | None = None,
        now: datetime,
        within: Tx | None = None,
    ) -> Broadcast:
        """Create the announcement and queue one outbox row per recipient.

        An audience of at most `QUEUE_CHUNK` residents is created, queued and audited in one
        transaction; so is any announcement made `within` a caller's transaction (the note of an
        event's cancellation goes with the cancellation), and then nothing is committed here.
        Bigger audiences are queued in chunks of `QUEUE_CHUNK` residents, each in its own short
        transaction, so that a 100,000-person announcement does not hold the database's write
        lock for a second and keep people chatting now waiting. While it is being queued the
        announcement is a 'draft'; rows already queued may start going out. A process that dies
        half-way leaves a draft that `refresh` cancels with its rows (the author sees it
        cancelled and can send it again).

        `bodies` maps a language to the finished message body (JSON) residents of that language
        receive; Indonesian is used for any other language. `sms_bodies` (the same for an SMS)
        given: the author included SMS, and residents who use SMS alone get it by SMS and those
        with a verified SMS number an SMS copy too, keyed `broadcast:{id}:{resident}:sms`. Those
        rows wait behind the day's SMS reminders like any SMS but a reminder (storage/sms.py).
        `recipients` then counts messages, SMS included; the one-transaction limit above counts
        residents."""
        async with AsyncExitStack() as stack:
            if within is None and await self._fits_one_chunk(audience, sms=sms_bodies is not None):
                within = await stack.enter_async_context(self._db.transaction())
            status = "scheduled" if due_at > now else "running"
            due = to_db(max(due_at, now))
            async with self._step(within) as conn:
                cur = await conn.execute(
                    "INSERT INTO broadcasts (author, author_channel, author_recipient, "
                    "author_language, text, photo, audience, audience_arg, due_at, status, "
                    "created_at, updated_at, sms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        author,
                        author_channel,
                        author_recipient,
                        author_language,
                        text,
                        photo,
                        audience.kind,
                        audience.encode(),
                        due,
                        "draft",
                        to_db(now),
                        to_db(now),
                        0 if sms_bodies is None else 1,
                    ),
                )
                broadcast_id = cur.lastrowid
                assert broadcast_id is not None
            queued, after = 0, 0
            while True:
                async with self._step(within) as conn:
                    upto = await _chunk_end(conn, audience, after, sms=sms_bodies is not None)
                    if upto is None:
                        break
                    added = await _queue(
                        conn,
                        broadcast_id=broadcast_id,
                        audience=audience,
                        bodies=bodies,
                        sms_bodies=sms_bodies,
                        due=due,
                        now=to_db(now),
                        residents=(after, upto),
                    )
                    queued += added
                    await conn.execute(
                        "UPDATE broadcasts SET recipients = recipients + ?, updated_at = ? "
                        "WHERE id = ?",
                        (added, to_db(now), broadcast_id),
                    )
                after = upto
            async with self._step(within) as conn:
                if queued == 0:
                    await conn.execute("DELETE FROM broadcasts WHERE id = ?", (broadcast_id,))
                else:
                    await conn.execute(
                        "UPDATE broadcasts SET status = ? WHERE id = ?", (status, broadcast_id)
                    )
                    scope = f"{audience.kind} {audience.encode() or ''}"
                    await audit(
                        conn,
                        actor=author,
                        role=author_role,
                        action="broadcast.create",
                        target=f"broadcast:{broadcast_id}",
                        detail=f"{scope} {queued} recipients {status}",
                        now=now,
                    )
            if queued == 0:
                # Raised once the DELETE is done: a caller's transaction it ran in may go on.
                raise EmptyAudience(audience)
            # Read through the transaction that wrote it: it may not be committed yet.
            row = await (within or self._db.reader).fetchone(
                "SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,)
            )
            return _broadcast(row)
        raise AssertionError("unreachable")  # mypy: AsyncExitStack may swallow exceptions

    async def _fits_one_chunk(self, audience: Audience, *, sms: bool) -> bool:
        sql, params = _recipients_sql(audience, sms=sms)
        row = await self._db.fetchone(
            f"SELECT count(*) FROM (SELECT r.id {sql} LIMIT ?)", (*params, QUEUE_CHUNK + 1)
        )
        return row is not None and int(row[0]) <= QUEUE_CHUNK

    @asynccontextmanager
    async def _step(self, within: Tx | None) -> AsyncIterator[Tx]:
        """A step of the caller's transaction, or a transaction of its own."""
        if within is not None:
            yield within
        else:
            async with self._db.transaction() as conn:
                yield conn

    async def get(self, *, broadcast_id: int) -> Broadcast:
        row = await self._db.fetchone("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
        if row is None:
            raise NotFound("broadcast", broadcast_id)
        return _broadcast(row)

    async def by_author(
        self, *, author: str, offset: int = 0, limit: int = 5
    ) -> tuple[list[Broadcast], int]:
        rows = await self._db.fetchall(
            "SELECT *, count(*) OVER () AS total FROM broadcasts WHERE author = ? "
            "ORDER BY id DESC LIMIT ? OFFSET ?",
            (author, limit, offset),
        )
        total = rows[0]["total"] if rows else 0
        return [_broadcast(r) for r in rows], total

    async def progress(self, *, broadcast_id: int) -> Progress:
        low, high = _key_range(broadcast_id)
        rows = await self._db.fetchall(
            "SELECT status, count(*) FROM outbox WHERE dedupe_key >= ? AND dedupe_key < ? "
            "GROUP BY status",
            (low, high),
        )
        counts = {r[0]: int(r[1]) for r in rows}
        return Progress(
            sent=counts.get("sent", 0),
            failed=counts.get("failed", 0),
            remaining=counts.get("pending", 0) + counts.get("sending", 0) + counts.get("held", 0),
            cancelled=counts.get("cancelled", 0),
        )

    async def cancel(self, *, broadcast_id: int, actor: str, role: str, now: datetime) -> int:
        """Cancel a scheduled or running announcement and its rows not yet handed to a channel;
        returns how many rows were cancelled. Rows already being sent finish.

        The status change, the rows and the audit entry are one transaction when at most
        `QUEUE_CHUNK` rows wait. More are cancelled `QUEUE_CHUNK` at a time, each chunk in its
        own transaction, for the same reason they were queued that way (the announcement is
        already cancelled in the first, so no chunk is sent after it; the worker may send a few
        rows it had claimed)."""
        stamp = to_db(now)
        low, high = _key_range(broadcast_id)
        stopped = 0
        first = True
        while True:
            async with self._db.transaction() as conn:
                if first:
                    cur = await conn.execute(
                        "UPDATE broadcasts SET status = 'cancelled', updated_at = ?, "
                        "finished_at = ? WHERE id = ? AND status IN ('scheduled', 'running')",
                        (stamp, stamp, broadcast_id),
                    )
                    if cur.rowcount == 0:
                        raise NotCancellable(broadcast_id)
                    first = False
                cur = await conn.execute(
                    "UPDATE outbox SET status = 'cancelled', "
                    "last_error = 'announcement cancelled', updated_at = ? WHERE id IN ("
                    "SELECT id FROM outbox WHERE dedupe_key >= ? AND dedupe_key < ? "
                    "AND status IN ('pending', 'held') LIMIT ?)",
                    (stamp, low, high, QUEUE_CHUNK),
                )
                stopped += cur.rowcount
                if cur.rowcount < QUEUE_CHUNK:
                    await _store_counts(conn, broadcast_id, low, high)
                    await audit(
                        conn,
                        actor=actor,
                        role=role,
                        action="broadcast.cancel",
                        target=f"broadcast:{broadcast_id}",
                        detail=f"{stopped} rows cancelled",
                        now=now,
                    )
                    return stopped

    async def set_progress_message(self, *, broadcast_id: int, message_id: str) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE broadcasts SET progress_message = ? WHERE id = ?",
                (message_id, broadcast_id),
            )

    async def refresh(self, *, now: datetime) -> list[Broadcast]:
        """Move scheduled announcements whose time came to running, and running ones with
        nothing left to send to done (queueing the author's final report). Returns the
        announcements still running or just finished, for progress messages."""
        moment = now
        stamp = to_db(moment)
        touched: list[int] = []
        async with self._db.transaction() as conn:
            stale = [
                int(r[0])
                for r in await conn.fetchall(
                    "SELECT id FROM broadcasts WHERE status = 'draft' AND updated_at < ?",
                    (to_db(moment - STALE_DRAFT),),
                )
            ]
            for broadcast_id in stale:
                low, high = _key_range(broadcast_id)
                await conn.execute(
                    "UPDATE outbox SET status = 'cancelled', last_error = 'queueing interrupted', "
                    "updated_at = ? WHERE dedupe_key >= ? AND dedupe_key < ? "
                    "AND status IN ('pending', 'held')",
                    (stamp, low, high),
                )
                await conn.execute(
                    "UPDATE broadcasts SET status = 'cancelled', finished_at = ?, updated_at = ? "
                    "WHERE id = ?",
                    (stamp, stamp, broadcast_id),
                )
                await _store_counts(conn, broadcast_id, low, high)
            await conn.execute(
                "UPDATE broadcasts SET status = 'running', updated_at = ? "
                "WHERE status = 'scheduled' AND due_at <= ?",
                (stamp, stamp),
            )
            running = [
                int(r[0])
                for r in await conn.fetchall("SELECT id FROM broadcasts WHERE status = 'running'")
            ]
            for broadcast_id in running:
                low, high = _key_range(broadcast_id)
                await _store_counts(conn, broadcast_id, low, high)
                row = await conn.fetchone(
                    "SELECT count(*) FROM outbox WHERE dedupe_key >= ? AND dedupe_key < ? "
                    "AND status IN ('pending', 'sending', 'held')",
                    (low, high),
                )
                if row is not None and row[0] == 0:
                    await conn.execute(
                        "UPDATE broadcasts SET status = 'done', finished_at = ?, updated_at = ? "
                        "WHERE id = ?",
                        (stamp, stamp, broadcast_id),
                    )
                    await _queue_report(conn, broadcast_id, stamp)
                touched.append(broadcast_id)
        return [await self.get(broadcast_id=i) for i in touched]


async def _store_counts(conn: Tx, broadcast_id: int, low: str, high: str) -> None:
    await conn.execute(
        "UPDATE broadcasts SET "
        "sent = (SELECT count(*) FROM outbox WHERE dedupe_key >= :low AND dedupe_key < :high "
        "AND status = 'sent'), "
        "failed = (SELECT count(*) FROM outbox WHERE dedupe_key >= :low AND dedupe_key < :high "
        "AND status = 'failed'), "
        "cancelled = (SELECT count(*) FROM outbox WHERE dedupe_key >= :low "
        "AND dedupe_key < :high AND status = 'cancelled') WHERE id = :id",
        {"low": low, "high": high, "id": broadcast_id},
    )


async def _queue(
    conn: Tx,
    *,
    broadcast_id: int,
    audience: Audience,
    bodies: dict[str, str],
    sms_bodies: dict[str, str] | None,
    due: str,
    now: str,
    residents: tuple[int, int],
) -> int:
    """Queue the recipients whose resident id is in (after, upto]: one row each in their own
    channel (residents who use SMS alone only with `sms_bodies`), and with `sms_bodies` an SMS
    copy for residents of the chats with a verified SMS number."""
    sql, params = _recipients_sql(audience, sms=sms_bodies is not None)
    sql += " AND r.id > ? AND r.id <= ?"
    params += list(residents)
    kind = "event_message" if audience.is_event_message else "announcement"
    event_id = audience.event_id if audience.is_event_message else None
    default = bodies["id"]
    sms = sms_bodies or bodies
    cur = await conn.execute(
        "INSERT INTO outbox (dedupe_key, kind, channel, recipient, resident_id, event_id, "
        "language, body, params, priority, due_at, created_at, updated_at) "
        f"SELECT 'broadcast:{broadcast_id}:' || r.id, ?, r.channel, r.external_id, r.id, ?, "
        f"r.language, CASE WHEN r.channel = '{SMS_CHANNEL}' THEN "
        "CASE r.language WHEN 'en' THEN ? ELSE ? END "
        "ELSE CASE r.language WHEN 'en' THEN ? ELSE ? END END, ?, ?, ?, ?, ? "
        f"{sql} ON CONFLICT (dedupe_key) DO NOTHING",
        (
            kind,
            event_id,
            sms.get("en", sms["id"]),
            sms["id"],
            bodies.get("en", default),
            default,
            json.dumps({"broadcast_id": broadcast_id}),
            BROADCAST_PRIORITY,
            due,
            now,
            now,
            *params,
        ),
    )
    added = cur.rowcount
    if sms_bodies is None:
        return added
    # `sms: self` as on every copy for a resident's own number: removing the number (or the
    # resident's data) cancels what is still queued for it.
    cur = await conn.execute(
        "INSERT INTO outbox (dedupe_key, kind, channel, recipient, resident_id, event_id, "
        "language, body, params, priority, due_at, created_at, updated_at) "
        f"SELECT 'broadcast:{broadcast_id}:' || r.id || ':sms', ?, '{SMS_CHANNEL}', "
        "r.sms_phone, r.id, ?, r.language, CASE r.language WHEN 'en' THEN ? ELSE ? END, "
        "?, ?, ?, ?, ? "
        f"{sql} AND r.channel <> '{SMS_CHANNEL}' AND r.sms_verified_at IS NOT NULL "
        "AND r.sms_phone IS NOT NULL ON CONFLICT (dedupe_key) DO NOTHING",
        (
            kind,
            event_id,
            sms.get("en", sms["id"]),
            sms["id"],
            json.dumps({"broadcast_id": broadcast_id, "sms": "self"}),
            BROADCAST_PRIORITY,
            due,
            now,
            now,
            *params,
        ),
    )
    return added + cur.rowcount


async def _chunk_end(conn: Tx, audience: Audience, after: int, *, sms: bool) -> int | None:
    """The resident id that ends the next chunk of recipients after `after`, or None when none
    is left. Walks the residents' primary key, so every chunk costs the same."""
    sql, params = _recipients_sql(audience, sms=sms)
    row = await conn.fetchone(
        f"SELECT max(id) FROM (SELECT r.id AS id {sql} AND r.id > ? ORDER BY r.id LIMIT ?)",
        (*params, after, QUEUE_CHUNK),
    )
    return None if row is None or row[0] is None else int(row[0])


async def _queue_report(conn: Tx, broadcast_id: int, stamp: str) -> None:
    """The author's final report, rendered in their language at delivery time."""
    row = await conn.fetchone("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
    assert row is not None
    params = {
        "broadcast_id": broadcast_id,
        "recipients": row["recipients"],
        "sent": row["sent"],
        "failed": row["failed"],
        "cancelled": row["cancelled"],
    }
    await conn.execute(
        "INSERT INTO outbox (dedupe_key, kind, channel, recipient, language, body, params, "
        "priority, due_at, created_at, updated_at) VALUES (?, 'broadcast_report', ?, ?, ?, "
        "'{}', ?, 5, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
        (
            f"broadcast-report:{broadcast_id}",
            row["author_channel"],
            row["author_recipient"],
            row["author_language"],
            json.dumps(params),
            stamp,
            stamp,
            stamp,
        ),
    )
