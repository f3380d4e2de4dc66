"""An event's lifecycle as registrants must hear about it: opening, closing, finishing,
cancelling and rescheduling, each in one transaction with its outbox rows and, when staff do it
(`actor` given), its audit entry."""

from __future__ import annotations

from datetime import datetime

from storage.clock import from_db, opt_to_db, to_db
from storage.db import Database, Tx
from storage.registration_sql import (
    _event_row,
    _notify_registrants,
)
from storage.registration_types import (
    EventCancelled,
    LifecycleResult,
    RegistrationClosed,
)
from storage.staff import audit


async def _audit(
    conn: Tx,
    event_id: int,
    action: str,
    *,
    actor: str | None,
    role: str | None,
    now: datetime | None,
    detail: str = "",
) -> None:
    """The staff member's audit entry, in the change's own transaction (none without an actor:
    the content loader and tests change events too)."""
    if actor is None:
        return
    if now is None:
        raise ValueError("an audited change needs its moment")
    await audit(
        conn,
        actor=actor,
        role=role,
        action=action,
        target=f"event:{event_id}",
        detail=detail,
        now=now,
    )


class EventLifecycle:
    _db: Database

    async def open_event(
        self,
        *,
        event_id: int,
        opens_at: datetime | None = None,
        closes_at: datetime | None = None,
        actor: str | None = None,
        role: str | None = None,
        now: datetime | None = None,
    ) -> LifecycleResult:
        """Draft or closed → open, optionally only from/until a moment."""
        return await self._set_status(
            event_id,
            "open",
            allowed=("draft", "open", "closed"),
            extra="registration_opens_at = ?, registration_closes_at = ?",
            params=(opt_to_db(opens_at), opt_to_db(closes_at)),
            by=(actor, role, now),
        )

    async def close_event(
        self,
        *,
        event_id: int,
        actor: str | None = None,
        role: str | None = None,
        now: datetime | None = None,
    ) -> LifecycleResult:
        """Registration closed; registrants keep their seats."""
        return await self._set_status(
            event_id, "closed", allowed=("open", "closed"), by=(actor, role, now)
        )

    async def finish_event(
        self,
        *,
        event_id: int,
        actor: str | None = None,
        role: str | None = None,
        now: datetime | None = None,
    ) -> LifecycleResult:
        return await self._set_status(
            event_id, "finished", allowed=("open", "closed", "finished"), by=(actor, role, now)
        )

    async def cancel_event(self, *, event_id: int, now: datetime) -> LifecycleResult:
        """Cancel the event and tell every registrant through the outbox, in one transaction.
        Their registrations are left as they were, so the numbers still show who was affected."""
        async with self._db.transaction() as conn:
            event = await _event_row(conn, event_id)
            if event["status"] == "cancelled":
                return LifecycleResult(event_id, "cancelled", 0)
            if event["status"] == "finished":
                raise RegistrationClosed()
            await conn.execute("UPDATE events SET status = 'cancelled' WHERE id = ?", (event_id,))
            notified = await _notify_registrants(
                conn,
                event_id,
                kind="event_cancelled",
                key=f"event_cancelled:{event_id}",
                params={"event_id": event_id},
                now=now,
            )
            return LifecycleResult(event_id, "cancelled", notified)

    async def reschedule_event(
        self,
        *,
        event_id: int,
        starts_at: datetime,
        ends_at: datetime,
        now: datetime,
        actor: str | None = None,
        role: str | None = None,
    ) -> LifecycleResult:
        """Move the event and tell every registrant (one message per new time)."""
        if ends_at <= starts_at:
            raise ValueError("the event must end after it starts")
        async with self._db.transaction() as conn:
            event = await _event_row(conn, event_id)
            if event["status"] in ("cancelled", "finished"):
                raise RegistrationClosed()
            old = event["starts_at"]
            await conn.execute(
                "UPDATE events SET starts_at = ?, ends_at = ? WHERE id = ?",
                (to_db(starts_at), to_db(ends_at), event_id),
            )
            notified = 0
            if old != to_db(starts_at) or event["ends_at"] != to_db(ends_at):
                notified = await _notify_registrants(
                    conn,
                    event_id,
                    kind="event_changed",
                    key=f"event_changed:{event_id}:{to_db(starts_at)}",
                    params={"event_id": event_id, "old_starts_at": old},
                    now=now,
                )
            await _audit(
                conn,
                event_id,
                "event.time",
                actor=actor,
                role=role,
                now=now,
                detail=f"{from_db(old).isoformat()} -> {starts_at.isoformat()}; {notified} told",
            )
            return LifecycleResult(event_id, event["status"], notified)

    async def _set_status(
        self,
        event_id: int,
        status: str,
        *,
        allowed: tuple[str, ...],
        extra: str = "",
        params: tuple[object, ...] = (),
        by: tuple[str | None, str | None, datetime | None] = (None, None, None),
    ) -> LifecycleResult:
        async with self._db.transaction() as conn:
            event = await _event_row(conn, event_id)
            if event["status"] not in allowed:
                if event["status"] == "cancelled":
                    raise EventCancelled(f"event {event_id} is cancelled")
                raise RegistrationClosed()
            assignments = "status = ?" + (f", {extra}" if extra else "")
            await conn.execute(
                f"UPDATE events SET {assignments} WHERE id = ?", (status, *params, event_id)
            )
            actor, role, now = by
            action = {"open": "event.open", "closed": "event.close"}.get(status, "event.finish")
            await _audit(conn, event_id, action, actor=actor, role=role, now=now)
            return LifecycleResult(event_id, status, 0)
