"""Event reminders as outbox rows, and each resident's reminder switch (/pengingat).

Reminder rows carry no text: `kind = 'reminder'` plus params, rendered in the resident's language
when they are sent (bot/notifications/reminders.py), so a renamed event or moved venue shows its
current details. The dedupe key `reminder:{registration_id}:{label}` makes running the sync
twice harmless.

The only SQL here that reads the registrations table (built by the registration issue, not on
this branch) is `_CONFIRMED` and `_STALE`; if that table's shape differs from what the issue
describes (id, event_id, resident_id, status 'confirmed', created_at), adapt those two.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.clock import from_db, to_db
from storage.db import Database, Tx
from storage.outbox import PRIORITY_PERSONAL, cancel_pending

KIND = "reminder"

# Confirmed registrations of listed events that have not started yet, with what a reminder row
# needs: who (channel, chat id, language) and when.
_CONFIRMED = """
SELECT r.id AS registration_id, r.created_at AS registered_at, r.resident_id,
       e.id AS event_id, e.starts_at, e.reminder_offsets,
       p.channel, p.external_id, p.language
FROM registrations r
JOIN events e ON e.id = r.event_id
JOIN residents p ON p.id = r.resident_id
WHERE r.status = 'confirmed'
  AND e.status IN ('open', 'closed')
  AND e.starts_at > ?
  AND e.starts_at <= ?
  AND p.reminders_off = 0
  AND p.unreachable_at IS NULL
"""

# Pending reminders whose registration is no longer confirmed, or whose event was called off.
_STALE = """
UPDATE outbox SET status = 'cancelled', updated_at = :now,
    last_error = CASE
        WHEN (SELECT status FROM events WHERE id = outbox.event_id) = 'cancelled'
            THEN 'event cancelled'
        ELSE 'registration cancelled' END
WHERE kind = 'reminder' AND status IN ('pending', 'held') AND (
    event_id IN (SELECT id FROM events WHERE status = 'cancelled')
    OR NOT EXISTS (
        SELECT 1 FROM registrations r
        WHERE r.id = CAST(json_extract(outbox.params, '$.registration_id') AS INTEGER)
          AND r.status = 'confirmed'))
"""

# Insert, or move a row the event's new time changed. A row already sent (or cancelled because
# its moment passed) is sent again only if its due time changed: the event was rescheduled, and
# the person was reminded of the old time. A row cancelled because reminders were off or the
# person was unreachable comes back when those no longer hold (the sync only sees people for
# whom they do not).
_UPSERT = """
INSERT INTO outbox (dedupe_key, kind, channel, recipient, resident_id, event_id, language, body,
                    params, priority, due_at, created_at, updated_at)
VALUES (?, 'reminder', ?, ?, ?, ?, ?, '{"text":"","choices":[]}', ?, ?, ?, ?, ?)
ON CONFLICT (dedupe_key) DO UPDATE SET
    status = 'pending', due_at = excluded.due_at, params = excluded.params,
    recipient = excluded.recipient, language = excluded.language, attempts = 0,
    last_error = NULL, updated_at = excluded.updated_at
WHERE outbox.status = 'pending' AND outbox.due_at <> excluded.due_at
   OR outbox.status IN ('sent', 'failed', 'cancelled', 'held')
      AND outbox.due_at <> excluded.due_at
   OR outbox.status = 'cancelled' AND outbox.last_error IN ('reminders off', 'unreachable')
"""


def offset_label(minutes: int) -> str:
    """1440 -> '24h', 120 -> '2h', 90 -> '90m': the tail of the dedupe key."""
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def reminder_key(registration_id: int, minutes: int) -> str:
    return f"reminder:{registration_id}:{offset_label(minutes)}"


@dataclass(frozen=True, slots=True)
class SyncResult:
    written: int  # rows inserted, moved or revived
    cancelled: int


class Reminders:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def sync(
        self,
        *,
        default_offsets: Sequence[int],
        now: datetime,
        horizon: timedelta = timedelta(days=60),
    ) -> SyncResult:
        """Make the outbox hold exactly the reminders the registrations call for: one row per
        confirmed registration and offset, due at start − offset. An offset whose moment came
        before the person registered is skipped (their confirmation just told them); one whose
        moment passed while the bot was down is due now and still goes out, because the event
        has not started. Runs in one transaction so a half-done sync is never visible."""
        moment = now
        stamp = to_db(moment)
        written = cancelled = 0
        async with self._db.transaction() as conn:
            cur = await conn.execute(_STALE, {"now": stamp})
            cancelled = cur.rowcount
            rows = list(await conn.fetchall(_CONFIRMED, (stamp, to_db(moment + horizon))))
            values = []
            superseded: list[str] = []
            for row in rows:
                starts_at = from_db(row["starts_at"])
                registered_at = from_db(row["registered_at"])
                offsets = _offsets(row["reminder_offsets"], default_offsets)
                ask = max(offsets, default=0)
                # Of the reminders whose moment has passed (the bot was down), only the latest
                # still makes sense: "starts in 2 hours" and "tomorrow" together would confuse.
                overdue = [m for m in offsets if starts_at - timedelta(minutes=m) <= moment]
                latest_overdue = min(overdue, default=None)
                for minutes in offsets:
                    due = starts_at - timedelta(minutes=minutes)
                    key = reminder_key(row["registration_id"], minutes)
                    if minutes in overdue and minutes != latest_overdue:
                        superseded.append(key)
                        continue
                    if due < registered_at:
                        continue
                    params = {
                        "registration_id": row["registration_id"],
                        "event_id": row["event_id"],
                        "offset": offset_label(minutes),
                        # The earliest reminder asks whether the person still comes.
                        "ask": minutes == ask,
                    }
                    values.append(
                        (
                            key,
                            row["channel"],
                            row["external_id"],
                            row["resident_id"],
                            row["event_id"],
                            row["language"],
                            json.dumps(params, separators=(",", ":")),
                            PRIORITY_PERSONAL,
                            to_db(due),
                            stamp,
                            stamp,
                        )
                    )
            for value in values:
                cur = await conn.execute(_UPSERT, value)
                written += cur.rowcount
            for key in superseded:
                cur = await conn.execute(
                    "UPDATE outbox SET status = 'cancelled', last_error = 'superseded', "
                    "updated_at = ? WHERE dedupe_key = ? AND status = 'pending'",
                    (stamp, key),
                )
                cancelled += cur.rowcount
        return SyncResult(written, cancelled)

    async def cancel_for_registration(
        self, conn: Tx, *, registration_id: int, reason: str, now: datetime
    ) -> int:
        """Call inside the registration's cancel transaction: its pending reminders go with it."""
        return await cancel_pending(
            conn,
            reason=reason,
            key_prefix=f"reminder:{registration_id}:",
            kinds=(KIND,),
            now=now,
        )

    async def cancel_for_event(self, conn: Tx, *, event_id: int, reason: str, now: datetime) -> int:
        """Call inside the event's cancel transaction."""
        return await cancel_pending(conn, reason=reason, event_id=event_id, kinds=(KIND,), now=now)

    async def set_event_offsets(self, *, event_id: int, offsets: Sequence[int] | None) -> None:
        """Per-event reminder moments in minutes before the start; None: the deployment's."""
        value = None if offsets is None else json.dumps(sorted(set(offsets), reverse=True))
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE events SET reminder_offsets = ? WHERE id = ?", (value, event_id)
            )

    async def reminders_off(self, *, resident_id: int) -> bool:
        row = await self._db.fetchone(
            "SELECT reminders_off FROM residents WHERE id = ?", (resident_id,)
        )
        return bool(row and row[0])

    async def set_reminders_off(self, *, resident_id: int, off: bool, now: datetime) -> None:
        """/pengingat. Off cancels what is queued; on brings back what off cancelled, if its
        event has not started (the next sync would too; doing it here makes it immediate)."""
        stamp = to_db(now)
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE residents SET reminders_off = ?, updated_at = ? WHERE id = ?",
                (int(off), stamp, resident_id),
            )
            if off:
                await cancel_pending(
                    conn, reason="reminders off", resident_id=resident_id, kinds=(KIND,), now=now
                )
                return
            await conn.execute(
                "UPDATE outbox SET status = 'pending', last_error = NULL, updated_at = ? "
                "WHERE resident_id = ? AND kind = 'reminder' AND status = 'cancelled' "
                "AND last_error = 'reminders off' "
                "AND event_id IN (SELECT id FROM events WHERE starts_at > ?)",
                (stamp, resident_id, stamp),
            )


def _offsets(stored: str | None, default: Sequence[int]) -> list[int]:
    if stored:
        try:
            values = [int(v) for v in json.loads(stored)]
        except (ValueError, TypeError):
            values = []
        if values:
            return values
    return list(default)
