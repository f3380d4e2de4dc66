"""Importing the librarians' content file: libraries and events upserted by slug.

The records here are the input shape only; parsing and validating the file is `bot.content`'s job,
so storage never imports from `bot`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from storage.checkin_codes import assign_checkin_codes
from storage.clock import opt_to_db, to_db
from storage.db import Database, Tx
from storage.errors import NotFound, StorageError
from storage.registrations import promote_waitlisted


@dataclass(frozen=True, slots=True)
class LibraryRecord:
    slug: str
    name: str
    level: str  # province | regency | village
    regency_code: str
    village: str | None
    address: str
    opening_hours: str
    contact: str | None
    services: tuple[str, ...]
    # (system, OAI-PMH base URL) of the library's book catalogue, if it has one to harvest.
    catalogue: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class AliasRecord:
    alias: str  # a name people type for a place, as written in the content file
    regency_codes: tuple[str, ...]  # more than one: the name may mean either (ask which)


@dataclass(frozen=True, slots=True)
class EventRecord:
    slug: str
    library_slug: str
    title: str
    category: str
    description: str
    place: str | None
    starts_at: datetime  # aware
    ends_at: datetime
    capacity: int | None  # None: no seat limit
    waitlist_limit: int | None  # None: unlimited
    questions: tuple[str, ...]
    status: str  # draft | open | closed
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    line: int | None = None  # where the record starts in its file, for messages


class ContentSource(Protocol):
    """What an import needs; `bot.content.Content` is one."""

    @property
    def libraries(self) -> Sequence[LibraryRecord]: ...

    @property
    def events(self) -> Sequence[EventRecord]: ...

    @property
    def aliases(self) -> Sequence[AliasRecord]: ...


@dataclass(frozen=True, slots=True)
class ImportResult:
    libraries_inserted: int
    libraries_updated: int
    events_inserted: int
    events_updated: int
    promoted: int = 0  # people on a waitlist given a seat by a raised capacity

    def __str__(self) -> str:
        text = (
            f"{self.libraries_inserted} libraries added, {self.libraries_updated} updated; "
            f"{self.events_inserted} events added, {self.events_updated} updated"
        )
        return text + (f"; {self.promoted} waitlisted people got a seat" if self.promoted else "")


class ContentImportError(StorageError):
    """The database refused a record (a constraint failed); nothing of the import was kept."""

    def __init__(self, what: str, slug: str, reason: str) -> None:
        super().__init__(f"{what} {slug!r} could not be saved: {reason}")
        self.what = what
        self.slug = slug
        self.reason = reason


class CapacityBelowRegistrations(ContentImportError):
    """A re-import lowers an event's capacity below the seats people already hold."""

    def __init__(self, event: EventRecord, taken: int) -> None:
        super().__init__(
            "event", event.slug, f"{taken} seats are taken, more than the capacity {event.capacity}"
        )
        self.event = event
        self.taken = taken


_UPSERT_LIBRARY = """
INSERT INTO libraries (slug, name, level, regency_code, village, address, opening_hours, contact,
                       services, is_sample)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (slug) DO UPDATE SET
    name = excluded.name,
    level = excluded.level,
    regency_code = excluded.regency_code,
    village = excluded.village,
    address = excluded.address,
    opening_hours = excluded.opening_hours,
    contact = excluded.contact,
    services = excluded.services,
    is_sample = excluded.is_sample
"""

# seats_taken is left out of the update on purpose: it counts real registrations, which the file
# knows nothing about. A lowered capacity below it fails the table's CHECK and refuses the import.
# 'cancelled' and 'finished' are reached through the bot (which tells registrants); a file that
# still says 'open' must not silently bring such an event back.
_UPSERT_EVENT = """
INSERT INTO events (slug, library_id, title, category, description, place, starts_at, ends_at,
                    capacity, status, questions, registration_opens_at, registration_closes_at,
                    waitlist_limit, is_sample)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (slug) DO UPDATE SET
    library_id = excluded.library_id,
    title = excluded.title,
    category = excluded.category,
    description = excluded.description,
    place = excluded.place,
    starts_at = excluded.starts_at,
    ends_at = excluded.ends_at,
    capacity = excluded.capacity,
    status = CASE WHEN events.status IN ('cancelled', 'finished') THEN events.status
                  ELSE excluded.status END,
    questions = excluded.questions,
    registration_opens_at = excluded.registration_opens_at,
    registration_closes_at = excluded.registration_closes_at,
    waitlist_limit = excluded.waitlist_limit,
    is_sample = excluded.is_sample
"""


async def _ids_by_slug(conn: Tx, table: str, slugs: Iterable[str]) -> dict[str, int]:
    # json_each keeps this one statement whatever the number of slugs (no bound-variable limit).
    rows = await conn.fetchall(
        f"SELECT slug, id FROM {table} WHERE slug IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted(set(slugs))),),
    )
    return {row[0]: row[1] for row in rows}


class ContentRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def library_slugs(self) -> frozenset[str]:
        rows = await self._db.fetchall("SELECT slug FROM libraries")
        return frozenset(row[0] for row in rows)

    async def import_content(
        self, content: ContentSource, *, is_sample: bool, now: datetime
    ) -> ImportResult:
        """Upsert every library, then every event, by slug, in one transaction: any failure
        (unknown library, a constraint) rolls the whole import back."""
        async with self._db.transaction() as conn:
            known = await _ids_by_slug(conn, "libraries", (r.slug for r in content.libraries))
            for library in content.libraries:
                await self._run(
                    conn,
                    "library",
                    library.slug,
                    _UPSERT_LIBRARY,
                    _library_row(library, is_sample=is_sample),
                )
            libraries_updated = sum(1 for r in content.libraries if r.slug in known)
            await _set_catalogues(conn, content.libraries)

            # Events may refer to libraries of this file or ones imported earlier.
            library_ids = await _ids_by_slug(
                conn, "libraries", (e.library_slug for e in content.events)
            )
            existing = await _ids_by_slug(conn, "events", (e.slug for e in content.events))
            await _check_capacities(conn, content.events, existing)
            for event in content.events:
                library_id = library_ids.get(event.library_slug)
                if library_id is None:
                    raise NotFound("library", event.library_slug)
                await self._run(
                    conn,
                    "event",
                    event.slug,
                    _UPSERT_EVENT,
                    _event_row(event, library_id=library_id, is_sample=is_sample),
                )
            events_updated = sum(1 for e in content.events if e.slug in existing)
            # New events' check-in codes, before the commit: no event is ever seen without one.
            await assign_checkin_codes(conn)
            # A raised capacity seats the waitlist, in arrival order, as it does from the chat.
            promoted = 0
            for event_id in existing.values():
                promoted += len(await promote_waitlisted(conn, event_id, now))
            for alias in content.aliases:
                await conn.execute(
                    "INSERT INTO place_aliases (alias, regency_codes, is_sample) VALUES (?, ?, ?) "
                    "ON CONFLICT (alias) DO UPDATE SET regency_codes = excluded.regency_codes, "
                    "is_sample = excluded.is_sample",
                    (alias.alias, json.dumps(list(alias.regency_codes)), int(is_sample)),
                )

        return ImportResult(
            libraries_inserted=len(content.libraries) - libraries_updated,
            libraries_updated=libraries_updated,
            events_inserted=len(content.events) - events_updated,
            events_updated=events_updated,
            promoted=promoted,
        )

    @staticmethod
    async def _run(conn: Tx, what: str, slug: str, sql: str, params: tuple[object, ...]) -> None:
        try:
            await conn.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            # Name the record: SQLite's own message says which rule, not which row.
            raise ContentImportError(what, slug, str(exc)) from exc


async def _check_capacities(
    conn: Tx, events: Iterable[EventRecord], existing: dict[str, int]
) -> None:
    """Refuse, naming the event, a capacity below the seats already taken (the table's CHECK
    would refuse it too, but with SQLite's words and no event)."""
    for event in events:
        if event.capacity is None or event.slug not in existing:
            continue
        row = await conn.fetchone(
            "SELECT seats_taken FROM events WHERE id = ?", (existing[event.slug],)
        )
        if row is not None and int(row[0]) > event.capacity:
            raise CapacityBelowRegistrations(event, int(row[0]))


async def _set_catalogues(conn: Tx, libraries: Sequence[LibraryRecord]) -> None:
    """A library's catalogue source as the file names it; a harvest's figures are kept when only
    the URL or the system changes."""
    with_catalogue = [r for r in libraries if r.catalogue is not None]
    if not with_catalogue:
        return
    ids = await _ids_by_slug(conn, "libraries", (r.slug for r in with_catalogue))
    for library in with_catalogue:
        assert library.catalogue is not None
        system, url = library.catalogue
        await conn.execute(
            "INSERT INTO catalogue_sources (library_id, system, url) VALUES (?, ?, ?) "
            "ON CONFLICT (library_id) DO UPDATE SET system = excluded.system, url = excluded.url",
            (ids[library.slug], system, url),
        )


def _library_row(library: LibraryRecord, *, is_sample: bool) -> tuple[object, ...]:
    return (
        library.slug,
        library.name,
        library.level,
        library.regency_code,
        library.village,
        library.address,
        library.opening_hours,
        library.contact,
        json.dumps(list(library.services), ensure_ascii=False),
        int(is_sample),
    )


def _event_row(event: EventRecord, *, library_id: int, is_sample: bool) -> tuple[object, ...]:
    return (
        event.slug,
        library_id,
        event.title,
        event.category,
        event.description,
        event.place,
        to_db(event.starts_at),
        to_db(event.ends_at),
        event.capacity,
        event.status,
        json.dumps(list(event.questions)),
        opt_to_db(event.registration_opens_at),
        opt_to_db(event.registration_closes_at),
        event.waitlist_limit,
        int(is_sample),
    )
