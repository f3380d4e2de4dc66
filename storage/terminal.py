"""What the terminal chat needs of the outbox besides the worker: how many messages wait for
people other than the one chatting (the terminal cannot deliver those)."""

from __future__ import annotations

from storage.db import Database


async def pending_for_others(db: Database, *, channel: str, recipient: str) -> int:
    """Messages queued (pending, due or later) for anyone but (channel, recipient); command
    menu updates are no messages."""
    row = await db.fetchone(
        "SELECT count(*) FROM outbox WHERE status = 'pending' AND kind <> 'staff_menu' "
        "AND NOT (channel = ? AND recipient = ?)",
        (channel, recipient),
    )
    return 0 if row is None else int(row[0])
