"""Test scaffolding for reminders: registrations written straight into the table, so a test can
place them at any moment in the past (the repository stamps them with the current time)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.runtime import Runtime
from storage.clock import to_db, utcnow


async def register(
    runtime: Runtime, *, resident_id: int, event_id: int, at: datetime, status: str = "confirmed"
) -> int:
    async with runtime.storage.db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO registrations (event_id, resident_id, status, created_at, waitlist_seq) "
            "VALUES (?, ?, ?, ?, CASE WHEN ? = 'waitlisted' THEN (SELECT coalesce(max("
            "waitlist_seq), 0) + 1 FROM registrations WHERE event_id = ?) END)",
            (event_id, resident_id, status, to_db(at), status, event_id),
        )
        assert cur.lastrowid is not None
        if status == "confirmed":
            # A confirmed registration holds a seat, which the repository frees on cancel.
            await conn.execute(
                "UPDATE events SET seats_taken = seats_taken + 1 WHERE id = ?", (event_id,)
            )
        return cur.lastrowid


async def set_registration(runtime: Runtime, registration_id: int, status: str) -> None:
    # The table requires cancelled_at exactly when a registration is cancelled.
    async with runtime.storage.db.transaction() as conn:
        await conn.execute(
            "UPDATE registrations SET status = ?, "
            "cancelled_at = CASE WHEN ? = 'cancelled' THEN created_at END WHERE id = ?",
            (status, status, registration_id),
        )


async def event_at(runtime: Runtime, index: int, starts_at: datetime) -> int:
    """Move the index-th sample event to `starts_at` (open, two hours long)."""
    async with runtime.storage.db.transaction() as conn:
        row = await conn.fetchone("SELECT id FROM events ORDER BY id LIMIT 1 OFFSET ?", (index,))
        assert row is not None
        await conn.execute(
            "UPDATE events SET starts_at = ?, ends_at = ?, status = 'open' WHERE id = ?",
            (to_db(starts_at), to_db(starts_at + timedelta(hours=2)), row[0]),
        )
        return int(row[0])


async def set_event_status(runtime: Runtime, event_id: int, status: str) -> None:
    async with runtime.storage.db.transaction() as conn:
        await conn.execute("UPDATE events SET status = ? WHERE id = ?", (status, event_id))


async def resident(runtime: Runtime, user_id: int, language: str = "id") -> int:
    found = await runtime.storage.residents.ensure(
        channel="telegram", external_id=str(user_id), language=language, now=utcnow()
    )
    return found.id
