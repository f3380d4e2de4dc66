"""WhatsApp channel state: who a person is (phone and business-scoped user id), the 24-hour
window, seen message ids, the outside-window reach limit, delivery receipts and what a late
failure does to its outbox row, marketing opt-outs, the account-wide pause and its alert to the
operators, uploaded photos. The wiring hands it to the channel, which knows it only as the
protocol it declares (bot/channels/whatsapp_state.py); nothing here knows about HTTP or Meta's
payloads.

The `phone` parameters and columns of the older tables hold the person's identity (see
whatsapp_identities in migration 0007): their phone number for everyone who first wrote with one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.clock import from_db, opt_from_db, to_db
from storage.db import Database, Tx
from storage.outbox import PRIORITY_PERSONAL, OutboxMessage, OutboxRepo, enqueue

WINDOW = timedelta(hours=24)
# Meta retries an unacknowledged webhook for up to about a week; ids older than that cannot
# come back, so keeping them only grows the table.
SEEN_KEEP = timedelta(days=8)
# A later status never replaces a further one: receipts can arrive out of order.
_STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}


# Long enough for any worker to store the message id on its outbox row after the send returns.
UNMATCHED_KEEP = timedelta(days=2)
# Meta keeps uploaded media 30 days; a day less leaves room for a send in progress.
UPLOAD_KEEP = timedelta(days=29)


@dataclass(frozen=True, slots=True)
class OutsideReach:
    """A place among the people reached outside their window in 24 hours: `added` when this
    took a new place (a failed send gives it back), `full_until` when none was left (the
    oldest place frees then)."""

    added: bool
    full_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    external_id: str
    outbox_id: int | None  # None: not (yet) matched to an outbox row
    status: str
    error: str | None


@dataclass(frozen=True, slots=True)
class Address:
    """Where a WhatsApp identity is reached: `to` its phone, else `recipient` its user id."""

    identity: str
    phone: str | None
    user_id: str | None
    marketing_stopped: bool = False


@dataclass(frozen=True, slots=True)
class FailedRow:
    """The outbox row a `failed` receipt belongs to, for the channel to decide what happens."""

    id: int
    recipient: str
    resident_id: int | None
    kind: str
    attempts: int


@dataclass(frozen=True, slots=True)
class AccountPause:
    until: datetime
    code: int | None
    reason: str
    since: datetime


class WhatsAppRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim_message(self, *, message_id: str, now: datetime) -> bool:
        """True the first time this message id is seen, False for a re-delivery."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM whatsapp_seen_messages WHERE seen_at < ?", (to_db(now - SEEN_KEEP),)
            )
            cur = await conn.execute(
                "INSERT INTO whatsapp_seen_messages (message_id, seen_at) VALUES (?, ?) "
                "ON CONFLICT (message_id) DO NOTHING",
                (message_id, to_db(now)),
            )
            return cur.rowcount == 1

    async def record_inbound(self, *, phone: str, at: datetime) -> None:
        """The person wrote at `at`; an older, late-delivered message never shortens the window.
        Their window is open again, so rows held for lack of a template may go now."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO whatsapp_contacts (phone, last_inbound_at) VALUES (?, ?) "
                "ON CONFLICT (phone) DO UPDATE SET last_inbound_at = "
                "max(whatsapp_contacts.last_inbound_at, excluded.last_inbound_at)",
                (phone, to_db(at)),
            )
            await conn.execute(
                "UPDATE outbox SET status = 'pending', due_at = ?, updated_at = ? "
                "WHERE status = 'held' AND channel = 'whatsapp' AND recipient = ?",
                (to_db(at), to_db(at), phone),
            )

    async def last_inbound(self, *, phone: str) -> datetime | None:
        row = await self._db.fetchone(
            "SELECT last_inbound_at FROM whatsapp_contacts WHERE phone = ?", (phone,)
        )
        return opt_from_db(row["last_inbound_at"] if row else None)

    async def in_window(self, *, phone: str, now: datetime) -> bool:
        last = await self.last_inbound(phone=phone)
        return last is not None and now - last < WINDOW

    async def reserve_outside_reach(self, *, phone: str, now: datetime, limit: int) -> OutsideReach:
        """Count `phone` among the people reached outside their window in the last 24 hours.

        Check and insert happen in one transaction, so two senders cannot both take the last
        place."""
        since = to_db(now - WINDOW)
        async with self._db.transaction() as conn:
            row = await conn.fetchone(
                "SELECT reached_at FROM whatsapp_outside_reach WHERE phone = ?", (phone,)
            )
            if row is not None and row["reached_at"] >= since:
                return OutsideReach(added=False)
            counted = await conn.fetchone(
                "SELECT count(*) AS n, min(reached_at) AS oldest FROM whatsapp_outside_reach "
                "WHERE reached_at >= ?",
                (since,),
            )
            if counted is not None and counted["n"] >= limit:
                return OutsideReach(False, full_until=from_db(counted["oldest"]) + WINDOW)
            await conn.execute(
                "INSERT INTO whatsapp_outside_reach (phone, reached_at) VALUES (?, ?) "
                "ON CONFLICT (phone) DO UPDATE SET reached_at = excluded.reached_at",
                (phone, to_db(now)),
            )
            await conn.execute("DELETE FROM whatsapp_outside_reach WHERE reached_at < ?", (since,))
            return OutsideReach(added=True)

    async def release_outside_reach(self, *, phone: str) -> None:
        """The message that took the place was not sent after all."""
        async with self._db.transaction() as conn:
            await conn.execute("DELETE FROM whatsapp_outside_reach WHERE phone = ?", (phone,))

    async def outside_reach_count(self, *, now: datetime) -> int:
        row = await self._db.fetchone(
            "SELECT count(*) FROM whatsapp_outside_reach WHERE reached_at >= ?",
            (to_db(now - WINDOW),),
        )
        return int(row[0]) if row else 0

    async def record_status(
        self, *, external_id: str, status: str, at: datetime, error: str | None = None
    ) -> FailedRow | None:
        """Record a delivery receipt for the message WhatsApp knows as `external_id`.

        A `failed` receipt of an outbox row returns that row: the channel classifies the error
        as it would a refused send and moves the row accordingly (late_failure), so a failure
        reported later is handled like the same failure reported at once. Receipts of replies
        (not outbox rows), or of a row whose id the worker has not stored yet, are kept for
        UNMATCHED_KEEP and then pruned."""
        if status not in _STATUS_RANK:
            raise ValueError(f"unknown delivery status {status!r}")
        failed: FailedRow | None = None
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM whatsapp_receipts WHERE outbox_id IS NULL AND updated_at < ?",
                (to_db(at - UNMATCHED_KEEP),),
            )
            row = await conn.fetchone(
                "SELECT id, recipient, resident_id, kind, attempts FROM outbox "
                "WHERE external_id = ? AND channel = 'whatsapp'",
                (external_id,),
            )
            outbox_id = int(row["id"]) if row is not None else None
            known = await conn.fetchone(
                "SELECT status FROM whatsapp_receipts WHERE external_id = ?", (external_id,)
            )
            if known is None or _STATUS_RANK[known["status"]] < _STATUS_RANK[status]:
                await conn.execute(
                    "INSERT INTO whatsapp_receipts "
                    "(external_id, outbox_id, status, error, updated_at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (external_id) DO UPDATE SET outbox_id = excluded.outbox_id, "
                    "status = excluded.status, error = excluded.error, "
                    "updated_at = excluded.updated_at",
                    (external_id, outbox_id, status, error, to_db(at)),
                )
                if status == "failed" and row is not None:
                    failed = FailedRow(
                        int(row["id"]),
                        row["recipient"],
                        row["resident_id"],
                        row["kind"],
                        int(row["attempts"]),
                    )
            elif outbox_id is not None:
                await conn.execute(
                    "UPDATE whatsapp_receipts SET outbox_id = ? WHERE external_id = ?",
                    (outbox_id, external_id),
                )
        return failed

    async def late_failure(
        self,
        *,
        outbox_id: int,
        status: str,
        reason: str,
        at: datetime,
        due_at: datetime | None = None,
        count_attempt: bool = True,
    ) -> None:
        """What a failure reported after the send does to the row the worker marked sent:
        `pending` again (due at `due_at`), `held` (outside the window), `failed` or
        `cancelled`. Only a row still `sent` moves: one failure is acted on once."""
        if status not in ("pending", "held", "failed", "cancelled"):
            raise ValueError(status)
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET status = ?, due_at = coalesce(?, due_at), last_error = ?, "
                "attempts = attempts + ?, external_id = CASE WHEN ? = 'pending' THEN NULL "
                "ELSE external_id END, updated_at = ? WHERE id = ? AND status = 'sent'",
                (
                    status,
                    to_db(due_at) if due_at is not None else None,
                    # A plain "unreachable" is what the reminder sync revives once they write.
                    reason if reason == "unreachable" else f"whatsapp: {reason}"[:500],
                    1 if count_attempt and status == "pending" else 0,
                    status,
                    to_db(at),
                    outbox_id,
                ),
            )

    async def late_unreachable(
        self, *, outbox_id: int, recipient: str, resident_id: int | None, at: datetime
    ) -> None:
        """A sent row's late failure says the person blocked us: the row is cancelled and the
        person flagged, with everything else waiting for them (OutboxRepo.mark_unreachable)."""
        await self.late_failure(
            outbox_id=outbox_id, status="cancelled", reason="unreachable", at=at
        )
        await OutboxRepo(self._db).mark_unreachable(
            channel="whatsapp", recipient=recipient, resident_id=resident_id, now=at
        )

    # --- who a person is ---------------------------------------------------------------------

    async def resolve_identity(
        self, *, phone: str | None, user_id: str | None, now: datetime
    ) -> str:
        """The identity of whoever wrote with this phone number and/or business-scoped user id.

        Known by either: that identity, with the other identifier added. Known by neither: a new
        identity, the phone number when there is one (so residents who wrote before user ids
        existed keep theirs), else the user id. A phone number or user id now seen with another
        person (a recycled number) is taken from the old holder."""
        if phone is None and user_id is None:
            raise ValueError("a WhatsApp sender has a phone number or a user id")
        async with self._db.transaction() as conn:
            found = None
            for column, value in (("user_id", user_id), ("phone", phone)):
                if value is None:
                    continue
                found = await conn.fetchone(
                    f"SELECT identity, phone, user_id FROM whatsapp_identities WHERE {column} = ?",
                    (value,),
                )
                if found is not None:
                    break
            identity = found["identity"] if found is not None else (phone or user_id)
            assert identity is not None
            await _claim(conn, identity, phone=phone, user_id=user_id, now=now)
            return str(identity)

    async def change_number(
        self,
        *,
        old_phone: str | None,
        old_user_id: str | None,
        new_phone: str | None,
        new_user_id: str | None,
        now: datetime,
    ) -> str | None:
        """`user_changed_number`: the same person now has `new_phone` (and a new user id).
        Returns their identity, or None when we never knew them."""
        async with self._db.transaction() as conn:
            found = None
            for column, value in (("user_id", old_user_id), ("phone", old_phone)):
                if value is None:
                    continue
                found = await conn.fetchone(
                    f"SELECT identity FROM whatsapp_identities WHERE {column} = ?", (value,)
                )
                if found is not None:
                    break
            if found is None and old_phone is not None:
                # Wrote before identities were recorded: their identity is their old number.
                found = await conn.fetchone(
                    "SELECT phone AS identity FROM whatsapp_contacts WHERE phone = ?", (old_phone,)
                )
            if found is None:
                return None
            identity = str(found["identity"])
            await _claim(conn, identity, phone=new_phone, user_id=new_user_id, now=now)
            return identity

    async def address(self, *, identity: str) -> Address:
        """Where to send to `identity`. One never recorded is a phone number (rows queued for
        people who wrote before identities were recorded) or a user id."""
        row = await self._db.fetchone(
            "SELECT identity, phone, user_id, marketing_stopped_at FROM whatsapp_identities "
            "WHERE identity = ?",
            (identity,),
        )
        if row is None:
            if identity.startswith("+"):
                return Address(identity, identity, None)
            return Address(identity, None, identity)
        return Address(
            row["identity"], row["phone"], row["user_id"], row["marketing_stopped_at"] is not None
        )

    async def set_marketing(self, *, identity: str, stopped: bool, at: datetime) -> None:
        """The person stopped (or resumed) marketing messages from us in WhatsApp."""
        async with self._db.transaction() as conn:
            # Someone who wrote before identities were recorded: their identity is their number.
            await conn.execute(
                "INSERT INTO whatsapp_identities (identity, phone, user_id, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    identity,
                    identity if identity.startswith("+") else None,
                    None if identity.startswith("+") else identity,
                    to_db(at),
                ),
            )
            await conn.execute(
                "UPDATE whatsapp_identities SET marketing_stopped_at = ?, updated_at = ? "
                "WHERE identity = ?",
                (to_db(at) if stopped else None, to_db(at), identity),
            )

    # --- the account-wide pause and the operators' alert ---------------------------------------

    async def pause_account(
        self, *, until: datetime, code: int | None, reason: str, now: datetime
    ) -> bool:
        """Pause every WhatsApp send until `until`. True when this starts a pause (nothing was
        paused at `now`): the caller alerts the operators once per pause."""
        async with self._db.transaction() as conn:
            row = await conn.fetchone(
                "SELECT paused_until FROM whatsapp_account_pause WHERE id = 1"
            )
            fresh = row is None or from_db(row["paused_until"]) <= now
            await conn.execute(
                "INSERT INTO whatsapp_account_pause (id, paused_until, code, reason, since) "
                "VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "paused_until = max(paused_until, excluded.paused_until), code = excluded.code, "
                "reason = excluded.reason, "
                "since = CASE WHEN ? THEN excluded.since ELSE since END",
                (to_db(until), code, reason[:500], to_db(now), fresh),
            )
            return fresh

    async def account_pause(self, *, now: datetime) -> AccountPause | None:
        row = await self._db.fetchone(
            "SELECT paused_until, code, reason, since FROM whatsapp_account_pause WHERE id = 1"
        )
        if row is None or from_db(row["paused_until"]) <= now:
            return None
        return AccountPause(
            from_db(row["paused_until"]), row["code"], row["reason"], from_db(row["since"])
        )

    async def alert_admins(
        self, *, key: str, texts: dict[str, str], now: datetime, skip_channel: str
    ) -> int:
        """Queue `texts` (by language) to every admin not on `skip_channel` (the paused one),
        once per `key`. Returns how many rows were queued."""
        rows = await self._db.fetchall(
            "SELECT s.channel, s.external_id, r.id AS resident_id, r.language "
            "FROM staff_roles s LEFT JOIN residents r "
            "ON r.channel = s.channel AND r.external_id = s.external_id "
            "WHERE s.role = 'admin' AND s.channel != ? ORDER BY s.channel, s.external_id",
            (skip_channel,),
        )
        added = 0
        async with self._db.transaction() as conn:
            for row in rows:
                language = row["language"] if row["language"] in texts else "id"
                added += await enqueue(
                    conn,
                    OutboxMessage(
                        dedupe_key=f"ops:{key}:{row['channel']}:{row['external_id']}",
                        kind="ops_alert",
                        channel=row["channel"],
                        recipient=row["external_id"],
                        text=texts[language],
                        resident_id=row["resident_id"],
                        language=language,
                        priority=PRIORITY_PERSONAL,
                        due_at=now,
                    ),
                    now=now,
                )
        return added

    # --- uploaded photos -----------------------------------------------------------------------

    async def uploaded(self, *, source: str, now: datetime) -> str | None:
        """The media id of `source` uploaded in the last UPLOAD_KEEP, or None."""
        row = await self._db.fetchone(
            "SELECT media_id FROM whatsapp_uploads WHERE source = ? AND uploaded_at >= ?",
            (source, to_db(now - UPLOAD_KEEP)),
        )
        return str(row["media_id"]) if row else None

    async def remember_upload(self, *, source: str, media_id: str, now: datetime) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO whatsapp_uploads (source, media_id, uploaded_at) VALUES (?, ?, ?) "
                "ON CONFLICT (source) DO UPDATE SET media_id = excluded.media_id, "
                "uploaded_at = excluded.uploaded_at",
                (source, media_id, to_db(now)),
            )

    async def receipt_for_outbox(self, *, outbox_id: int) -> Receipt | None:
        """The latest receipt of an outbox row, also when it arrived before the row had its id."""
        row = await self._db.fetchone(
            "SELECT r.external_id, o.id AS outbox_id, r.status, r.error "
            "FROM outbox o JOIN whatsapp_receipts r ON r.external_id = o.external_id "
            "WHERE o.id = ?",
            (outbox_id,),
        )
        if row is None:
            return None
        return Receipt(row["external_id"], row["outbox_id"], row["status"], row["error"])

    async def receipt(self, *, external_id: str) -> Receipt | None:
        row = await self._db.fetchone(
            "SELECT external_id, outbox_id, status, error FROM whatsapp_receipts "
            "WHERE external_id = ?",
            (external_id,),
        )
        if row is None:
            return None
        return Receipt(row["external_id"], row["outbox_id"], row["status"], row["error"])


async def _claim(
    conn: Tx,
    identity: str,
    *,
    phone: str | None,
    user_id: str | None,
    now: datetime,
) -> None:
    """Record `identity` with this phone / user id (when given), taking either from another
    identity that held it before (a number given to someone else, an id reassigned)."""
    for column, value in (("phone", phone), ("user_id", user_id)):
        if value is not None:
            await conn.execute(
                f"UPDATE whatsapp_identities SET {column} = NULL, updated_at = ? "
                f"WHERE {column} = ? AND identity != ?",
                (to_db(now), value, identity),
            )
    await conn.execute(
        "INSERT INTO whatsapp_identities (identity, phone, user_id, updated_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (identity) DO UPDATE SET "
        "phone = coalesce(excluded.phone, phone), user_id = coalesce(excluded.user_id, user_id), "
        "updated_at = excluded.updated_at",
        (identity, phone, user_id, to_db(now)),
    )
