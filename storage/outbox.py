"""The outbox: producers insert rows (inside their own transaction), the delivery worker sends.

`enqueue` takes the caller's connection so a registration change and the message about it commit
or roll back together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiosqlite

from storage.clock import to_db, utcnow


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


async def enqueue(conn: aiosqlite.Connection, message: OutboxMessage) -> bool:
    """Insert unless a row with the same dedupe key exists; True if a row was added."""
    now = to_db(utcnow())
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
            to_db(message.due_at) if message.due_at else now,
            now,
            now,
        ),
    )
    return cur.rowcount == 1
