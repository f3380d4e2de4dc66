"""Staff roles and their scope, the audit log, usernames, and residents' topic subscriptions.

A role is one row per chat identity. Scope rules live on `StaffRole` so every handler asks the
same questions ("does this role cover that regency / event / library?") the same way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.clock import from_db, to_db, utcnow
from storage.db import Database, Tx
from storage.errors import NotFound, StorageError
from storage.models import Event

ROLES = ("admin", "coordinator", "librarian")
CONFIG = "config"


class ConfigAdmin(StorageError):
    """Admins named in PUSTAKA_ADMINS come back at every start-up: they are changed there."""


@dataclass(frozen=True, slots=True)
class StaffRole:
    channel: str
    external_id: str
    role: str  # admin | coordinator | librarian
    regency_code: str | None  # coordinator's regency (None: whole province)
    library_id: int | None  # librarian's library
    library_name: str | None
    library_regency: str | None
    granted_by: str
    granted_at: datetime

    @property
    def actor(self) -> str:
        return f"{self.channel}:{self.external_id}"

    @property
    def province_wide(self) -> bool:
        return self.role == "admin" or (self.role == "coordinator" and self.regency_code is None)

    @property
    def regency(self) -> str | None:
        """The one regency this role is limited to, or None for the whole province."""
        if self.role == "librarian":
            return self.library_regency
        return None if self.province_wide else self.regency_code

    def covers_regency(self, code: str | None) -> bool:
        return self.province_wide or (code is not None and code == self.regency)

    def covers_event(self, event: Event) -> bool:
        if self.role == "librarian":
            return event.library_id == self.library_id
        return self.covers_regency(event.regency_code)

    def manages_library(self, library_id: int) -> bool:
        """Who may create and change a library's events: its librarian, and admins."""
        return self.role == "admin" or (self.role == "librarian" and self.library_id == library_id)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    role: str | None
    action: str
    target: str | None
    detail: str


_ROLE_SELECT = (
    "SELECT s.channel, s.external_id, s.role, s.regency_code, s.library_id, s.granted_by, "
    "s.granted_at, l.name AS library_name, l.regency_code AS library_regency "
    "FROM staff_roles s LEFT JOIN libraries l ON l.id = s.library_id"
)


def _role(row: Any) -> StaffRole:
    return StaffRole(
        channel=row["channel"],
        external_id=row["external_id"],
        role=row["role"],
        regency_code=row["regency_code"],
        library_id=row["library_id"],
        library_name=row["library_name"],
        library_regency=row["library_regency"],
        granted_by=row["granted_by"],
        granted_at=from_db(row["granted_at"]),
    )


async def audit(
    conn: Tx,
    *,
    actor: str,
    role: str | None,
    action: str,
    target: str | None = None,
    detail: str = "",
    now: datetime | None = None,
) -> None:
    """Record one staff action inside the caller's transaction, so the change and its trace
    commit or roll back together."""
    await conn.execute(
        "INSERT INTO audit_log (at, actor, role, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
        (to_db(now or utcnow()), actor, role, action, target, detail[:500]),
    )


class Staff:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def role_of(self, *, channel: str, external_id: str) -> StaffRole | None:
        row = await self._db.fetchone(
            f"{_ROLE_SELECT} WHERE s.channel = ? AND s.external_id = ?", (channel, external_id)
        )
        return None if row is None else _role(row)

    async def roles(self, *, offset: int = 0, limit: int = 20) -> tuple[list[StaffRole], int]:
        rows = await self._db.fetchall(
            _ROLE_SELECT.replace(" FROM ", ", count(*) OVER () AS total FROM ", 1) + " "
            "ORDER BY CASE s.role WHEN 'admin' THEN 0 WHEN 'coordinator' THEN 1 ELSE 2 END, "
            "s.regency_code, l.name, s.external_id LIMIT ? OFFSET ?",
            (limit, offset),
        )
        total = rows[0]["total"] if rows else 0
        return [_role(r) for r in rows], total

    async def seed_admins(self, admins: Sequence[tuple[str, str]]) -> None:
        """Make the configured ids admins, and drop config admins no longer configured."""
        now = to_db(utcnow())
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM staff_roles WHERE granted_by = ? AND channel || ':' || external_id "
                "NOT IN (SELECT value FROM json_each(?))",
                (CONFIG, json.dumps([f"{c}:{u}" for c, u in admins])),
            )
            for channel, user_id in admins:
                await conn.execute(
                    "INSERT INTO staff_roles (channel, external_id, role, regency_code, "
                    "library_id, granted_by, granted_at) VALUES (?, ?, 'admin', NULL, NULL, ?, ?) "
                    "ON CONFLICT (channel, external_id) DO UPDATE SET role = 'admin', "
                    "regency_code = NULL, library_id = NULL, granted_by = excluded.granted_by",
                    (channel, user_id, CONFIG, now),
                )

    async def grant(
        self,
        *,
        by: StaffRole,
        channel: str,
        external_id: str,
        role: str,
        regency_code: str | None = None,
        library_id: int | None = None,
        now: datetime | None = None,
    ) -> StaffRole:
        if role not in ROLES:
            raise ValueError(role)
        stamp = to_db(now or utcnow())
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT granted_by FROM staff_roles WHERE channel = ? AND external_id = ?",
                (channel, external_id),
            ) as cur:
                row = await cur.fetchone()
            if row is not None and row[0] == CONFIG:
                raise ConfigAdmin(f"{channel}:{external_id}")
            await conn.execute(
                "INSERT INTO staff_roles (channel, external_id, role, regency_code, library_id, "
                "granted_by, granted_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (channel, external_id) DO UPDATE SET role = excluded.role, "
                "regency_code = excluded.regency_code, library_id = excluded.library_id, "
                "granted_by = excluded.granted_by, granted_at = excluded.granted_at",
                (channel, external_id, role, regency_code, library_id, by.actor, stamp),
            )
            scope = regency_code or (f"library:{library_id}" if library_id else "province")
            await audit(
                conn,
                actor=by.actor,
                role=by.role,
                action="role.grant",
                target=f"{channel}:{external_id}",
                detail=f"{role} {scope}",
                now=now,
            )
        granted = await self.role_of(channel=channel, external_id=external_id)
        assert granted is not None
        return granted

    async def revoke(
        self, *, by: StaffRole, channel: str, external_id: str, now: datetime | None = None
    ) -> StaffRole:
        async with self._db.transaction() as conn:
            async with conn.execute(
                f"{_ROLE_SELECT} WHERE s.channel = ? AND s.external_id = ?", (channel, external_id)
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                raise NotFound("staff role", f"{channel}:{external_id}")
            old = _role(row)
            if old.granted_by == CONFIG:
                raise ConfigAdmin(old.actor)
            await conn.execute(
                "DELETE FROM staff_roles WHERE channel = ? AND external_id = ?",
                (channel, external_id),
            )
            await audit(
                conn,
                actor=by.actor,
                role=by.role,
                action="role.revoke",
                target=old.actor,
                detail=old.role,
                now=now,
            )
        return old

    async def record(
        self,
        *,
        actor: str,
        role: str | None,
        action: str,
        target: str | None = None,
        detail: str = "",
        now: datetime | None = None,
    ) -> None:
        """An audit entry on its own (a read, or a refusal), in its own short transaction."""
        async with self._db.transaction() as conn:
            await audit(
                conn, actor=actor, role=role, action=action, target=target, detail=detail, now=now
            )

    async def audit_entries(
        self, *, offset: int = 0, limit: int = 10
    ) -> tuple[list[AuditEntry], int]:
        rows = await self._db.fetchall(
            "SELECT id, at, actor, role, action, target, detail, "
            "(SELECT count(*) FROM audit_log) AS total FROM audit_log "
            "ORDER BY id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        total = rows[0]["total"] if rows else 0
        return [
            AuditEntry(
                id=r["id"],
                at=from_db(r["at"]),
                actor=r["actor"],
                role=r["role"],
                action=r["action"],
                target=r["target"],
                detail=r["detail"],
            )
            for r in rows
        ], total

    async def find_username(self, *, channel: str, username: str) -> str | None:
        """The chat id of someone who wrote to the bot with this @username (kept in their
        session row by the dispatcher), or None."""
        row = await self._db.fetchone(
            "SELECT external_id FROM sessions WHERE channel = ? "
            "AND json_extract(state, '$.username') = ?",
            (channel, username.lstrip("@").casefold()),
        )
        return None if row is None else str(row[0])

    async def library_id(self, *, slug: str) -> int | None:
        row = await self._db.fetchone("SELECT id FROM libraries WHERE slug = ?", (slug,))
        return None if row is None else int(row[0])

    # Topic subscriptions -------------------------------------------------------------------

    async def topics_of(self, *, resident_id: int) -> set[str]:
        rows = await self._db.fetchall(
            "SELECT topic FROM topic_subscriptions WHERE resident_id = ?", (resident_id,)
        )
        return {r[0] for r in rows}

    async def toggle_topic(self, *, resident_id: int, topic: str) -> bool:
        """Subscribe if not subscribed, else unsubscribe; True when now subscribed."""
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM topic_subscriptions WHERE topic = ? AND resident_id = ?",
                (topic, resident_id),
            )
            if cur.rowcount:
                return False
            await conn.execute(
                "INSERT INTO topic_subscriptions (topic, resident_id, created_at) VALUES (?, ?, ?)",
                (topic, resident_id, to_db(utcnow())),
            )
            return True
