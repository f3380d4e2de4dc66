"""SMS: numbers residents and kaders gave, the daily budget, webhook dedupe, delivery reports,
and the SMS copies of outbox rows.

Who gets SMS: a resident's own number once verified with a code, and a neighbour's number a
kader gave with the neighbour's spoken consent (on the proxy registration). What: the outbox
kinds listed in SMS_KINDS; `copy_to_sms` writes an SMS row beside each such row written for a
resident who has a number (or for a neighbour's registration), keyed `<original key>:sms`, so
running it twice is harmless and the original's cancellations (registration cancelled, event
called off, reminders off) reach the copy through the same keys and filters.

The budget counts segments per WITA day in `sms_sent`, replies and outbox rows together.
Reminders (and verification codes) may use the whole day's budget; other kinds only what is
left after the SMS reminders still due that day, so reminders go first and the rest waits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storage.clock import to_db
from storage.db import Database, Tx
from storage.errors import NotFound
from storage.outbox import PRIORITY_PERSONAL
from storage.registration_sql import _check_window, event_by_code
from storage.registrations import CheckInClosed, WrongCode

CHANNEL = "sms"
# Reminders are claimed (and so spend the budget) before every other SMS row.
PRIORITY_SMS_REMINDER = PRIORITY_PERSONAL + 5
# Kinds that may use the whole budget; everything else leaves room for the reminders due today.
FIRST_KINDS = ("reminder", "sms_code")
CODE_TRIES = 5


class CodeRefused(Exception):
    """The verification code is wrong (`tries_left` > 0), used up or expired."""

    def __init__(self, reason: str, tries_left: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason  # wrong | expired | none
        self.tries_left = tries_left


@dataclass(frozen=True, slots=True)
class NeighbourCheckIn:
    event_title: str
    name: str
    already: bool


@dataclass(frozen=True, slots=True)
class SmsDay:
    day: str
    segments: int
    by_kind: dict[str, tuple[int, int]]  # kind -> (messages, segments)
    by_status: dict[str, int]


class SmsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- webhooks ---------------------------------------------------------------------------

    async def claim_event(self, *, event_id: str, now: datetime) -> bool:
        """True the first time this webhook event id is seen; old ids are pruned (the phone
        stops retrying long before a week)."""
        stamp = to_db(now)
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO sms_seen (event_id, seen_at) VALUES (?, ?) "
                "ON CONFLICT (event_id) DO NOTHING",
                (event_id, stamp),
            )
            claimed = cur.rowcount == 1
            if claimed:
                await conn.execute(
                    "DELETE FROM sms_seen WHERE seen_at < ?", (to_db(now - timedelta(days=7)),)
                )
        return claimed

    async def record_report(
        self, *, message_id: str, status: str, error: str | None, now: datetime
    ) -> bool:
        """A delivery report (sent, delivered, failed) for a message the gateway accepted."""
        if status not in ("sent", "delivered", "failed"):
            raise ValueError(status)
        rows = await self._db.write(
            "UPDATE sms_sent SET status = ?, error = ?, updated_at = ? WHERE message_id = ? "
            "AND NOT (status = 'delivered' AND ? = 'sent') RETURNING id",
            (status, (error or None) and error[:300], to_db(now), message_id, status),
        )
        return bool(rows)

    # --- the daily budget -------------------------------------------------------------------

    async def reserve(
        self,
        *,
        day: str,
        day_ends: datetime,
        kind: str,
        recipient: str,
        segments: int,
        limit: int,
        now: datetime,
    ) -> int | None:
        """Take `segments` of the day's budget for one message; its ledger id, or None if the
        budget does not allow it (see the module's docstring)."""
        async with self._db.transaction() as conn:
            # Concurrent sends read the day's total and add to it: they take turns (PostgreSQL;
            # SQLite's write transactions already do), so the budget is never overspent.
            await conn.lock("sms_budget", day)
            used = await _scalar(
                conn, "SELECT coalesce(sum(segments), 0) FROM sms_sent WHERE day = ?", (day,)
            )
            allowance = limit
            if kind not in FIRST_KINDS:
                # Each reminder still due today is counted as one segment (they are written to
                # fit one); this row is not one of them.
                allowance -= await _scalar(
                    conn,
                    "SELECT count(*) FROM outbox WHERE channel = ? AND kind = 'reminder' "
                    "AND status IN ('pending', 'sending') AND due_at < ?",
                    (CHANNEL, to_db(day_ends)),
                )
            if used + segments > allowance:
                return None
            stamp = to_db(now)
            cur = await conn.execute(
                "INSERT INTO sms_sent (day, kind, recipient, segments, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (day, kind, recipient, segments, stamp, stamp),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

    async def room(
        self, *, day: str, day_starts: datetime | None, day_ends: datetime, limit: int
    ) -> int:
        """Segments of day `day` still open to kinds other than reminders: the budget less what
        was spent that day and the SMS reminders still due by its end, as `reserve` counts them
        (`day_starts` None: today, overdue reminders included; a later day: only those due
        within it). What an announcement's author is shown."""
        used = await self._db.fetchone(
            "SELECT coalesce(sum(segments), 0) FROM sms_sent WHERE day = ?", (day,)
        )
        due = await self._db.fetchone(
            "SELECT count(*) FROM outbox WHERE channel = ? AND kind = 'reminder' "
            "AND status IN ('pending', 'sending') AND due_at < ? AND due_at >= ?",
            (CHANNEL, to_db(day_ends), "" if day_starts is None else to_db(day_starts)),
        )
        spent = int(used[0]) if used is not None else 0
        kept = int(due[0]) if due is not None else 0
        return max(limit - spent - kept, 0)

    async def queued(self, *, ledger_id: int, message_id: str, now: datetime) -> None:
        await self._db.write(
            "UPDATE sms_sent SET status = 'queued', message_id = ?, updated_at = ? WHERE id = ?",
            (message_id, to_db(now), ledger_id),
        )

    async def release(self, *, ledger_id: int) -> None:
        """The gateway refused the message: its segments go back to the day's budget."""
        await self._db.write("DELETE FROM sms_sent WHERE id = ?", (ledger_id,))

    async def day(self, *, day: str) -> SmsDay:
        by_kind: dict[str, tuple[int, int]] = {}
        total = 0
        for kind, messages, segments in await self._db.fetchall(
            "SELECT kind, count(*), sum(segments) FROM sms_sent WHERE day = ? "
            "GROUP BY kind ORDER BY kind",
            (day,),
        ):
            by_kind[kind] = (int(messages), int(segments))
            total += int(segments)
        by_status = {
            str(status): int(count)
            for status, count in await self._db.fetchall(
                "SELECT status, count(*) FROM sms_sent WHERE day = ? GROUP BY status", (day,)
            )
        }
        return SmsDay(day=day, segments=total, by_kind=by_kind, by_status=by_status)

    async def outbox_counts(self) -> dict[str, int]:
        """SMS outbox rows by status."""
        return {
            str(status): int(count)
            for status, count in await self._db.fetchall(
                "SELECT status, count(*) FROM outbox WHERE channel = ? GROUP BY status",
                (CHANNEL,),
            )
        }

    # --- a resident's own number ------------------------------------------------------------

    async def start_verification(
        self, *, resident_id: int, phone: str, code: str, expires_at: datetime
    ) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO sms_codes (resident_id, phone, code, tries, expires_at) "
                "VALUES (?, ?, ?, 0, ?) ON CONFLICT (resident_id) DO UPDATE SET "
                "phone = excluded.phone, code = excluded.code, tries = 0, "
                "expires_at = excluded.expires_at",
                (resident_id, phone, code, to_db(expires_at)),
            )

    async def verify(self, *, resident_id: int, code: str, now: datetime) -> str:
        """The verified number, now the resident's SMS number. Raises CodeRefused."""
        async with self._db.transaction() as conn:
            row = await conn.fetchone(
                "SELECT phone, code, tries, expires_at FROM sms_codes WHERE resident_id = ?",
                (resident_id,),
            )
            if row is None:
                raise CodeRefused("none")
            if row["expires_at"] <= to_db(now) or row["tries"] >= CODE_TRIES:
                await conn.execute("DELETE FROM sms_codes WHERE resident_id = ?", (resident_id,))
                raise CodeRefused("expired")
            if "".join(code.split()) != row["code"]:
                await conn.execute(
                    "UPDATE sms_codes SET tries = tries + 1 WHERE resident_id = ?", (resident_id,)
                )
                raise CodeRefused("wrong", CODE_TRIES - row["tries"] - 1)
            await conn.execute("DELETE FROM sms_codes WHERE resident_id = ?", (resident_id,))
            await conn.execute(
                "UPDATE residents SET sms_phone = ?, sms_verified_at = ?, updated_at = ? "
                "WHERE id = ? AND consent_at IS NOT NULL",
                (row["phone"], to_db(now), to_db(now), resident_id),
            )
            return str(row["phone"])

    async def number_of(self, *, resident_id: int) -> str | None:
        row = await self._db.fetchone(
            "SELECT sms_phone FROM residents WHERE id = ? AND sms_verified_at IS NOT NULL",
            (resident_id,),
        )
        return None if row is None or row[0] is None else str(row[0])

    async def owner_of(self, *, phone: str) -> int | None:
        """The resident (on a chat app) whose verified SMS number this is, if any."""
        row = await self._db.fetchone(
            "SELECT id FROM residents WHERE sms_phone = ? AND sms_verified_at IS NOT NULL "
            "ORDER BY id LIMIT 1",
            (phone,),
        )
        return None if row is None else int(row[0])

    async def remove_number(self, *, resident_id: int, now: datetime) -> None:
        """No more SMS to this resident's own number; what was queued for it is cancelled."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE residents SET sms_phone = NULL, sms_verified_at = NULL, updated_at = ? "
                "WHERE id = ?",
                (to_db(now), resident_id),
            )
            await conn.execute(
                "UPDATE outbox SET status = 'cancelled', last_error = 'sms number removed', "
                "updated_at = ? WHERE channel = ? AND resident_id = ? "
                "AND status IN ('pending', 'held') AND json_extract(params, '$.sms') = 'self'",
                (to_db(now), CHANNEL, resident_id),
            )

    # --- a neighbour's number, given by the kader who registered them -----------------------

    async def set_neighbour_number(
        self, *, registration_id: int, resident_id: int, phone: str, now: datetime
    ) -> str:
        """Record the neighbour's number and the moment the kader confirmed the neighbour's
        spoken consent. Only the kader who made this proxy registration may; returns the
        neighbour's name. Raises NotFound otherwise."""
        rows = await self._db.write(
            "UPDATE registrations SET sms_phone = ?, sms_consent_at = ? "
            "WHERE id = ? AND resident_id = ? AND is_proxy = 1 "
            "AND status IN ('confirmed', 'waitlisted') RETURNING name",
            (phone, to_db(now), registration_id, resident_id),
        )
        if not rows:
            raise NotFound("registration", registration_id)
        return str(rows[0][0] or "-")

    async def check_in_by_phone(self, *, phone: str, code: str, now: datetime) -> NeighbourCheckIn:
        """Someone registered by a kader checks in from the number the kader gave for them.
        Raises WrongCode (no such event, or no registration of this number for it),
        CheckInClosed, EventCancelled."""
        async with self._db.transaction() as conn:
            event = await event_by_code(conn, code)
            registration = await conn.fetchone(
                "SELECT id, name, status, attended_at FROM registrations WHERE event_id = ? "
                "AND sms_phone = ? AND sms_consent_at IS NOT NULL "
                "AND status IN ('confirmed', 'waitlisted', 'walk_in') ORDER BY id LIMIT 1",
                (event["id"], phone),
            )
            if registration is None:
                raise WrongCode(code)
            _check_window(event, now)
            already = registration["attended_at"] is not None
            if not already:
                await conn.execute(
                    "UPDATE registrations SET attended_at = ?, waitlist_seq = NULL, status = "
                    "CASE WHEN status = 'waitlisted' THEN 'walk_in' ELSE status END WHERE id = ?",
                    (to_db(now), registration["id"]),
                )
        return NeighbourCheckIn(str(event["title"]), str(registration["name"] or "-"), already)

    # --- SMS copies of outbox rows ----------------------------------------------------------

    async def copy_to_sms(self, *, kinds: tuple[str, ...], since: datetime, now: datetime) -> int:
        """Write the SMS rows for rows of `kinds` changed since `since` whose resident has an
        SMS number or registered a neighbour with one. Returns how many rows were written or
        moved (an event that moved moves its SMS reminder too)."""
        if not kinds:
            return 0
        marks = ", ".join("?" * len(kinds))
        written = 0
        async with self._db.transaction() as conn:
            rows = list(
                await conn.fetchall(
                    "SELECT o.dedupe_key, o.kind, o.resident_id, o.event_id, o.language, o.params, "
                    "o.due_at, o.status FROM outbox o "
                    f"WHERE o.kind IN ({marks}) AND o.updated_at >= ? AND o.channel <> ? "
                    "AND o.status <> 'cancelled' AND (o.resident_id IN "
                    "(SELECT id FROM residents WHERE sms_verified_at IS NOT NULL) "
                    "OR o.resident_id IN "
                    "(SELECT resident_id FROM registrations WHERE sms_consent_at IS NOT NULL))",
                    (*kinds, to_db(since), CHANNEL),
                )
            )
            for row in rows:
                for key, phone, language, extra in await _targets(conn, row):
                    params = {**json.loads(row["params"] or "{}"), **extra}
                    priority = (
                        PRIORITY_SMS_REMINDER if row["kind"] == "reminder" else PRIORITY_PERSONAL
                    )
                    cur = await conn.execute(
                        "INSERT INTO outbox (dedupe_key, kind, channel, recipient, resident_id, "
                        "event_id, language, body, params, priority, due_at, created_at, "
                        'updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, \'{"text":"","choices":[]}\', '
                        "?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO UPDATE SET "
                        "due_at = excluded.due_at, updated_at = excluded.updated_at "
                        "WHERE outbox.status = 'pending' AND outbox.due_at <> excluded.due_at",
                        (
                            key,
                            row["kind"],
                            CHANNEL,
                            phone,
                            row["resident_id"],
                            row["event_id"],
                            language,
                            json.dumps(params, ensure_ascii=False, separators=(",", ":")),
                            priority,
                            row["due_at"],
                            to_db(now),
                            to_db(now),
                        ),
                    )
                    written += cur.rowcount
        return written


async def _targets(conn: Tx, row: Any) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(dedupe key, number, language, extra params) of the SMS copies one outbox row calls for."""
    params = json.loads(row["params"] or "{}")
    key = row["dedupe_key"]
    registration_id = params.get("registration_id")
    own = None
    if row["resident_id"] is not None:
        own = await conn.fetchone(
            "SELECT sms_phone, language FROM residents "
            "WHERE id = ? AND sms_verified_at IS NOT NULL",
            (row["resident_id"],),
        )
    if registration_id is not None:
        registration = await conn.fetchone(
            "SELECT is_proxy, sms_phone, sms_consent_at, name FROM registrations WHERE id = ?",
            (int(registration_id),),
        )
        if registration is None:
            return []
        if registration["is_proxy"]:
            if registration["sms_phone"] and registration["sms_consent_at"]:
                # A neighbour reads Indonesian: the kader's language is the kader's choice.
                return [(f"{key}:sms", registration["sms_phone"], "id", {"sms": "neighbour"})]
            return []
        return [(f"{key}:sms", own["sms_phone"], own["language"], {"sms": "self"})] if own else []
    targets = []
    if own is not None:
        targets.append((f"{key}:sms", own["sms_phone"], own["language"], {"sms": "self"}))
    if row["event_id"] is not None and row["resident_id"] is not None:
        for neighbour in await conn.fetchall(
            "SELECT id, sms_phone FROM registrations WHERE event_id = ? AND resident_id = ? "
            "AND is_proxy = 1 AND sms_consent_at IS NOT NULL AND sms_phone IS NOT NULL",
            (row["event_id"], row["resident_id"]),
        ):
            targets.append(
                (
                    f"{key}:sms:{neighbour['id']}",
                    neighbour["sms_phone"],
                    "id",
                    {"sms": "neighbour", "registration_id": neighbour["id"]},
                )
            )
    return targets


async def _scalar(conn: Tx, sql: str, params: tuple[Any, ...]) -> int:
    row = await conn.fetchone(sql, params)
    return int(row[0]) if row is not None and row[0] is not None else 0


__all__ = ["CheckInClosed", "CodeRefused", "NeighbourCheckIn", "SmsDay", "SmsRepo", "WrongCode"]
