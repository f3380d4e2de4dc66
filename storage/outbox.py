"""The outbox: producers insert rows (inside their own transaction), the delivery worker sends.

`enqueue` and the `cancel_pending` helper take the caller's connection so a registration change
and the message about it commit or roll back together. The `OutboxRepo` methods are the worker's
side: claim due rows, record the outcome of each send, and recover after a restart.

Row life: pending → sending (claimed) → sent | pending again (retry, rate limit, graceful
shutdown) | failed (gave up, reason kept) | cancelled (reason kept) | held (WhatsApp window).
A crash leaves claimed rows in `sending`; `reset_sending` at start-up makes them pending again,
which is the only way a message can go out twice, so the worker's concurrency bounds duplicates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from storage.clock import from_db, to_db
from storage.db import SKIP_LOCKED, Database, Tx

# A claimed row not marked sent within this long is taken to be lost with its instance.
CLAIM_LEASE = timedelta(seconds=60)

# Interactive replies are not outbox rows, but rows may still be ranked among themselves:
# a waitlist promotion should not wait behind a 10,000-person announcement.
PRIORITY_BULK = 0
PRIORITY_PERSONAL = 10
# A reply that could not be delivered when it was made (the platform blinked) waits here: the
# person who asked is still waiting, so it goes before everything else.
PRIORITY_REPLY = 100
REPLY_KIND = "reply"


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """What to deliver; `body` is the channel-neutral reply as plain JSON-able data."""

    dedupe_key: str
    kind: str
    channel: str
    recipient: str
    text: str
    choices: tuple[tuple[str, str], ...] = ()
    resident_id: int | None = None
    event_id: int | None = None
    language: str = "id"
    params: dict[str, Any] = field(default_factory=dict)
    priority: int = 0
    due_at: datetime | None = None
    document: dict[str, str] | None = None  # {"filename", "mime_type", "content_b64"}

    def body(self) -> str:
        data: dict[str, Any] = {"text": self.text, "choices": [list(c) for c in self.choices]}
        if self.document is not None:
            data["document"] = self.document
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


async def enqueue(conn: Tx, message: OutboxMessage, *, now: datetime) -> bool:
    """Insert unless a row with the same dedupe key exists; True if a row was added. `now` is
    when it was made (and when it is due, if the message gives no `due_at`)."""
    stamp = to_db(now)
    cur = await conn.execute(
        "INSERT INTO outbox (dedupe_key, kind, channel, recipient, resident_id, event_id, "
        "language, body, params, priority, due_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
        (
            message.dedupe_key,
            message.kind,
            message.channel,
            message.recipient,
            message.resident_id,
            message.event_id,
            message.language,
            message.body(),
            json.dumps(message.params, ensure_ascii=False),
            message.priority,
            to_db(message.due_at) if message.due_at else stamp,
            stamp,
            stamp,
        ),
    )
    return cur.rowcount == 1


async def cancel_pending(
    conn: Tx,
    *,
    reason: str,
    resident_id: int | None = None,
    event_id: int | None = None,
    key_prefix: str | None = None,
    kinds: Sequence[str] = (),
    now: datetime,
) -> int:
    """Cancel rows not yet sent that match every given filter (at least one of resident, event
    or key prefix); the reason is kept in `last_error`. Rows already claimed (`sending`) are left
    alone: they are on the wire and the worker records their outcome."""
    where = ["status IN ('pending', 'held')"]
    params: list[object] = []
    if resident_id is not None:
        where.append("resident_id = ?")
        params.append(resident_id)
    if event_id is not None:
        where.append("event_id = ?")
        params.append(event_id)
    if key_prefix is not None:
        # substr, not LIKE: a key may contain % or _.
        where.append("substr(dedupe_key, 1, ?) = ?")
        params += [len(key_prefix), key_prefix]
    if len(params) == 0:
        raise ValueError("cancel_pending needs a resident, an event or a key prefix")
    if kinds:
        where.append(f"kind IN ({', '.join('?' * len(kinds))})")
        params += list(kinds)
    cur = await conn.execute(
        "UPDATE outbox SET status = 'cancelled', last_error = ?, updated_at = ? "
        f"WHERE {' AND '.join(where)}",
        (reason, to_db(now), *params),
    )
    return cur.rowcount


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    dedupe_key: str
    kind: str
    channel: str
    recipient: str
    resident_id: int | None
    event_id: int | None
    language: str
    text: str
    choices: tuple[tuple[str, str], ...]
    document: dict[str, str] | None
    params: dict[str, Any]
    priority: int
    due_at: datetime
    attempts: int
    photo: str | None = None  # a channel file id (announcements with a photo)


@dataclass(frozen=True, slots=True)
class OutboxStats:
    by_status: dict[str, int]
    by_kind: dict[str, dict[str, int]]  # kind -> status -> count
    oldest_pending: tuple[datetime, str, str] | None  # due_at, kind, dedupe_key


_ROW = (
    "id, dedupe_key, kind, channel, recipient, resident_id, event_id, language, body, params, "
    "priority, due_at, attempts"
)


def _row(row: Any) -> OutboxRow:
    body = json.loads(row["body"])
    return OutboxRow(
        id=row["id"],
        dedupe_key=row["dedupe_key"],
        kind=row["kind"],
        channel=row["channel"],
        recipient=row["recipient"],
        resident_id=row["resident_id"],
        event_id=row["event_id"],
        language=row["language"],
        text=body.get("text") or "",
        choices=tuple((str(label), str(payload)) for label, payload in body.get("choices", [])),
        document=body.get("document"),
        params=json.loads(row["params"] or "{}"),
        priority=row["priority"],
        due_at=from_db(row["due_at"]),
        attempts=row["attempts"],
        photo=body.get("photo"),
    )


def _marks(ids: Sequence[object]) -> str:
    return ", ".join("?" * len(ids))


class OutboxRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(
        self,
        *,
        channels: Sequence[str],
        limit: int,
        now: datetime,
        lease: timedelta = CLAIM_LEASE,
    ) -> list[OutboxRow]:
        """Move up to `limit` due rows of these channels from pending to sending, in one write
        transaction so two claimers never take the same row; highest priority first, then the
        longest overdue. Rows that must not go out any more are cancelled on the way."""
        if limit <= 0 or not channels:
            return []
        stamp = to_db(now)
        chans = _marks(channels)
        async with self._db.transaction() as conn:
            # A person who blocked the bot is not written to until they write again.
            await conn.execute(
                "UPDATE outbox SET status = 'cancelled', last_error = 'unreachable', "
                "updated_at = ? WHERE status = 'pending' AND due_at <= ? "
                f"AND channel IN ({chans}) AND resident_id IN "
                "(SELECT id FROM residents WHERE unreachable_at IS NOT NULL)",
                (stamp, stamp, *channels),
            )
            # A reminder is pointless once its event started or was called off (it may have
            # been due while the bot was down).
            await conn.execute(
                "UPDATE outbox SET status = 'cancelled', updated_at = ?, last_error = "
                "(SELECT CASE WHEN e.status = 'cancelled' THEN 'event cancelled' "
                "ELSE 'event started' END FROM events e WHERE e.id = outbox.event_id) "
                "WHERE status = 'pending' AND kind = 'reminder' AND due_at <= ? "
                f"AND channel IN ({chans}) AND event_id IN (SELECT id FROM events "
                "WHERE starts_at <= ? OR status = 'cancelled')",
                (stamp, stamp, *channels, stamp),
            )
            # On PostgreSQL several instances claim at once: each skips rows another is taking
            # (storage/dialect.py turns the comment into FOR UPDATE SKIP LOCKED), and the lease
            # gives a dead instance's rows back (reset_sending).
            claimed = await conn.fetchall(
                "UPDATE outbox SET status = 'sending', attempts = attempts + 1, updated_at = ?, "
                "claimed_until = ? WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' "
                f"AND channel IN ({chans}) AND due_at <= ? "
                f"ORDER BY priority DESC, due_at, id LIMIT ? {SKIP_LOCKED}) "
                f"RETURNING {_ROW}",
                (stamp, to_db(now + lease), *channels, stamp, limit),
            )
            rows = [_row(r) for r in claimed]
        # RETURNING gives no order guarantee; the worker starts them in claim order.
        rows.sort(key=lambda r: (-r.priority, r.due_at, r.id))
        return rows

    async def mark_sent(
        self, *, row_id: int, external_id: str | None = None, now: datetime
    ) -> None:
        stamp = to_db(now)
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET status = 'sent', external_id = ?, last_error = NULL, "
                "sent_at = ?, updated_at = ? WHERE id = ?",
                (external_id, stamp, stamp, row_id),
            )

    async def mark_sent_many(
        self, *, sent: Sequence[tuple[int, str | None]], now: datetime
    ) -> None:
        """Record many sends in one transaction (the worker's group commit): at full speed a
        transaction per message would cost more than the message."""
        if not sent:
            return
        stamp = to_db(now)
        async with self._db.transaction() as conn:
            await conn.executemany(
                "UPDATE outbox SET status = 'sent', external_id = ?, last_error = NULL, "
                "sent_at = ?, updated_at = ? WHERE id = ?",
                [(external_id, stamp, stamp, row_id) for row_id, external_id in sent],
            )

    async def retry(
        self,
        *,
        row_id: int,
        due_at: datetime,
        error: str,
        count_attempt: bool = True,
        now: datetime,
    ) -> None:
        """Back to pending, due at `due_at`. A rate-limited send does not count as an attempt:
        the message was refused because of others, not because of itself."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET status = 'pending', due_at = ?, last_error = ?, "
                "attempts = attempts - ?, updated_at = ? WHERE id = ? AND status = 'sending'",
                (to_db(due_at), error[:500], 0 if count_attempt else 1, to_db(now), row_id),
            )

    async def finish(self, *, row_id: int, status: str, reason: str, now: datetime) -> None:
        """Give up on one row: failed (retries used up or refused), cancelled, or held."""
        if status not in ("failed", "cancelled", "held"):
            raise ValueError(status)
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET status = ?, last_error = ?, updated_at = ? WHERE id = ?",
                (status, reason[:500], to_db(now), row_id),
            )

    async def release(self, *, row_ids: Iterable[int], now: datetime) -> int:
        """Graceful shutdown: claimed rows that were not sent go back to pending; the claim's
        attempt is given back because nothing was tried."""
        ids = list(row_ids)
        if not ids:
            return 0
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE outbox SET status = 'pending', attempts = max(attempts - 1, 0), "
                f"updated_at = ? WHERE status = 'sending' AND id IN ({_marks(ids)})",
                (to_db(now), *ids),
            )
            return cur.rowcount

    async def reset_sending(
        self, *, lease_expired_at: datetime | None = None, now: datetime
    ) -> int:
        """Start-up after a crash: rows left in `sending` may or may not have reached the
        person; sending them again is the price of losing none. With one instance (SQLite) all
        of them; with several, only rows whose claim lease ran out before `lease_expired_at`
        (their instance died; docs/deploy.md)."""
        stamp = to_db(now)
        expired = "" if lease_expired_at is None else "AND coalesce(claimed_until, '') < ?"
        args = (stamp,) if lease_expired_at is None else (stamp, to_db(lease_expired_at))
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE outbox SET status = 'pending', last_error = 'interrupted', "
                f"updated_at = ? WHERE status = 'sending' {expired}",
                args,
            )
            return cur.rowcount

    async def mark_unreachable(
        self,
        *,
        channel: str,
        recipient: str,
        resident_id: int | None,
        now: datetime,
    ) -> int:
        """The platform says this person blocked the bot: flag them and cancel what waits for
        them. Returns how many rows were cancelled."""
        stamp = to_db(now)
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE residents SET unreachable_at = ?, updated_at = ? "
                "WHERE unreachable_at IS NULL AND (id = ? OR (channel = ? AND external_id = ?))",
                (stamp, stamp, resident_id, channel, recipient),
            )
            cur = await conn.execute(
                "UPDATE outbox SET status = 'cancelled', last_error = 'unreachable', "
                "updated_at = ? WHERE status IN ('pending', 'held') "
                "AND (resident_id = ? OR (channel = ? AND recipient = ?))",
                (stamp, resident_id, channel, recipient),
            )
            return cur.rowcount

    async def reachable_again(self, *, channel: str, external_id: str, now: datetime) -> bool:
        """Someone flagged unreachable wrote to us: they can be written to again. False if they
        were not flagged (the dispatcher calls this only for those it saw flagged)."""
        rows = await self._db.write(
            "UPDATE residents SET unreachable_at = NULL, updated_at = ? "
            "WHERE channel = ? AND external_id = ? AND unreachable_at IS NOT NULL RETURNING id",
            (to_db(now), channel, external_id),
        )
        return bool(rows)

    async def is_unreachable(self, *, channel: str, external_id: str) -> bool:
        row = await self._db.fetchone(
            "SELECT unreachable_at FROM residents WHERE channel = ? AND external_id = ?",
            (channel, external_id),
        )
        return row is not None and row[0] is not None

    async def cancel(
        self,
        *,
        reason: str,
        resident_id: int | None = None,
        event_id: int | None = None,
        key_prefix: str | None = None,
        kinds: Sequence[str] = (),
        now: datetime,
    ) -> int:
        """`cancel_pending` in a transaction of its own."""
        async with self._db.transaction() as conn:
            return await cancel_pending(
                conn,
                reason=reason,
                resident_id=resident_id,
                event_id=event_id,
                key_prefix=key_prefix,
                kinds=kinds,
                now=now,
            )

    async def add(self, message: OutboxMessage, *, now: datetime) -> bool:
        """`enqueue` in a transaction of its own (for producers with nothing else to write)."""
        async with self._db.transaction() as conn:
            return await enqueue(conn, message, now=now)

    async def add_many(self, messages: Iterable[OutboxMessage], *, now: datetime) -> int:
        async with self._db.transaction() as conn:
            added = 0
            for message in messages:
                added += await enqueue(conn, message, now=now)
            return added

    async def retry_failed(self, *, now: datetime) -> int:
        """`pustaka outbox retry-failed`: failed rows get a fresh set of attempts, due now."""
        stamp = to_db(now)
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE outbox SET status = 'pending', attempts = 0, due_at = ?, updated_at = ? "
                "WHERE status = 'failed'",
                (stamp, stamp),
            )
            return cur.rowcount

    async def stats(self) -> OutboxStats:
        by_status: dict[str, int] = {}
        by_kind: dict[str, dict[str, int]] = {}
        for kind, status, count in await self._db.fetchall(
            "SELECT kind, status, count(*) FROM outbox GROUP BY kind, status ORDER BY kind, status"
        ):
            by_status[status] = by_status.get(status, 0) + count
            by_kind.setdefault(kind, {})[status] = count
        row = await self._db.fetchone(
            "SELECT due_at, kind, dedupe_key FROM outbox WHERE status = 'pending' "
            "ORDER BY due_at, id LIMIT 1"
        )
        oldest = None if row is None else (from_db(row[0]), row[1], row[2])
        return OutboxStats(by_status=by_status, by_kind=by_kind, oldest_pending=oldest)

    async def status_of(self, *, dedupe_key: str) -> tuple[str, str | None, datetime] | None:
        """Status, last error and due time of one row (tests and the CLI)."""
        row = await self._db.fetchone(
            "SELECT status, last_error, due_at FROM outbox WHERE dedupe_key = ?", (dedupe_key,)
        )
        return None if row is None else (row[0], row[1], from_db(row[2]))

    async def next_due(self, *, channels: Sequence[str]) -> datetime | None:
        """When the earliest pending row of these channels falls due (lets the worker sleep)."""
        if not channels:
            return None
        row = await self._db.fetchone(
            f"SELECT min(due_at) FROM outbox WHERE status = 'pending' "
            f"AND channel IN ({_marks(channels)})",
            tuple(channels),
        )
        return None if row is None or row[0] is None else from_db(row[0])
