"""The staff dashboard's data: sign-in links, browser sessions, and the scoped figures its pages
and downloads show.

Every figure follows the definitions of storage/stats.py (the same `held` condition is imported
from there), so the dashboard, /statistik and `pustaka report` never disagree. Every query takes
a `Scope` and filters in SQL: a librarian's page is built from their library's rows only, never
from the province's rows filtered afterwards.

The SQL is plain and portable where that was easy (CASE instead of summing booleans, no
SQLite-only functions), for the PostgreSQL backend.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from storage.clock import from_db, to_db
from storage.db import Database
from storage.staff import audit
from storage.stats import _HELD as HELD
from storage.stats import AGE_BANDS, GENDERS

LINK_TTL = timedelta(minutes=10)
SESSION_IDLE = timedelta(minutes=60)
SESSION_ABSOLUTE = timedelta(hours=12)
# Failed sign-ins from one address within FAILURE_WINDOW beyond which it must wait.
FAILURE_LIMIT = 5
FAILURE_WINDOW = timedelta(minutes=15)
# A session's last_seen_at is written at most this often (a write per page view is wasteful).
_TOUCH_EVERY = timedelta(seconds=60)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Scope:
    """What a person's roles reach. Built from every role row they have, so a person with
    several roles (a librarian who also coordinates a regency) sees the union."""

    everything: bool
    regencies: frozenset[str] = frozenset()
    libraries: frozenset[int] = frozenset()
    # The regencies of the libraries, for figures about residents (who have a regency only).
    library_regencies: frozenset[str] = frozenset()
    roles: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.everything or self.regencies or self.libraries)

    @property
    def role(self) -> str:
        """The widest role, for the audit log and the page header."""
        for name in ("admin", "coordinator", "librarian"):
            if name in self.roles:
                return name
        return ""

    def covers(self, *, regency_code: str, library_id: int) -> bool:
        return self.everything or regency_code in self.regencies or library_id in self.libraries

    def covers_regency(self, code: str) -> bool:
        return self.everything or code in self.regencies

    def where(self, alias: str = "l") -> tuple[str, dict[str, object]]:
        """An SQL condition on a libraries row `alias`, and its named parameters."""
        if self.everything:
            return "1 = 1", {}
        params: dict[str, object] = {}
        parts = []
        if self.regencies:
            names = _names("sr", sorted(self.regencies), params)
            parts.append(f"{alias}.regency_code IN ({names})")
        if self.libraries:
            names = _names("sl", sorted(self.libraries), params)
            parts.append(f"{alias}.id IN ({names})")
        return ("(" + " OR ".join(parts) + ")") if parts else "1 = 0", params

    def resident_where(self, alias: str = "r") -> tuple[str, dict[str, object]]:
        if self.everything:
            return "1 = 1", {}
        codes = sorted(self.regencies | self.library_regencies)
        if not codes:
            return "1 = 0", {}
        params: dict[str, object] = {}
        return f"{alias}.regency_code IN ({_names('rr', codes, params)})", params


def _names(prefix: str, values: Sequence[object], params: dict[str, object]) -> str:
    names = []
    for number, value in enumerate(values):
        params[f"{prefix}{number}"] = value
        names.append(f":{prefix}{number}")
    return ", ".join(names)


@dataclass(frozen=True, slots=True)
class SignIn:
    session_token: str
    channel: str
    external_id: str
    language: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class WebSession:
    token_hash: str
    channel: str
    external_id: str
    language: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    scope: Scope

    @property
    def actor(self) -> str:
        return f"{self.channel}:{self.external_id}"


@dataclass(frozen=True, slots=True)
class Figures:
    """One month's figures for a scope (see storage/stats.py for the definitions)."""

    events_held: int
    registered: int
    attended_registered: int
    walk_ins: int
    waitlisted: int
    new_residents: int
    by_gender: dict[str, int] = field(default_factory=dict)
    by_age_band: dict[str, int] = field(default_factory=dict)

    @property
    def attended(self) -> int:
        return self.attended_registered + self.walk_ins

    @property
    def attendance_rate(self) -> float | None:
        return None if self.registered == 0 else self.attended_registered / self.registered


@dataclass(frozen=True, slots=True)
class AreaRow:
    """One regency or library in the month: events held and their people."""

    key: str
    name: str
    regency_code: str
    events: int
    registered: int
    attended_registered: int
    attended: int  # walk-ins included
    women: int
    minors: int

    @property
    def women_share(self) -> float | None:
        return None if self.attended == 0 else self.women / self.attended

    @property
    def minors_share(self) -> float | None:
        return None if self.attended == 0 else self.minors / self.attended

    @property
    def attendance_rate(self) -> float | None:
        return None if self.registered == 0 else self.attended_registered / self.registered


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    title: str
    library_name: str
    regency_code: str
    starts_at: datetime
    ends_at: datetime
    status: str
    capacity: int | None
    confirmed: int
    waitlisted: int
    checked_in: int


@dataclass(frozen=True, slots=True)
class AnnouncementRow:
    id: int
    author: str
    text: str
    audience: str
    audience_arg: str | None
    status: str
    due_at: datetime
    created_at: datetime
    recipients: int
    sent: int
    failed: int
    cancelled: int
    unreachable: int
    pending: int


@dataclass(frozen=True, slots=True)
class DeliveryHealth:
    by_status: dict[str, int]
    by_kind: dict[str, dict[str, int]]
    oldest_pending: tuple[datetime, str] | None  # (due, kind)
    failures: list[tuple[str, int]]  # (reason, rows)
    unreachable_residents: int


_PRESENT = "g.attended_at IS NOT NULL AND g.status IN ('confirmed', 'walk_in')"


def _sum(condition: str) -> str:
    return f"coalesce(sum(CASE WHEN {condition} THEN 1 ELSE 0 END), 0)"


_CONFIRMED = _sum("g.status = 'confirmed'")
_CONFIRMED_PRESENT = _sum("g.status = 'confirmed' AND g.attended_at IS NOT NULL")
_WALK_INS_PRESENT = _sum("g.status = 'walk_in' AND g.attended_at IS NOT NULL")
_WAITLISTED = _sum("g.status = 'waitlisted'")
_ALL_PRESENT = _sum(_PRESENT)
_WOMEN_PRESENT = _sum(_PRESENT + " AND g.gender = 'female'")
_MINORS_PRESENT = _sum(_PRESENT + " AND g.age_band = 'u18'")


class DashboardRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    # Sign-in -------------------------------------------------------------------------------

    async def create_link(
        self, *, channel: str, external_id: str, language: str, now: datetime
    ) -> str:
        """A one-time link's token; only its hash is stored. Expired links are pruned here."""
        token = new_token()
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM dashboard_links WHERE expires_at < ?", (to_db(now - LINK_TTL),)
            )
            await conn.execute(
                "INSERT INTO dashboard_links (token_hash, channel, external_id, language, "
                "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    token_hash(token),
                    channel,
                    external_id,
                    language,
                    to_db(now),
                    to_db(now + LINK_TTL),
                ),
            )
        return token

    async def link_usable(self, *, token: str, now: datetime) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM dashboard_links WHERE token_hash = ? AND used_at IS NULL "
            "AND expires_at > ?",
            (token_hash(token), to_db(now)),
        )
        return row is not None

    async def sign_in(self, *, token: str, now: datetime, address: str) -> SignIn | None:
        """Use a link: mark it used, open a session and audit it, in one transaction. None for
        an unknown, expired or used link, or for a person who no longer has a role."""
        session_token = new_token()
        stamp = to_db(now)
        async with self._db.transaction() as conn:
            row = await conn.fetchone(
                "UPDATE dashboard_links SET used_at = ? WHERE token_hash = ? "
                "AND used_at IS NULL AND expires_at > ? RETURNING channel, external_id, language",
                (stamp, token_hash(token), stamp),
            )
            if row is None:
                return None
            channel, external_id, language = row[0], row[1], row[2]
            found = [
                r[0]
                for r in await conn.fetchall(
                    "SELECT role FROM staff_roles WHERE channel = ? AND external_id = ?",
                    (channel, external_id),
                )
            ]
            if not found:
                return None
            expires = now + SESSION_ABSOLUTE
            # Sessions nobody came back to are cleared here, so the table stays small.
            await conn.execute(
                "DELETE FROM dashboard_sessions WHERE expires_at <= ? OR last_seen_at <= ?",
                (stamp, to_db(now - SESSION_IDLE)),
            )
            await conn.execute(
                "INSERT INTO dashboard_sessions (token_hash, channel, external_id, language, "
                "created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    token_hash(session_token),
                    channel,
                    external_id,
                    language,
                    stamp,
                    stamp,
                    to_db(expires),
                ),
            )
            await audit(
                conn,
                actor=f"{channel}:{external_id}",
                role=_widest(found),
                action="dashboard.sign_in",
                detail=address[:100],
                now=now,
            )
        return SignIn(session_token, channel, external_id, language, expires)

    async def record_failure(self, *, address: str, now: datetime) -> None:
        await self._db.write(
            "DELETE FROM dashboard_failures WHERE at < ?", (to_db(now - FAILURE_WINDOW),)
        )
        await self._db.write(
            "INSERT INTO dashboard_failures (address, at) VALUES (?, ?)", (address, to_db(now))
        )

    async def recent_failures(self, *, address: str, now: datetime) -> int:
        row = await self._db.fetchone(
            "SELECT count(*) FROM dashboard_failures WHERE address = ? AND at > ?",
            (address, to_db(now - FAILURE_WINDOW)),
            inline=True,
        )
        return 0 if row is None else int(row[0])

    async def session(self, *, token: str, now: datetime) -> WebSession | None:
        """The live session of this cookie with the person's current scope; None (and the
        session deleted) when it expired, went idle, or its person has no role any more."""
        digest = token_hash(token)
        row = await self._db.fetchone(
            "SELECT token_hash, channel, external_id, language, created_at, last_seen_at, "
            "expires_at FROM dashboard_sessions WHERE token_hash = ?",
            (digest,),
            inline=True,
        )
        if row is None:
            return None
        last_seen, expires = from_db(row["last_seen_at"]), from_db(row["expires_at"])
        scope = await self.scope(channel=row["channel"], external_id=row["external_id"])
        if expires <= now or last_seen + SESSION_IDLE <= now or scope.empty:
            await self._db.write("DELETE FROM dashboard_sessions WHERE token_hash = ?", (digest,))
            return None
        if now - last_seen >= _TOUCH_EVERY:
            await self._db.write(
                "UPDATE dashboard_sessions SET last_seen_at = ? WHERE token_hash = ?",
                (to_db(now), digest),
            )
            last_seen = now
        return WebSession(
            token_hash=digest,
            channel=row["channel"],
            external_id=row["external_id"],
            language=row["language"],
            created_at=from_db(row["created_at"]),
            last_seen_at=last_seen,
            expires_at=expires,
            scope=scope,
        )

    async def set_language(self, *, token_hash: str, language: str) -> None:
        await self._db.write(
            "UPDATE dashboard_sessions SET language = ? WHERE token_hash = ?",
            (language, token_hash),
        )

    async def sign_out(self, *, session: WebSession, now: datetime) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM dashboard_sessions WHERE token_hash = ?", (session.token_hash,)
            )
            await audit(
                conn,
                actor=session.actor,
                role=session.scope.role,
                action="dashboard.sign_out",
                now=now,
            )

    async def scope(self, *, channel: str, external_id: str) -> Scope:
        rows = await self._db.fetchall(
            "SELECT s.role, s.regency_code, s.library_id, l.regency_code AS library_regency "
            "FROM staff_roles s LEFT JOIN libraries l ON l.id = s.library_id "
            "WHERE s.channel = ? AND s.external_id = ?",
            (channel, external_id),
            inline=True,
        )
        everything = False
        regencies: set[str] = set()
        libraries: set[int] = set()
        library_regencies: set[str] = set()
        for row in rows:
            role = row["role"]
            if role == "admin" or (role == "coordinator" and row["regency_code"] is None):
                everything = True
            elif role == "coordinator":
                regencies.add(row["regency_code"])
            elif role == "librarian" and row["library_id"] is not None:
                libraries.add(int(row["library_id"]))
                library_regencies.add(row["library_regency"])
        return Scope(
            everything=everything,
            regencies=frozenset(regencies),
            libraries=frozenset(libraries),
            library_regencies=frozenset(library_regencies),
            roles=tuple(sorted({r["role"] for r in rows})),
        )

    async def record(
        self, *, session: WebSession, action: str, target: str, detail: str, now: datetime
    ) -> None:
        async with self._db.transaction() as conn:
            await audit(
                conn,
                actor=session.actor,
                role=session.scope.role,
                action=action,
                target=target,
                detail=detail,
                now=now,
            )

    # Figures -------------------------------------------------------------------------------

    async def figures(
        self, *, scope: Scope, start: datetime, end: datetime, now: datetime
    ) -> Figures:
        where, params = scope.where()
        params |= {"start": to_db(start), "end": to_db(end), "now": to_db(now)}
        joined = (
            "FROM events e JOIN libraries l ON l.id = e.library_id "
            f"LEFT JOIN registrations g ON g.event_id = e.id WHERE {HELD} AND {where}"
        )
        row = await self._db.fetchone(
            f"SELECT count(DISTINCT e.id), {_CONFIRMED}, {_CONFIRMED_PRESENT}, "
            f"{_WALK_INS_PRESENT}, {_WAITLISTED} {joined}",
            params,
        )
        assert row is not None  # an aggregate always returns one row
        genders: dict[str, int] = {}
        ages: dict[str, int] = {}
        # One pass for both breakdowns: (gender, age band) pairs, added up here.
        for gender, age, count in await self._db.fetchall(
            "SELECT coalesce(g.gender, 'unknown'), coalesce(g.age_band, 'unknown'), count(*) "
            f"{joined} AND {_PRESENT} GROUP BY coalesce(g.gender, 'unknown'), "
            "coalesce(g.age_band, 'unknown')",
            params,
        ):
            genders[gender] = genders.get(gender, 0) + int(count)
            ages[age] = ages.get(age, 0) + int(count)
        resident_where, resident_params = scope.resident_where()
        new = await self._db.fetchone(
            "SELECT count(*) FROM residents r WHERE r.consent_at IS NOT NULL "
            f"AND r.created_at >= :start AND r.created_at < :end AND {resident_where}",
            {"start": to_db(start), "end": to_db(end)} | resident_params,
        )
        return Figures(
            events_held=int(row[0]),
            registered=int(row[1]),
            attended_registered=int(row[2]),
            walk_ins=int(row[3]),
            waitlisted=int(row[4]),
            new_residents=0 if new is None else int(new[0]),
            by_gender={k: genders.get(k, 0) for k in GENDERS},
            by_age_band={k: ages.get(k, 0) for k in AGE_BANDS},
        )

    async def areas(
        self, *, scope: Scope, start: datetime, end: datetime, now: datetime, by: str
    ) -> list[AreaRow]:
        """Per regency (`by='regency'`) or per library (`by='library'`) within the scope, each
        one listed even with nothing held in the month."""
        where, params = scope.where()
        params |= {"start": to_db(start), "end": to_db(end), "now": to_db(now)}
        figures = (
            f"count(DISTINCT e.id) AS events, {_CONFIRMED} AS registered, "
            f"{_CONFIRMED_PRESENT} AS attended_registered, {_ALL_PRESENT} AS attended, "
            f"{_WOMEN_PRESENT} AS women, {_MINORS_PRESENT} AS minors"
        )
        if by == "regency":
            sql = (
                f"SELECT l.regency_code AS k, {figures} FROM events e "
                "JOIN libraries l ON l.id = e.library_id "
                "LEFT JOIN registrations g ON g.event_id = e.id "
                f"WHERE {HELD} AND {where} GROUP BY l.regency_code"
            )
            names = await self._db.fetchall(
                "SELECT code, name, position FROM regencies ORDER BY position"
            )
            listed = [
                (str(r["code"]), str(r["name"]), str(r["code"]))
                for r in names
                if scope.covers_regency(r["code"]) or r["code"] in scope.library_regencies
            ]
        else:
            sql = (
                f"SELECT CAST(l.id AS TEXT) AS k, {figures} FROM events e "
                "JOIN libraries l ON l.id = e.library_id "
                "LEFT JOIN registrations g ON g.event_id = e.id "
                f"WHERE {HELD} AND {where} GROUP BY l.id"
            )
            names = await self._db.fetchall(
                f"SELECT l.id, l.name, l.regency_code FROM libraries l WHERE {where} "
                "ORDER BY l.regency_code, l.name",
                # Nothing but the scope's names; none at all for a province-wide scope.
                {k: v for k, v in params.items() if k not in ("start", "end", "now")} or (),
            )
            listed = [(str(r["id"]), str(r["name"]), str(r["regency_code"])) for r in names]
        counted = {str(r["k"]): r for r in await self._db.fetchall(sql, params)}
        found = []
        for key, name, regency in listed:
            row = counted.get(key)
            found.append(
                AreaRow(
                    key=key,
                    name=name,
                    regency_code=regency,
                    events=int(row["events"]) if row else 0,
                    registered=int(row["registered"]) if row else 0,
                    attended_registered=int(row["attended_registered"]) if row else 0,
                    attended=int(row["attended"]) if row else 0,
                    women=int(row["women"]) if row else 0,
                    minors=int(row["minors"]) if row else 0,
                )
            )
        return found

    async def monthly_attendance(
        self, *, scope: Scope, bounds: Sequence[tuple[datetime, datetime]], now: datetime
    ) -> list[tuple[int, int]]:
        """(registered, attended) for each [start, end) of `bounds` (consecutive months): one
        query over the whole range, bucketed here by each event's start."""
        where, params = scope.where()
        params |= {
            "start": to_db(bounds[0][0]),
            "end": to_db(bounds[-1][1]),
            "now": to_db(now),
        }
        rows = await self._db.fetchall(
            f"SELECT e.starts_at, {_CONFIRMED}, {_ALL_PRESENT} "
            "FROM events e JOIN libraries l ON l.id = e.library_id "
            "LEFT JOIN registrations g ON g.event_id = e.id "
            f"WHERE {HELD} AND {where} GROUP BY e.id, e.starts_at",
            params,
        )
        edges = [to_db(start) for start, _ in bounds]
        totals = [[0, 0] for _ in bounds]
        for starts_at, registered, attended in rows:
            index = max(i for i, edge in enumerate(edges) if edge <= starts_at)
            totals[index][0] += int(registered)
            totals[index][1] += int(attended)
        return [(r, a) for r, a in totals]

    # Events --------------------------------------------------------------------------------

    async def events(
        self,
        *,
        scope: Scope,
        start: datetime | None = None,
        end: datetime | None = None,
        upcoming_from: datetime | None = None,
        limit: int = 200,
    ) -> list[EventRow]:
        """Events in the scope: those starting in [start, end), or (upcoming_from) those not
        yet ended and not cancelled, soonest first."""
        where, params = scope.where()
        if upcoming_from is not None:
            when = "e.ends_at > :now AND e.status IN ('open', 'closed', 'draft')"
            params["now"] = to_db(upcoming_from)
            order = "e.starts_at, e.id"
        else:
            assert start is not None and end is not None
            when = "e.starts_at >= :start AND e.starts_at < :end"
            params |= {"start": to_db(start), "end": to_db(end)}
            order = "e.starts_at DESC, e.id"
        rows = await self._db.fetchall(
            "SELECT e.id, e.title, l.name AS library_name, l.regency_code, e.starts_at, "
            "e.ends_at, e.status, e.capacity, "
            f"{_CONFIRMED} AS confirmed, {_WAITLISTED} AS waitlisted, "
            f"{_ALL_PRESENT} AS checked_in "
            "FROM events e JOIN libraries l ON l.id = e.library_id "
            "LEFT JOIN registrations g ON g.event_id = e.id "
            f"WHERE {when} AND {where} "
            "GROUP BY e.id, e.title, l.name, l.regency_code, e.starts_at, e.ends_at, e.status, "
            f"e.capacity ORDER BY {order} LIMIT :limit",
            params | {"limit": limit},
        )
        return [
            EventRow(
                id=r["id"],
                title=r["title"],
                library_name=r["library_name"],
                regency_code=r["regency_code"],
                starts_at=from_db(r["starts_at"]),
                ends_at=from_db(r["ends_at"]),
                status=r["status"],
                capacity=r["capacity"],
                confirmed=int(r["confirmed"]),
                waitlisted=int(r["waitlisted"]),
                checked_in=int(r["checked_in"]),
            )
            for r in rows
        ]

    async def checkin_code(self, *, event_id: int) -> str | None:
        row = await self._db.fetchone("SELECT checkin_code FROM events WHERE id = ?", (event_id,))
        return None if row is None else row[0]

    # Announcements -------------------------------------------------------------------------

    async def announcements(
        self, *, scope: Scope, actor: str, event_id: int | None = None, limit: int = 100
    ) -> list[AnnouncementRow]:
        """Announcements within the scope (their audience lies in it, or the viewer wrote
        them), newest first; `event_id`: only those to that event's registrants or waitlist."""
        where, params = scope.where()
        if event_id is not None:
            chosen = "b.audience IN ('registrants', 'waitlist') AND b.audience_arg = :event"
            params["event"] = str(event_id)
        else:
            # An audience reaches a regency through its code (all, regency, topic@regency) or
            # through its event's library; province-wide ones only admins and province
            # coordinators see, besides their authors.
            regency_arg = (
                "CASE WHEN b.audience = 'topic' AND b.audience_arg LIKE '%@%' "
                "THEN substr(b.audience_arg, instr(b.audience_arg, '@') + 1) "
                "WHEN b.audience IN ('all', 'regency') THEN b.audience_arg END"
            )
            own = "b.author = :actor"
            params["actor"] = actor
            if scope.everything:
                chosen = "1 = 1"
            else:
                names = _names("ar", sorted(scope.regencies), params)
                by_regency = f"{regency_arg} IN ({names})" if scope.regencies else "1 = 0"
                by_event = (
                    "b.audience IN ('registrants', 'waitlist') AND EXISTS (SELECT 1 FROM events e "
                    "JOIN libraries l ON l.id = e.library_id "
                    f"WHERE CAST(e.id AS TEXT) = b.audience_arg AND {where})"
                )
                chosen = f"({own} OR {by_regency} OR ({by_event}))"
        rows = await self._db.fetchall(
            "SELECT b.id, b.author, b.text, b.audience, b.audience_arg, b.status, b.due_at, "
            "b.created_at, b.recipients, b.sent, b.failed, b.cancelled FROM broadcasts b "
            f"WHERE b.status <> 'draft' AND {chosen} ORDER BY b.id DESC LIMIT :limit",
            params | {"limit": limit},
        )
        found = []
        for r in rows:
            low, high = f"broadcast:{r['id']}:", f"broadcast:{r['id']};"
            counts = {
                str(k): int(n)
                for k, n in await self._db.fetchall(
                    "SELECT CASE WHEN status = 'cancelled' AND last_error = 'unreachable' "
                    "THEN 'unreachable' ELSE status END AS k, count(*) FROM outbox "
                    "WHERE dedupe_key >= ? AND dedupe_key < ? GROUP BY k",
                    (low, high),
                )
            }
            found.append(
                AnnouncementRow(
                    id=r["id"],
                    author=r["author"],
                    text=r["text"],
                    audience=r["audience"],
                    audience_arg=r["audience_arg"],
                    status=r["status"],
                    due_at=from_db(r["due_at"]),
                    created_at=from_db(r["created_at"]),
                    recipients=int(r["recipients"]),
                    sent=counts.get("sent", 0),
                    failed=counts.get("failed", 0),
                    cancelled=counts.get("cancelled", 0),
                    unreachable=counts.get("unreachable", 0),
                    pending=sum(counts.get(s, 0) for s in ("pending", "sending", "held")),
                )
            )
        return found

    # Delivery ------------------------------------------------------------------------------

    async def delivery(self, *, scope: Scope) -> DeliveryHealth:
        by_status: dict[str, int] = {}
        by_kind: dict[str, dict[str, int]] = {}
        for kind, status, count in await self._db.fetchall(
            "SELECT kind, status, count(*) FROM outbox GROUP BY kind, status ORDER BY kind, status"
        ):
            by_status[status] = by_status.get(status, 0) + int(count)
            by_kind.setdefault(kind, {})[status] = int(count)
        row = await self._db.fetchone(
            "SELECT due_at, kind FROM outbox WHERE status = 'pending' ORDER BY due_at, id LIMIT 1"
        )
        oldest = None if row is None else (from_db(row[0]), str(row[1]))
        failures = [
            (str(reason), int(n))
            for reason, n in await self._db.fetchall(
                "SELECT coalesce(last_error, '-') AS reason, count(*) AS n FROM outbox "
                "WHERE status = 'failed' GROUP BY coalesce(last_error, '-') "
                "ORDER BY n DESC LIMIT 20"
            )
        ]
        resident_where, params = scope.resident_where()
        unreachable = await self._db.fetchone(
            f"SELECT count(*) FROM residents r WHERE r.unreachable_at IS NOT NULL "
            f"AND {resident_where}",
            params or (),  # PostgreSQL's translation wants no mapping for a query without names
        )
        return DeliveryHealth(
            by_status=by_status,
            by_kind=by_kind,
            oldest_pending=oldest,
            failures=failures,
            unreachable_residents=0 if unreachable is None else int(unreachable[0]),
        )


def _widest(roles: Sequence[str]) -> str:
    for name in ("admin", "coordinator", "librarian"):
        if name in roles:
            return name
    return ""
