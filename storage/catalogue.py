"""The libraries' book catalogues: harvest staging, the one-transaction replace, and search.

A harvest (bot/catalogue/) writes what it reads into `catalogue_staging`, a page at a time, and
only when it has read everything does `finish_harvest` move it into `catalogue_records` in one
transaction. A harvest that fails half way leaves the catalogue exactly as it was.

Search is SQLite FTS5 (migration 0015): words folded to lower case without accents, a word that
is not a whole indexed word also matched as a prefix, a word found nowhere in the index replaced
by the indexed words one typo (or an old spelling) away, and the Indonesian stems of title and
subjects in their own column. Ranked by bm25 with the title weighing most, then subjects, then
authors; the resident's own regency comes first. docs/catalogue.md has the details and figures.

On PostgreSQL the same `search` uses a weighted tsvector with a GIN index (migration 0018) and
ts_rank, with the same word rules. `CatalogueSearch` is what the handlers see of either.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from storage.catalogue_text import (
    digest,
    fold,
    old_spellings,
    one_typo_away,
    query_words,
    stem,
    stems,
    words,
    work_key,
)
from storage.clock import from_db, opt_to_db, to_db
from storage.db import Database
from storage.errors import NotFound

SYSTEMS = ("inlislite", "slims")
# Ranking weights of the index's columns: title, subjects, authors, stems.
_WEIGHTS = (10.0, 5.0, 3.0, 2.0)
# A search shows at most this many books; people read the first pages, not the 900th book.
RESULT_CAP = 200
# Books scored per tier (title, then any column), newest first. bm25 costs about a microsecond a
# book and a common word ("pertanian") can match tens of thousands in a big network: scoring
# them all took 50-80 ms over a million records. Below this many matches the ranking is exact.
CANDIDATES = 300
# Typo candidates looked up per word; the rest are too unlikely to be meant.
_TYPO_TERMS = 8


@dataclass(frozen=True, slots=True)
class BookRecord:
    """One record as a harvest reads it: a book, or the header of a deleted one."""

    identifier: str
    deleted: bool = False
    title: str = ""
    authors: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    publisher: str | None = None
    year: str | None = None
    call_number: str | None = None
    isbn: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class CatalogueSource:
    library_id: int
    library_slug: str
    library_name: str
    system: str
    url: str
    records: int
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    harvested_until: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    is_sample: bool


@dataclass(frozen=True, slots=True)
class HarvestCounts:
    written: int  # records added or changed
    removed: int  # deleted upstream, or gone from a full harvest
    total: int  # the library's records afterwards


@dataclass(frozen=True, slots=True)
class Book:
    record_id: int
    title: str
    authors: tuple[str, ...]
    subjects: tuple[str, ...]
    year: str | None
    publisher: str | None
    isbn: str | None
    call_number: str | None
    library_id: int
    library_name: str
    regency_code: str
    opening_hours: str
    is_sample: bool
    holders: int = 1  # libraries that have this book (the same work), this one included


@dataclass(frozen=True, slots=True)
class SearchResult:
    books: list[Book]
    total: int  # at most RESULT_CAP
    partial: bool  # no book had every word; these have some of them


class CatalogueSearch(Protocol):
    """What the conversation needs of a catalogue index, whatever the database engine."""

    async def search(
        self, *, text: str, home_regency: str | None, offset: int, limit: int
    ) -> SearchResult: ...

    async def holdings(self, *, record_id: int, home_regency: str | None) -> list[Book]: ...

    async def searchable(self) -> bool: ...


def _split(value: str) -> tuple[str, ...]:
    return tuple(v for v in value.split("; ") if v)


_BOOK_COLUMNS = (
    "r.id, r.title, r.authors, r.subjects, r.year, r.publisher, r.isbn, r.call_number, "
    "l.id AS library_id, l.name AS library_name, l.regency_code, l.opening_hours, r.is_sample, "
    "(SELECT count(DISTINCT w.library_id) FROM catalogue_records w WHERE w.work_key = r.work_key) "
    "AS holders"
)


def _book(row: Any) -> Book:
    return Book(
        record_id=row["id"],
        title=row["title"],
        authors=_split(row["authors"]),
        subjects=_split(row["subjects"]),
        year=row["year"],
        publisher=row["publisher"],
        isbn=row["isbn"],
        call_number=row["call_number"],
        library_id=row["library_id"],
        library_name=row["library_name"],
        regency_code=row["regency_code"],
        opening_hours=row["opening_hours"],
        is_sample=bool(row["is_sample"]),
        holders=int(row["holders"]),
    )


def staging_row(library_id: int, record: BookRecord) -> tuple[object, ...]:
    """The staging row of one harvested record. Pure Python (stems, fingerprint): the harvest
    computes it on its own thread, not on the event loop."""
    if record.deleted:
        return (library_id, record.identifier, 1, "", "", "", "", None, None, None, None, None)
    authors = "; ".join(record.authors)
    terms = json.dumps(sorted(set(words(f"{record.title} {' '.join(record.subjects)} {authors}"))))
    subjects = "; ".join(record.subjects)
    fields = (
        record.title,
        authors,
        subjects,
        stems(f"{record.title} {subjects}"),
        record.publisher,
        record.year,
        record.call_number,
        record.isbn,
        record.language,
    )
    return (
        library_id,
        record.identifier,
        0,
        *fields,
        work_key(record.title, record.authors[0] if record.authors else None),
        digest(fields),
        terms,
    )


# Upserts spelled the way SQLite and PostgreSQL both read (a record listed twice in one
# harvest keeps its last version).
_RESTAGE = """
ON CONFLICT (library_id, identifier) DO UPDATE SET
    deleted = excluded.deleted, title = excluded.title, authors = excluded.authors,
    subjects = excluded.subjects, stems = excluded.stems, publisher = excluded.publisher,
    year = excluded.year, call_number = excluded.call_number, isbn = excluded.isbn,
    language = excluded.language, work_key = excluded.work_key, digest = excluded.digest,
    terms = excluded.terms
"""
_STAGE = (
    """
INSERT INTO catalogue_staging
    (library_id, identifier, deleted, title, authors, subjects, stems, publisher, year,
     call_number, isbn, language, work_key, digest, terms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
    + _RESTAGE
)
_STAGE_DELETED = (
    """
INSERT INTO catalogue_staging
    (library_id, identifier, deleted, title, authors, subjects, stems, publisher, year,
     call_number, isbn, language, work_key, digest, terms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', '[]')
"""
    + _RESTAGE
)

# Only what changed is written: an unchanged record keeps its row and its index entry, so a
# nightly full harvest of a big SLiMS catalogue is a short transaction.
_APPLY = """
INSERT INTO catalogue_records
    (library_id, identifier, title, authors, subjects, stems, publisher, year, call_number, isbn,
     language, work_key, digest, is_sample)
SELECT library_id, identifier, title, authors, subjects, stems, publisher, year, call_number,
       isbn, language, work_key, digest, :sample
FROM catalogue_staging WHERE library_id = :library AND deleted = 0 AND true
ON CONFLICT (library_id, identifier) DO UPDATE SET
    title = excluded.title, authors = excluded.authors, subjects = excluded.subjects,
    stems = excluded.stems, publisher = excluded.publisher, year = excluded.year,
    call_number = excluded.call_number, isbn = excluded.isbn, language = excluded.language,
    work_key = excluded.work_key, digest = excluded.digest, is_sample = excluded.is_sample
WHERE catalogue_records.digest <> excluded.digest
   OR catalogue_records.is_sample <> excluded.is_sample
"""


# The words the index holds, for the typo tolerance: a B-tree lookup per candidate instead of
# fts5vocab, which reads a word's whole posting list to count it (milliseconds for a common
# word). Words of removed records stay: a candidate that matches nothing costs nothing.
_NEW_TERMS = """
INSERT INTO catalogue_terms (term)
SELECT DISTINCT t.value FROM catalogue_staging s, json_each(s.terms) t
WHERE s.library_id = :library AND s.deleted = 0
ON CONFLICT (term) DO NOTHING
"""
_NEW_TERMS_PG = """
INSERT INTO catalogue_terms (term)
SELECT DISTINCT jsonb_array_elements_text(s.terms::jsonb) FROM catalogue_staging s
WHERE s.library_id = :library AND s.deleted = 0
ON CONFLICT (term) DO NOTHING
"""


def _source(row: Any) -> CatalogueSource:
    def when(name: str) -> datetime | None:
        value = row[name]
        return from_db(value) if value else None

    return CatalogueSource(
        library_id=row["library_id"],
        library_slug=row["slug"],
        library_name=row["name"],
        system=row["system"],
        url=row["url"],
        records=row["records"],
        last_attempt_at=when("last_attempt_at"),
        last_success_at=when("last_success_at"),
        harvested_until=when("harvested_until"),
        last_error=row["last_error"],
        last_error_at=when("last_error_at"),
        is_sample=bool(row["is_sample"]),
    )


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class Catalogue:
    """The SQLite catalogue: sources, harvest staging and the FTS5 index."""

    def __init__(self, db: Database, *, stemming: bool = True) -> None:
        self._db = db
        # Whether searches also match Indonesian stems (see docs/catalogue.md for the figures).
        self.stemming = stemming
        # A search is several small queries (the vocabulary, then the ranked match): they run
        # together on one thread with its own read connection, off the event loop.
        self._executor: ThreadPoolExecutor | None = None
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._db.path, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 5000").fetchall()
            conn.execute("PRAGMA query_only = ON").fetchall()
            # The index of a big network is tens of MB: mapped and cached, a search reads it
            # from memory instead of with a system call per page.
            conn.execute("PRAGMA mmap_size = 268435456").fetchall()
            conn.execute("PRAGMA cache_size = -65536").fetchall()
            self._local.conn = conn
        return conn

    async def close(self) -> None:
        if self._executor is not None:
            executor, self._executor = self._executor, None
            await asyncio.get_running_loop().run_in_executor(executor, self._close_connection)
            executor.shutdown(wait=True)

    def _close_connection(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- sources ------------------------------------------------------------------------------

    async def sources(self, *, slug: str | None = None) -> list[CatalogueSource]:
        rows = await self._db.fetchall(
            "SELECT s.*, l.slug, l.name, l.is_sample FROM catalogue_sources s "
            "JOIN libraries l ON l.id = s.library_id "
            "WHERE CAST(:slug AS TEXT) IS NULL OR l.slug = :slug ORDER BY l.name",
            {"slug": slug},
        )
        return [_source(r) for r in rows]

    async def set_source(self, *, library_id: int, system: str, url: str) -> None:
        if system not in SYSTEMS:
            raise ValueError(system)
        await self._db.write(
            "INSERT INTO catalogue_sources (library_id, system, url) VALUES (?, ?, ?) "
            "ON CONFLICT (library_id) DO UPDATE SET system = excluded.system, url = excluded.url",
            (library_id, system, url),
        )

    # --- harvesting ---------------------------------------------------------------------------

    async def start_harvest(self, *, library_id: int, now: datetime) -> None:
        """Empty the library's staging area (what a crashed harvest left) and note the attempt."""
        async with self._db.transaction() as conn:
            await conn.execute("DELETE FROM catalogue_staging WHERE library_id = ?", (library_id,))
            await conn.execute(
                "UPDATE catalogue_sources SET last_attempt_at = ? WHERE library_id = ?",
                (to_db(now), library_id),
            )

    async def stage(self, rows: Sequence[tuple[object, ...]]) -> None:
        """A page of `staging_row`s, in one short transaction."""
        live = [r for r in rows if not r[2]]
        deleted = [r for r in rows if r[2]]
        async with self._db.transaction() as conn:
            if live:
                await conn.executemany(_STAGE, live)
            if deleted:
                await conn.executemany(_STAGE_DELETED, deleted)

    async def staged(self, *, library_id: int) -> int:
        row = await self._db.fetchone(
            "SELECT count(*) FROM catalogue_staging WHERE library_id = ? AND deleted = 0",
            (library_id,),
        )
        return int(row[0]) if row else 0

    async def finish_harvest(
        self,
        *,
        library_id: int,
        full: bool,
        started_at: datetime,
        now: datetime,
        is_sample: bool,
    ) -> HarvestCounts:
        """Move the staged harvest into the catalogue in one transaction. `full`: records the
        harvest did not list are gone from the library (SLiMS); otherwise only the deleted
        headers remove records (an incremental INLISLite harvest)."""
        params = {"library": library_id, "sample": int(is_sample)}
        async with self._db.transaction() as conn:
            removed = 0
            cur = await conn.execute(
                "DELETE FROM catalogue_records WHERE library_id = :library AND identifier IN "
                "(SELECT identifier FROM catalogue_staging "
                " WHERE library_id = :library AND deleted = 1)",
                params,
            )
            removed += max(cur.rowcount, 0)
            if full:
                cur = await conn.execute(
                    "DELETE FROM catalogue_records WHERE library_id = :library AND identifier "
                    "NOT IN (SELECT identifier FROM catalogue_staging "
                    "        WHERE library_id = :library AND deleted = 0)",
                    params,
                )
                removed += max(cur.rowcount, 0)
            cur = await conn.execute(_APPLY, params)
            written = max(cur.rowcount, 0)
            await conn.execute(_NEW_TERMS if self._db.engine == "sqlite" else _NEW_TERMS_PG, params)
            await conn.execute("DELETE FROM catalogue_staging WHERE library_id = ?", (library_id,))
            row = await conn.fetchone(
                "SELECT count(*) FROM catalogue_records WHERE library_id = ?", (library_id,)
            )
            total = int(row[0]) if row else 0
            await conn.execute(
                "UPDATE catalogue_sources SET records = ?, last_success_at = ?, "
                "harvested_until = ?, last_error = NULL, last_error_at = NULL "
                "WHERE library_id = ?",
                (total, to_db(now), to_db(started_at), library_id),
            )
        return HarvestCounts(written=written, removed=removed, total=total)

    async def fail_harvest(self, *, library_id: int, error: str, now: datetime) -> None:
        """The harvest is abandoned: its staging rows go, the catalogue stays, the reason is
        kept for `pustaka harvest --status`."""
        async with self._db.transaction() as conn:
            await conn.execute("DELETE FROM catalogue_staging WHERE library_id = ?", (library_id,))
            await conn.execute(
                "UPDATE catalogue_sources SET last_error = ?, last_error_at = ? "
                "WHERE library_id = ?",
                (error[:500], opt_to_db(now), library_id),
            )

    # --- searching ----------------------------------------------------------------------------

    async def searchable(self) -> bool:
        """Is there any harvested book to search?"""
        row = await self._db.fetchone(
            "SELECT EXISTS (SELECT 1 FROM catalogue_records)", inline=True
        )
        return bool(row and row[0])

    def _in_index(self, conn: sqlite3.Connection, word: str) -> bool:
        """The word, or a word it begins, is in the index."""
        row = conn.execute(
            "SELECT 1 FROM catalogue_terms WHERE term >= ? AND term < ? LIMIT 1",
            (word, word + "\U0010ffff"),
        ).fetchone()
        return row is not None

    def _near_terms(self, conn: sqlite3.Connection, word: str) -> list[str]:
        # Old spellings first: "pramudya" is far likelier to mean Pramoedya than a typo.
        candidates = [*sorted(old_spellings(word)), *sorted(one_typo_away(word))]
        rows = conn.execute(
            "SELECT term FROM catalogue_terms WHERE term IN (SELECT value FROM json_each(?))",
            (json.dumps(candidates),),
        ).fetchall()
        present = {r[0] for r in rows}
        return [c for c in candidates if c in present][:_TYPO_TERMS]

    def _known(self, conn: sqlite3.Connection, word: str) -> bool:
        return (
            conn.execute("SELECT 1 FROM catalogue_terms WHERE term = ?", (word,)).fetchone()
            is not None
        )

    def _terms(self, conn: sqlite3.Connection, words: list[str]) -> list[list[str]]:
        """Each word's alternatives: itself; as a prefix too when it is not a whole indexed
        word (a prefix merges many words' lists, which a million records make slow); and the
        indexed words one typo or an old spelling away when nothing in the index starts so."""
        found = []
        for word in words:
            if len(word) < 3 or word.isdigit() or self._known(conn, word):
                terms = [_fts_phrase(word)]
            else:
                terms = [_fts_phrase(word) + "*"]
                if len(word) >= 4 and not self._in_index(conn, word):
                    terms += [_fts_phrase(t) for t in self._near_terms(conn, word)]
            found.append(terms)
        return found

    def _match(self, terms: list[list[str]], words: list[str], joiner: str) -> tuple[str, str]:
        """(anywhere, title only): every word anywhere (or its Indonesian stem), and every word
        in the title."""
        title = "{title} : (" + joiner.join("(" + " OR ".join(t) + ")" for t in terms) + ")"
        anywhere = []
        for word, alternatives in zip(words, terms, strict=True):
            # The stems column holds the stems of title and subjects, so a plain phrase finds
            # "menenun" from "tenun"; a stem that differs from the word is one more phrase
            # ("petani" -> "tani"). Each phrase reads its word's whole list: no duplicates.
            root = stem(word)
            if self.stemming and root != word:
                alternatives = [*alternatives, _fts_phrase(root)]
            anywhere.append("(" + " OR ".join(alternatives) + ")")
        return joiner.join(anywhere), title

    def _ranked(
        self, conn: sqlite3.Connection, match: tuple[str, str], home: str | None
    ) -> list[int]:
        """Book ids, the resident's regency first, then by bm25 (title weighing most). When
        more books match than CANDIDATES, the newest CANDIDATES are scored, and the newest
        CANDIDATES with every word in the title are added, so title matches are not crowded
        out by the rest."""
        weights = ", ".join(str(w) for w in _WEIGHTS)
        sql = (
            f"SELECT rowid, bm25(catalogue_fts, {weights}) FROM catalogue_fts "
            "WHERE catalogue_fts MATCH ? ORDER BY rowid DESC LIMIT ?"
        )
        anywhere, title = match
        rows = conn.execute(sql, (anywhere, CANDIDATES)).fetchall()
        scored = {int(r): (1, float(score)) for r, score in rows}
        if len(rows) >= CANDIDATES:
            for rowid, score in conn.execute(sql, (title, CANDIDATES)).fetchall():
                scored[int(rowid)] = (0, float(score))
        if not scored:
            return []
        where: dict[int, tuple[str, str]] = {
            int(r[0]): (str(r[1]), str(r[2]))
            for r in conn.execute(
                "SELECT r.id, l.regency_code, r.work_key FROM catalogue_records r "
                "JOIN libraries l ON l.id = r.library_id "
                "WHERE r.id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(scored)),),
            ).fetchall()
        }
        order = sorted(
            (i for i in scored if i in where),
            key=lambda i: (where[i][0] != home, scored[i][0], scored[i][1], -i),
        )
        # One line per book: the same title in several libraries is listed once, at its copy
        # nearest the resident; "which library has it?" lists them all.
        works: set[str] = set()
        unique = []
        for i in order:
            if where[i][1] not in works:
                works.add(where[i][1])
                unique.append(i)
        return unique[:RESULT_CAP]

    def _search(self, text: str, home: str | None) -> tuple[list[int], bool]:
        words = query_words(text)
        if not words:
            return [], False
        conn = self._connection()
        terms = self._terms(conn, words)
        ranked = self._ranked(conn, self._match(terms, words, " AND "), home)
        if ranked or len(words) == 1:
            return ranked, False
        # No book has every word ("novel pramoedya" where the subject says "fiksi"): books
        # with some of them, best first, said to be a partial match.
        ranked = self._ranked(conn, self._match(terms, words, " OR "), home)
        return ranked, bool(ranked)

    async def search(
        self, *, text: str, home_regency: str | None, offset: int, limit: int
    ) -> SearchResult:
        if self._db.engine != "sqlite":
            ids, partial = await self._search_pg(text, home_regency)
        else:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalogue")
            loop = asyncio.get_running_loop()
            ids, partial = await loop.run_in_executor(
                self._executor, self._search, text, home_regency
            )
        page = ids[offset : offset + limit]
        return SearchResult(books=await self._books(page), total=len(ids), partial=partial)

    async def _search_pg(self, text: str, home: str | None) -> tuple[list[int], bool]:
        """PostgreSQL: the weighted tsvector of migration 0018 with a GIN index, ranked by
        ts_rank (title, then subjects, then authors, then stems); a word that is not a whole
        indexed word also as a prefix, one typo or an old spelling away when nothing in the
        index starts so, and its Indonesian stem: the same rules as SQLite's FTS5 search."""
        words = query_words(text)
        if not words:
            return [], False
        alternatives: list[list[str]] = []
        for word in words:
            terms = [word]
            known = await self._db.fetchone("SELECT 1 FROM catalogue_terms WHERE term = ?", (word,))
            if known is None and len(word) >= 3 and not word.isdigit():
                terms = [f"{word}:*"]
                begins = await self._db.fetchone(
                    "SELECT 1 FROM catalogue_terms WHERE starts_with(term, ?) LIMIT 1", (word,)
                )
                if begins is None and len(word) >= 4:
                    candidates = [*sorted(old_spellings(word)), *sorted(one_typo_away(word))]
                    rows = await self._db.fetchall(
                        "SELECT term FROM catalogue_terms "
                        "WHERE term IN (SELECT value FROM json_each(?))",
                        (json.dumps(candidates),),
                    )
                    present = {r[0] for r in rows}
                    terms += [c for c in candidates if c in present][:_TYPO_TERMS]
            root = stem(word)
            if self.stemming and root != word:
                terms.append(root)
            alternatives.append(terms)

        async def ranked(joiner: str) -> list[int]:
            query = joiner.join("(" + " | ".join(t) + ")" for t in alternatives)
            rows = await self._db.fetchall(
                "SELECT r.id, r.work_key FROM catalogue_records r "
                "JOIN libraries l ON l.id = r.library_id, to_tsquery('simple', ?) q "
                "WHERE r.search @@ q ORDER BY l.regency_code IS NOT ?, "
                "ts_rank('{0.2, 0.3, 0.5, 1.0}', r.search, q, 1) DESC, r.id DESC LIMIT ?",
                (query, home, RESULT_CAP * 3),
            )
            works: set[str] = set()
            unique = []
            for row in rows:
                if row[1] not in works:
                    works.add(row[1])
                    unique.append(int(row[0]))
            return unique[:RESULT_CAP]

        found = await ranked(" & ")
        if found or len(words) == 1:
            return found, False
        found = await ranked(" | ")
        return found, bool(found)

    async def _books(self, ids: list[int]) -> list[Book]:
        if not ids:
            return []
        rows = await self._db.fetchall(
            f"SELECT {_BOOK_COLUMNS} FROM catalogue_records r "
            "JOIN libraries l ON l.id = r.library_id "
            "WHERE r.id IN (SELECT CAST(value AS INTEGER) FROM json_each(?))",
            (str(ids).replace(" ", ""),),
            inline=True,
        )
        by_id = {row["id"]: _book(row) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    async def holdings(self, *, record_id: int, home_regency: str | None) -> list[Book]:
        """The libraries that have this book (the same work): the resident's regency first."""
        rows = await self._db.fetchall(
            f"SELECT {_BOOK_COLUMNS} FROM catalogue_records r "
            "JOIN libraries l ON l.id = r.library_id "
            "WHERE r.work_key = (SELECT work_key FROM catalogue_records WHERE id = ?) "
            "ORDER BY l.regency_code IS NOT ?, r.id <> ?, l.name LIMIT 20",
            (record_id, home_regency, record_id),
            inline=True,
        )
        if not rows:
            raise NotFound("book", record_id)
        return [_book(r) for r in rows]


__all__ = [
    "SYSTEMS",
    "Book",
    "BookRecord",
    "Catalogue",
    "CatalogueSearch",
    "CatalogueSource",
    "HarvestCounts",
    "SearchResult",
    "fold",
    "staging_row",
]
