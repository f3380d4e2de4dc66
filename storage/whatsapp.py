"""WhatsApp channel state: the 24-hour window, seen message ids, the outside-window reach limit,
long-list pages and delivery receipts. The channel builds this repository over the shared
database; nothing here knows about HTTP or Meta's payloads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.clock import from_db, opt_from_db, to_db
from storage.db import Database
from storage.errors import StorageError

WINDOW = timedelta(hours=24)
# Meta retries an unacknowledged webhook for up to about a week; ids older than that cannot
# come back, so keeping them only grows the table.
SEEN_KEEP = timedelta(days=8)
# A later status never replaces a further one: receipts can arrive out of order.
_STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}


# Long enough for any worker to store the message id on its outbox row after the send returns.
UNMATCHED_KEEP = timedelta(days=2)


class DailyLimitReached(StorageError):
    """The business already reached its limit of people outside their window in 24 hours."""

    def __init__(self, limit: int, frees_at: datetime) -> None:
        super().__init__(f"{limit} people reached outside their window in 24 hours")
        self.limit = limit
        self.frees_at = frees_at


@dataclass(frozen=True, slots=True)
class ListPages:
    list_key: str
    language: str
    choices: tuple[tuple[str, str], ...]
    page: int = 0  # the page last shown, so a typed "Lainnya" knows which one comes next


@dataclass(frozen=True, slots=True)
class Receipt:
    external_id: str
    outbox_id: int | None  # None: not (yet) matched to an outbox row
    status: str
    error: str | None


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

    async def reserve_outside_reach(self, *, phone: str, now: datetime, limit: int) -> bool:
        """Count `phone` among the people reached outside their window in the last 24 hours.

        Returns True when this added a person (so a failed send can give the place back), False
        when the person was already counted in the period. Raises DailyLimitReached when the
        limit is full; check and insert happen in one transaction, so two senders cannot both
        take the last place."""
        since = to_db(now - WINDOW)
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT reached_at FROM whatsapp_outside_reach WHERE phone = ?", (phone,)
            ) as cur:
                row = await cur.fetchone()
            if row is not None and row["reached_at"] >= since:
                return False
            async with conn.execute(
                "SELECT count(*) AS n, min(reached_at) AS oldest FROM whatsapp_outside_reach "
                "WHERE reached_at >= ?",
                (since,),
            ) as cur:
                counted = await cur.fetchone()
            if counted is not None and counted["n"] >= limit:
                raise DailyLimitReached(limit, from_db(counted["oldest"]) + WINDOW)
            await conn.execute(
                "INSERT INTO whatsapp_outside_reach (phone, reached_at) VALUES (?, ?) "
                "ON CONFLICT (phone) DO UPDATE SET reached_at = excluded.reached_at",
                (phone, to_db(now)),
            )
            await conn.execute("DELETE FROM whatsapp_outside_reach WHERE reached_at < ?", (since,))
            return True

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

    async def save_pages(
        self,
        *,
        phone: str,
        list_key: str,
        language: str,
        choices: list[tuple[str, str]],
        now: datetime,
    ) -> None:
        # The `choices` column holds {"page": n, "choices": [[label, payload], ...]}; the page
        # rides in the JSON rather than a new column (rows written before held the bare list).
        stored = json.dumps({"page": 0, "choices": choices}, ensure_ascii=False)
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO whatsapp_list_pages (phone, list_key, language, choices, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (phone) DO UPDATE SET "
                "list_key = excluded.list_key, language = excluded.language, "
                "choices = excluded.choices, updated_at = excluded.updated_at",
                (phone, list_key, language, stored, to_db(now)),
            )

    async def show_page(self, *, phone: str, list_key: str, page: int, now: datetime) -> None:
        """Remember that `page` of the list `list_key` is now the one on the person's screen."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE whatsapp_list_pages SET choices = json_set(choices, '$.page', ?), "
                "updated_at = ? WHERE phone = ? AND list_key = ? "
                "AND json_type(choices) = 'object'",
                (page, to_db(now), phone, list_key),
            )

    async def load_pages(self, *, phone: str) -> ListPages | None:
        row = await self._db.fetchone(
            "SELECT list_key, language, choices FROM whatsapp_list_pages WHERE phone = ?", (phone,)
        )
        if row is None:
            return None
        stored = json.loads(row["choices"])
        page = 0
        if isinstance(stored, dict):
            page, stored = int(stored.get("page", 0)), stored.get("choices", [])
        choices = tuple((str(label), str(payload)) for label, payload in stored)
        return ListPages(row["list_key"], row["language"], choices, page)

    async def record_status(
        self, *, external_id: str, status: str, at: datetime, error: str | None = None
    ) -> bool:
        """Record a delivery receipt for the message WhatsApp knows as `external_id`.

        True when it belongs to a WhatsApp outbox row. A failed receipt also fails that row,
        with the reason, so it shows in `pustaka outbox` instead of passing for delivered.
        Receipts of replies (not outbox rows), or of a row whose id the worker has not stored
        yet, are kept for UNMATCHED_KEEP and then pruned."""
        if status not in _STATUS_RANK:
            raise ValueError(f"unknown delivery status {status!r}")
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM whatsapp_receipts WHERE outbox_id IS NULL AND updated_at < ?",
                (to_db(at - UNMATCHED_KEEP),),
            )
            async with conn.execute(
                "SELECT id FROM outbox WHERE external_id = ? AND channel = 'whatsapp'",
                (external_id,),
            ) as cur:
                row = await cur.fetchone()
            outbox_id = int(row["id"]) if row is not None else None
            async with conn.execute(
                "SELECT status FROM whatsapp_receipts WHERE external_id = ?", (external_id,)
            ) as cur:
                known = await cur.fetchone()
            if known is None or _STATUS_RANK[known["status"]] < _STATUS_RANK[status]:
                await conn.execute(
                    "INSERT INTO whatsapp_receipts "
                    "(external_id, outbox_id, status, error, updated_at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (external_id) DO UPDATE SET outbox_id = excluded.outbox_id, "
                    "status = excluded.status, error = excluded.error, "
                    "updated_at = excluded.updated_at",
                    (external_id, outbox_id, status, error, to_db(at)),
                )
                if status == "failed" and outbox_id is not None:
                    await conn.execute(
                        "UPDATE outbox SET status = 'failed', last_error = ?, updated_at = ? "
                        "WHERE id = ?",
                        (f"whatsapp: {error or 'delivery failed'}", to_db(at), outbox_id),
                    )
            elif outbox_id is not None:
                await conn.execute(
                    "UPDATE whatsapp_receipts SET outbox_id = ? WHERE external_id = ?",
                    (outbox_id, external_id),
                )
            return outbox_id is not None

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
