"""The rest of a UU PDP deletion (/hapusdata): every trace of one chat identity outside the
registrations (storage/registrations.py `forget_resident`) and the profile (`Residents.
delete_personal_data`), in one transaction.

What stays, and why (tests/test_reliability_deletion.py checks every table and column):
- the bare `residents` row and `whatsapp_contacts` row: the chat id itself (and the language and
  the time of the last message), without which the bot cannot answer this chat at all;
- the session row, keyed by the chat id, holding only the language chosen and the last choices;
- an update of theirs still waiting in the inbox (several instances), and the deletion request
  itself once handled, until the inbox's prune (`INBOX_KEEP`) removes it;
- staff roles, and the audit entries and announcements a staff member made as staff: work
  records of the library, removed with /cabutperan, not by a resident's deletion.

Outbox rows addressed to the person are kept as anonymous rows (the monthly figures count
delivered announcements, an announcement's progress counts its rows): recipient, resident,
event, text, parameters and the platform's message id go, and rows not yet sent are cancelled.
"""

from __future__ import annotations

import re
from datetime import datetime

from storage.clock import to_db
from storage.db import Database


def _anonymous_key(row_id: int, key: str) -> str:
    """'broadcast:{id}:{resident}' keeps its announcement prefix (progress counts rows by key
    range) and loses the resident; every other key (they hold registration or resident ids) is
    replaced."""
    if key.startswith("broadcast:"):
        broadcast = key.split(":")[1]
        return f"broadcast:{broadcast}:deleted-{row_id}"
    return f"deleted:{row_id}"


class Privacy:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def forget_identity(
        self,
        *,
        channel: str,
        external_id: str,
        resident_id: int | None,
        username: str | None,
        keep_staff_records: bool,
        now: datetime,
    ) -> None:
        identity = f"{channel}:{external_id}"
        stamp = to_db(now)
        async with self._db.transaction() as conn:
            mine = "(resident_id = ? OR (channel = ? AND recipient = ?))"
            who = (resident_id, channel, external_id)
            await conn.execute(
                "DELETE FROM whatsapp_receipts WHERE outbox_id IN "
                f"(SELECT id FROM outbox WHERE {mine}) OR external_id IN "
                f"(SELECT external_id FROM outbox WHERE {mine} AND external_id IS NOT NULL)",
                (*who, *who),
            )
            rows = await conn.fetchall(f"SELECT id, dedupe_key FROM outbox WHERE {mine}", who)
            for row_id, key in rows:
                await conn.execute(
                    "UPDATE outbox SET status = CASE WHEN status IN ('pending', 'held') "
                    "THEN 'cancelled' ELSE status END, "
                    "last_error = CASE WHEN status IN ('pending', 'held') THEN 'data deleted' "
                    "ELSE NULL END, dedupe_key = ?, recipient = '', resident_id = NULL, "
                    "event_id = NULL, body = '{}', params = '{}', external_id = NULL, "
                    "updated_at = ? WHERE id = ?",
                    (_anonymous_key(row_id, key), stamp, row_id),
                )
            # Updates as received (several instances keep them in the inbox): the handled ones
            # go; one still waiting is this very message or the next, handled as usual.
            await conn.execute(
                "DELETE FROM inbox WHERE channel = ? AND person = ? AND status = 'done'",
                (channel, external_id),
            )
            if resident_id is not None:
                # SMS (storage/sms.py): the verified number, a pending code, the ledger's rows to
                # that number (kept, unaddressed: the day's budget counts them).
                row = await conn.fetchone(
                    "SELECT sms_phone FROM residents WHERE id = ?", (resident_id,)
                )
                if row is not None and row[0]:
                    await conn.execute(
                        "UPDATE sms_sent SET recipient = '' WHERE recipient = ?", (row[0],)
                    )
                await conn.execute(
                    "UPDATE residents SET sms_phone = NULL, sms_verified_at = NULL WHERE id = ?",
                    (resident_id,),
                )
                await conn.execute("DELETE FROM sms_codes WHERE resident_id = ?", (resident_id,))
            if channel == "whatsapp":
                # Still counted against the business's daily limit, but no longer theirs.
                await conn.execute(
                    "UPDATE whatsapp_outside_reach SET phone = 'deleted:' || "
                    "lower(hex(randomblob(8))) WHERE phone = ?",
                    (external_id,),
                )
            # Staff name people in commands by id, phone or @username (the audit keeps the
            # command's words): whole-word mentions of this person become "deleted".
            names = [identity, external_id, external_id.lstrip("+")]
            if username:
                names.append(f"@{username}")
            mention = re.compile(
                "|".join(rf"(?<![\w@+]){re.escape(n)}(?!\w)" for n in names), re.IGNORECASE
            )
            where = " OR ".join(["lower(target) LIKE ? OR lower(detail) LIKE ?"] * len(names))
            candidates = await conn.fetchall(
                f"SELECT id, target, detail FROM audit_log WHERE {where}",
                [f"%{n.casefold()}%" for n in names for _ in (0, 1)],
            )
            for row_id, target, detail in candidates:
                await conn.execute(
                    "UPDATE audit_log SET target = ?, detail = ? WHERE id = ?",
                    (
                        mention.sub("deleted", target) if target else target,
                        mention.sub("deleted", detail) if detail else detail,
                        row_id,
                    ),
                )
            if not keep_staff_records:
                await conn.execute(
                    "UPDATE audit_log SET actor = 'deleted' WHERE actor = ?", (identity,)
                )
