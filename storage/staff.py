"""Staff roles and their scope, the audit log, usernames, and residents' topic subscriptions.

A role is one row per chat identity and role (a person may hold several). Scope rules live on
`StaffRole` so every handler asks the same questions ("does this role cover that regency /
event / library?") the same way.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.clock import from_db, to_db
from storage.db import Database, Tx
from storage.errors import NotFound, StorageError
from storage.models import Event
from storage.outbox import OutboxMessage, enqueue

ROLES = ("admin", "coordinator", "librarian")
CONFIG = "config"


class LastAdmin(StorageError):
    """Removing this admin would leave nobody able to grant or revoke roles."""


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


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    role: str | None
    action: str
    target: str | None
    detail: str


_ROLE_ORDER = "CASE s.role WHEN 'admin' THEN 0 WHEN 'coordinator' THEN 1 ELSE 2 END"
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
    now: datetime,
) -> None:
    """Record one staff action inside the caller's transaction, so the change and its trace
    commit or roll back together."""
    await conn.execute(
        "INSERT INTO audit_log (at, actor, role, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
        (to_db(now), actor, role, action, target, detail[:500]),
    )


# Channels with a per-chat command menu (Telegram's BotCommandScopeChat).
MENU_CHANNELS = ("telegram",)
MENU_KIND = "staff_menu"


async def menu_changed(conn: Tx, *, channel: str, external_id: str, now: datetime) -> None:
    """Queue an update of the person's command menu (their staff commands, or none), inside
    the transaction that changed their roles; rendered from the roles held at delivery."""
    if channel not in MENU_CHANNELS:
        return
    stamp = to_db(now)
    row = await conn.fetchone(
        "SELECT language FROM residents WHERE channel = ? AND external_id = ?",
        (channel, external_id),
    )
    await enqueue(
        conn,
        OutboxMessage(
            # Each change is news (two within one second too): a fresh key every time.
            dedupe_key=f"{MENU_KIND}:{channel}:{external_id}:{stamp}:{uuid.uuid4().hex[:8]}",
            kind=MENU_KIND,
            channel=channel,
            recipient=external_id,
            text="",
            language=str(row[0]) if row is not None else "id",
            params={"channel": channel, "external_id": external_id},
            priority=10,
            due_at=now,
        ),
        now=now,
    )


class Staff:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def role_of(self, *, channel: str, external_id: str) -> StaffRole | None:
        """The person's widest role (admin, then coordinator, then librarian), or None."""
        found = await self.roles_of(channel=channel, external_id=external_id)
        return found[0] if found else None

    async def roles_of(self, *, channel: str, external_id: str) -> list[StaffRole]:
        """Every role the person holds, widest first."""
        rows = await self._db.fetchall(
            f"{_ROLE_SELECT} WHERE s.channel = ? AND s.external_id = ? ORDER BY {_ROLE_ORDER}",
            (channel, external_id),
        )
        return [_role(r) for r in rows]

    async def roles(self, *, offset: int = 0, limit: int = 20) -> tuple[list[StaffRole], int]:
        rows = await self._db.fetchall(
            _ROLE_SELECT.replace(" FROM ", ", count(*) OVER () AS total FROM ", 1) + " "
            f"ORDER BY {_ROLE_ORDER}, s.regency_code, l.name, s.external_id LIMIT ? OFFSET ?",
            (limit, offset),
        )
        total = rows[0]["total"] if rows else 0
        return [_role(r) for r in rows], total

    async def seed_admins(self, admins: Sequence[tuple[str, str]], *, now: datetime) -> int:
        """Make the configured ids admins. Only adds: an admin no longer configured keeps the
        role until someone revokes it with /cabutperan (audited), so an empty PUSTAKA_ADMINS
        on some start never removes anyone. Returns how many admins were added."""
        stamp = to_db(now)
        added = 0
        async with self._db.transaction() as conn:
            for channel, user_id in admins:
                cur = await conn.execute(
                    "INSERT INTO staff_roles (channel, external_id, role, regency_code, "
                    "library_id, granted_by, granted_at) VALUES (?, ?, 'admin', NULL, NULL, ?, ?) "
                    "ON CONFLICT (channel, external_id, role) DO NOTHING",
                    (channel, user_id, CONFIG, stamp),
                )
                if cur.rowcount:
                    added += 1
                    await menu_changed(conn, channel=channel, external_id=user_id, now=now)
                    await audit(
                        conn,
                        actor=CONFIG,
                        role=None,
                        action="role.grant",
                        target=f"{channel}:{user_id}",
                        detail="admin province",
                        now=now,
                    )
        return added

    async def queue_menus(self, *, now: datetime) -> int:
        """One command-menu update for every staff identity whose set of roles has not had one
        yet (staff from before menus existed; a database copied to a new bot). The key names
        the roles, so a restart queues nothing new. Returns how many were queued."""
        rows = await self._db.fetchall(
            "SELECT channel, external_id, group_concat(role, '+') AS held FROM "
            "(SELECT channel, external_id, role FROM staff_roles ORDER BY role) "
            "GROUP BY channel, external_id"
        )
        added = 0
        async with self._db.transaction() as conn:
            for row in rows:
                if row["channel"] not in MENU_CHANNELS:
                    continue
                key = f"{MENU_KIND}:{row['channel']}:{row['external_id']}:roles={row['held']}"
                added += await enqueue(
                    conn,
                    OutboxMessage(
                        dedupe_key=key,
                        kind=MENU_KIND,
                        channel=row["channel"],
                        recipient=row["external_id"],
                        text="",
                        params={"channel": row["channel"], "external_id": row["external_id"]},
                        priority=10,
                    ),
                    now=now,
                )
        return added

    async def grant(
        self,
        *,
        by: StaffRole,
        channel: str,
        external_id: str,
        role: str,
        regency_code: str | None = None,
        library_id: int | None = None,
        now: datetime,
    ) -> StaffRole:
        """Add a role, or change the scope of one the person already holds; other roles they
        hold stay."""
        if role not in ROLES:
            raise ValueError(role)
        stamp = to_db(now)
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO staff_roles (channel, external_id, role, regency_code, library_id, "
                "granted_by, granted_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (channel, external_id, role) DO UPDATE SET "
                "regency_code = excluded.regency_code, library_id = excluded.library_id, "
                "granted_by = excluded.granted_by, granted_at = excluded.granted_at",
                (channel, external_id, role, regency_code, library_id, by.actor, stamp),
            )
            await menu_changed(conn, channel=channel, external_id=external_id, now=now)
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
        granted = [
            r
            for r in await self.roles_of(channel=channel, external_id=external_id)
            if r.role == role
        ]
        return granted[0]

    async def revoke(
        self,
        *,
        by: StaffRole,
        channel: str,
        external_id: str,
        role: str,
        now: datetime,
    ) -> StaffRole:
        """Remove one role. The last admin cannot be removed: nobody could grant roles again."""
        async with self._db.transaction() as conn:
            row = await conn.fetchone(
                f"{_ROLE_SELECT} WHERE s.channel = ? AND s.external_id = ? AND s.role = ?",
                (channel, external_id, role),
            )
            if row is None:
                raise NotFound("staff role", f"{channel}:{external_id}")
            old = _role(row)
            if role == "admin":
                counted = await conn.fetchone(
                    "SELECT count(*) FROM staff_roles WHERE role = 'admin'"
                )
                if counted is not None and int(counted[0]) <= 1:
                    raise LastAdmin(old.actor)
            await conn.execute(
                "DELETE FROM staff_roles WHERE channel = ? AND external_id = ? AND role = ?",
                (channel, external_id, role),
            )
            await menu_changed(conn, channel=channel, external_id=external_id, now=now)
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
        now: datetime,
    ) -> None:
        """An audit entry on its own (a read, or a refusal), in its own short transaction."""
        async with self._db.transaction() as conn:
            await audit(
                conn, actor=actor, role=role, action=action, target=target, detail=detail, now=now
            )

    async def audit_entries(
        self,
        *,
        offset: int = 0,
        limit: int = 10,
        actor: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[list[AuditEntry], int]:
        """Newest first, optionally only one person's actions or actions on one person, only
        one target ('event:5'), only [since, until)."""
        where = ["1"]
        params: list[object] = []
        if actor is not None:
            where.append("(actor = ? OR target = ?)")
            params += [actor, actor]
        if target is not None:
            where.append("target = ?")
            params.append(target)
        if since is not None:
            where.append("at >= ?")
            params.append(to_db(since))
        if until is not None:
            where.append("at < ?")
            params.append(to_db(until))
        condition = " AND ".join(where)
        rows = await self._db.fetchall(
            f"SELECT id, at, actor, role, action, target, detail FROM audit_log WHERE {condition} "
            "ORDER BY id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        counted = await self._db.fetchone(
            f"SELECT count(*) FROM audit_log WHERE {condition}", tuple(params)
        )
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
        ], int(counted[0]) if counted else 0

    async def names(self, *, identities: Sequence[str]) -> dict[str, str]:
        """'channel:id' -> the name the person gave (residents who agreed to the notice)."""
        if not identities:
            return {}
        rows = await self._db.fetchall(
            "SELECT channel || ':' || external_id AS who, name FROM residents "
            "WHERE channel || ':' || external_id IN (SELECT value FROM json_each(?)) "
            "AND name IS NOT NULL AND name <> ''",
            (json.dumps(list(identities)),),
        )
        return {str(r["who"]): str(r["name"]) for r in rows}

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

    async def toggle_topic(self, *, resident_id: int, topic: str, now: datetime) -> bool:
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
                (topic, resident_id, to_db(now)),
            )
            return True
