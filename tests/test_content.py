"""The content file: parsing and checking (bot.content) and importing (storage.content)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.content import (
    CATEGORIES,
    REGENCY_CODES,
    SAMPLE_FILE,
    Content,
    ContentError,
    load_content_file,
    parse_content,
)
from storage import Storage
from storage.clock import utcnow
from storage.content import ContentImportError, ContentRepo, EventRecord, LibraryRecord
from storage.db import Database
from storage.errors import NotFound
from storage.events import Events
from storage.libraries import Libraries

TZ = "Asia/Makassar"
TODAY = date(2026, 12, 1)
MARK = "# <-"  # put on the line a problem must be reported at

BASE = """\
libraries:
  - slug: perpus-uji
    name: Perpustakaan Uji
    level: regency
    regency: ende
    address: Jl. Uji
    opening_hours: Senin–Jumat 08.00–15.00
events:
  - slug: acara-satu
    library: perpus-uji
    title: Pelatihan Komputer Dasar
    category: computer
    description: Belajar komputer.
    starts: "2026-12-12 09:00"
    duration_minutes: 120
    capacity: 25
  - slug: acara-dua
    library: perpus-uji
    title: Mendongeng
    category: children
    description: Cerita.
    starts: "+5 10:00"
    ends: "+5 11:30"
"""


def parse(text: str, known_library_slugs: frozenset[str] = frozenset()) -> Content:
    return parse_content(text, timezone=TZ, today=TODAY, known_library_slugs=known_library_slugs)


def edit(*replacements: tuple[str, str]) -> str:
    text = BASE
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def marked_line(text: str) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if MARK in line]
    assert len(lines) == 1, "mark exactly one line"
    return lines[0]


@pytest.fixture
async def db(db_target: str) -> AsyncIterator[Database]:
    database = await Database.open(db_target)
    yield database
    await database.close()


async def snapshot(db: Database) -> dict[str, list[tuple[object, ...]]]:
    tables = {}
    for table in ("libraries", "events"):
        tables[table] = [
            tuple(row) for row in await db.reader.fetchall(f"SELECT * FROM {table} ORDER BY id")
        ]
    return tables


def wita_today() -> date:
    return datetime.now(ZoneInfo(TZ)).date()


def load_sample(today: date | None = None) -> Content:
    return load_content_file(SAMPLE_FILE, timezone=TZ, today=today or wita_today())


# --- parsing --------------------------------------------------------------------------------


def test_base_file_parses_with_local_times_as_utc() -> None:
    content = parse(BASE)

    [library] = content.libraries
    assert library == LibraryRecord(
        slug="perpus-uji",
        name="Perpustakaan Uji",
        level="regency",
        regency_code="ende",
        village=None,
        address="Jl. Uji",
        opening_hours="Senin–Jumat 08.00–15.00",
        contact=None,
        services=(),
    )
    first, second = content.events
    # 09:00 WITA is 01:00 UTC.
    assert first.starts_at == datetime(2026, 12, 12, 1, 0, tzinfo=UTC)
    assert first.ends_at == datetime(2026, 12, 12, 3, 0, tzinfo=UTC)
    assert first.capacity == 25
    # Defaults of the optional keys.
    assert (first.status, first.waitlist_limit, first.questions, first.place) == (
        "open",
        None,
        (),
        None,
    )
    assert second.capacity is None


def test_relative_dates_count_from_today_in_local_time() -> None:
    content = parse(
        edit(
            ('starts: "+5 10:00"', 'starts: "+0 07.30"'),
            ('ends: "+5 11:30"', 'ends: "+1 7:45"'),
            (
                "    capacity: 25\n",
                '    capacity: 25\n    registration_opens: "+0 08:00"\n'
                '    registration_closes: "+10 17:00"\n',
            ),
        )
    )
    first, second = content.events
    # 07.30 WITA on 1 December is still 30 November in UTC.
    assert second.starts_at == datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert second.ends_at == datetime(2026, 12, 1, 23, 45, tzinfo=UTC)
    assert first.registration_opens_at == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert first.registration_closes_at == datetime(2026, 12, 11, 9, 0, tzinfo=UTC)

    now = parse(BASE)
    week_later = parse_content(BASE, timezone=TZ, today=TODAY + timedelta(days=7))
    assert week_later.events[1].starts_at - now.events[1].starts_at == timedelta(days=7)
    assert week_later.events[0].starts_at == now.events[0].starts_at  # absolute dates stay put


def test_events_may_refer_to_libraries_already_in_the_database() -> None:
    text = edit(
        (
            "library: perpus-uji\n    title: Mendongeng",
            "library: perpus-lama\n    title: Mendongeng",
        )
    )
    with pytest.raises(ContentError):
        parse(text)
    content = parse(text, known_library_slugs=frozenset({"perpus-lama"}))
    assert content.events[1].library_slug == "perpus-lama"


BROKEN = [
    pytest.param(
        edit(("title: Mendongeng", 'title: "Mendongeng  # <-')),
        'the " quote opened on this line is not closed (YAML stopped at line 22)',
        id="syntax-open-quote",
    ),
    pytest.param(
        edit(('ends: "+5 11:30"', 'ends: "+5 11:30  # <-')),
        "not valid YAML: while scanning a quoted scalar, found unexpected end of stream",
        id="syntax-open-quote-at-the-end",
    ),
    pytest.param(
        edit(("    category: children", "    category children  # <-")),
        "not valid YAML",
        id="syntax-missing-colon",
    ),
    pytest.param(
        edit(("    title: Mendongeng", "\ttitle: Mendongeng  # <-")),
        "indent with spaces, not tabs",
        id="syntax-tab",
    ),
    pytest.param(
        edit(("capacity: 25", "capasity: 25  # <-")),
        "events[1] has an unknown key 'capasity' (did you mean 'capacity'?)",
        id="unknown-key",
    ),
    pytest.param(
        edit(("    address: Jl. Uji", "    address: Jl. Uji\n    website: x  # <-")),
        "libraries[1] has an unknown key 'website' (known keys: slug, name, level,",
        id="unknown-key-listed",
    ),
    pytest.param(
        edit(("category: children", "category: cooking  # <-")),
        "events[2].category must be one of: computer, food, marketing, english, children, "
        "weaving, other (got 'cooking')",
        id="bad-category",
    ),
    pytest.param(
        edit(('starts: "2026-12-12 09:00"', 'starts: "2026-02-30 09:00"  # <-')),
        "events[1].starts is not a real date and time (got '2026-02-30 09:00')",
        id="impossible-date",
    ),
    pytest.param(
        edit(('starts: "+5 10:00"', "starts: Jumat depan  # <-")),
        'events[2].starts must be a local date and time like "2026-12-12 09:00"',
        id="bad-date-format",
    ),
    pytest.param(
        edit(('starts: "+5 10:00"', "starts: 2026-12-12  # <-")),
        "events[2].starts must be a local date and time",
        id="date-without-time",
    ),
    pytest.param(
        edit(
            ("library: perpus-uji\n    title: Mendongeng", "library: perpus-x  # <-\n    title: M")
        ),
        "events[2].library 'perpus-x' is not a library in this file or in the database",
        id="unknown-library",
    ),
    pytest.param(
        edit(("slug: acara-dua", "slug: acara-satu  # <-")),
        "events[2].slug 'acara-satu' is already used on line 9",
        id="duplicate-event-slug",
    ),
    pytest.param(
        edit(
            (
                "events:",
                "  - slug: perpus-uji  # <-\n    name: Lagi\n    level: regency\n"
                "    regency: sikka\n    address: Jl. Lain\n    opening_hours: Senin\nevents:",
            )
        ),
        "libraries[2].slug 'perpus-uji' is already used on line 2",
        id="duplicate-library-slug",
    ),
    pytest.param(
        edit(('ends: "+5 11:30"', 'ends: "+5 09:30"  # <-')),
        "events[2].ends must be after starts",
        id="ends-before-starts",
    ),
    pytest.param(
        edit(('ends: "+5 11:30"', 'ends: "+5 10:00"  # <-')),
        "events[2].ends must be after starts",
        id="ends-equals-starts",
    ),
    pytest.param(
        edit(("capacity: 25", "capacity: 0  # <-")),
        "events[1].capacity must be a positive whole number (got '0')",
        id="capacity-zero",
    ),
    pytest.param(
        edit(("capacity: 25", "capacity: yes  # <-")),
        "events[1].capacity must be a positive whole number (got 'yes')",
        id="capacity-boolean",
    ),
    pytest.param(
        edit(("capacity: 25", "capacity: 2.5  # <-")),
        "events[1].capacity must be a positive whole number (got '2.5')",
        id="capacity-fraction",
    ),
    pytest.param(
        edit(("duration_minutes: 120", "duration_minutes: 1:30  # <-")),
        "events[1].duration_minutes must be a positive whole number of minutes (got '1:30')",
        id="duration-sexagesimal",
    ),
    pytest.param(
        edit(("  - slug: acara-dua", "  - slug: acara-dua  # <-"), ("    title: Mendongeng\n", "")),
        "events[2] is missing 'title'",
        id="missing-key",
    ),
    pytest.param(
        edit(("  - slug: acara-dua", "  - slug: acara-dua  # <-"), ('    ends: "+5 11:30"\n', "")),
        "events[2] is missing 'ends' or 'duration_minutes'",
        id="missing-end",
    ),
    pytest.param(
        edit(('ends: "+5 11:30"', 'ends: "+5 11:30"\n    duration_minutes: 60  # <-')),
        "events[2] gives both 'ends' and 'duration_minutes'; keep one",
        id="ends-and-duration",
    ),
    pytest.param(
        edit(("capacity: 25", "capacity: 25\n    capacity: 30  # <-")),
        "events[1].capacity is given twice (first on line 16)",
        id="duplicate-key",
    ),
    pytest.param(
        edit(("title: Mendongeng", "title:  # <-")),
        "events[2].title must not be empty",
        id="empty-title",
    ),
    pytest.param(
        edit(("title: Mendongeng", "title: " + "x" * 101 + "  # <-")),
        "events[2].title is 101 characters long; at most 100 are allowed",
        id="long-title",
    ),
    pytest.param(
        edit(("regency: ende", "regency: flores  # <-")),
        "libraries[1].regency must be a code listed in docs/content-file.md",
        id="bad-regency",
    ),
    pytest.param(
        edit(
            ("  - slug: perpus-uji", "  - slug: perpus-uji  # <-"),
            ("level: regency", "level: village"),
        ),
        "libraries[1].village is required for a village library",
        id="village-library-without-village",
    ),
    pytest.param(
        edit(("slug: acara-dua", "slug: Acara Dua  # <-")),
        "events[2].slug must use only lowercase letters a-z, digits and single '-' between them "
        "(got 'Acara Dua')",
        id="bad-slug",
    ),
    pytest.param(
        edit(("capacity: 25", "capacity: 25\n    questions: [gender, income]  # <-")),
        "events[1].questions may only list gender, age_band, village (got 'income')",
        id="bad-question",
    ),
    pytest.param(
        edit(('ends: "+5 11:30"', 'ends: "+5 11:30"\n    status: cancelled  # <-')),
        "events[2].status must be one of: draft, open, closed (got 'cancelled')",
        id="bad-status",
    ),
    pytest.param(
        edit(('ends: "+5 11:30"', 'ends: "+5 11:30"\n    waitlist: 5  # <-')),
        "events[2].waitlist needs a capacity",
        id="waitlist-without-capacity",
    ),
    pytest.param(
        edit(
            (
                "capacity: 25",
                'capacity: 25\n    registration_opens: "2026-12-05 08:00"\n'
                '    registration_closes: "2026-12-04 08:00"  # <-',
            )
        ),
        "events[1].registration_closes must be after registration_opens",
        id="registration-closes-before-opens",
    ),
    pytest.param(
        edit(("    address: Jl. Uji", "    address: Jl. Uji\n    services: Internet  # <-")),
        "libraries[1].services must be a list",
        id="services-not-a-list",
    ),
    pytest.param(
        BASE.split("events:")[0] + "events:\n  - acara-satu  # <-\n",
        "events[1] must be a block of 'key: value' lines, not 'acara-satu'",
        id="event-not-a-mapping",
    ),
    pytest.param(
        "libraries: []\nevent: []  # <-\n",
        "the file has an unknown key 'event' (did you mean 'events'?)",
        id="unknown-top-level-key",
    ),
    pytest.param("# nothing yet  # <-\n", "the file is empty", id="empty-file"),
]


@pytest.mark.parametrize(("text", "reason"), BROKEN)
def test_broken_file_is_refused_with_line_and_reason(text: str, reason: str) -> None:
    with pytest.raises(ContentError) as caught:
        parse(text)

    # One mistake, one complaint: no follow-on noise about the same record.
    [problem] = caught.value.problems
    assert problem.line == marked_line(text)
    assert reason in problem.reason
    assert str(caught.value) == f"line {problem.line}: {problem.reason}"


def test_every_problem_is_reported_in_line_order() -> None:
    text = edit(
        ("regency: ende", "regency: flores"),
        ("category: computer", "category: komputer"),
        ('ends: "+5 11:30"', 'ends: "+5 09:30"'),
    )
    with pytest.raises(ContentError) as caught:
        parse(text)
    assert [p.line for p in caught.value.problems] == [5, 12, 23]
    assert str(caught.value).splitlines()[1].startswith("line 12: events[1].category")


# --- reading the file -----------------------------------------------------------------------


def test_missing_file_is_a_content_error(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match="content file not found: .*nope.yaml"):
        load_content_file(tmp_path / "nope.yaml", timezone=TZ, today=TODAY)
    with pytest.raises(ContentError, match="is a folder"):
        load_content_file(tmp_path, timezone=TZ, today=TODAY)


def test_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "content.yaml"
    # Windows-1252 "é" on line 3, as an old editor would save it.
    path.write_bytes(BASE.replace("Perpustakaan Uji", "Perpustakaan Caf\u00e9").encode("cp1252"))
    with pytest.raises(ContentError) as caught:
        load_content_file(path, timezone=TZ, today=TODAY)
    assert str(caught.value).startswith("line 3: the file is not UTF-8 text (byte 0xe9)")


def test_file_with_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "content.yaml"
    path.write_bytes(BASE.encode("utf-8-sig"))
    content = load_content_file(path, timezone=TZ, today=TODAY)
    assert content.libraries[0].slug == "perpus-uji"


# --- the sample -----------------------------------------------------------------------------


def test_sample_shows_every_kind_of_library_and_event() -> None:
    content = load_sample()
    levels = [library.level for library in content.libraries]
    assert levels.count("province") == 1
    assert levels.count("regency") >= 7
    assert levels.count("village") >= 4
    assert {e.category for e in content.events} >= set(CATEGORIES) - {"other"}
    assert any(e.capacity is None for e in content.events)
    assert any(e.capacity is not None and e.capacity <= 10 for e in content.events)
    assert any(set(e.questions) == {"gender", "age_band", "village"} for e in content.events)
    # Titles end up on buttons; keep them short in bytes, not just characters.
    assert max(len(e.title.encode()) for e in content.events) <= 60
    assert SAMPLE_FILE.read_text(encoding="utf-8").startswith("# CONTOH / SAMPLE")


async def test_regency_codes_match_the_database(db: Database) -> None:
    assert {r.code for r in await Libraries(db).regencies()} == REGENCY_CODES


async def test_sample_imports_with_events_in_the_coming_weeks(db: Database) -> None:
    content = load_sample()
    repo = ContentRepo(db)

    result = await repo.import_content(content, is_sample=True, now=utcnow())

    assert (result.libraries_inserted, result.libraries_updated) == (len(content.libraries), 0)
    assert (result.events_inserted, result.events_updated) == (len(content.events), 0)
    assert len(content.libraries) >= 12
    assert len(content.events) >= 16
    assert await repo.library_slugs() == {lib.slug for lib in content.libraries}
    now = utcnow()
    listed, total = await Events(db).upcoming(now=now, until=now + timedelta(days=42), limit=100)
    assert total >= 12
    row = await db.reader.fetchone("SELECT min(starts_at), min(is_sample) FROM events")
    assert row is not None
    assert row[0] > now.strftime("%Y-%m-%dT%H:%M:%SZ")  # all in the future
    assert row[1] == 1
    assert {e.slug for e in listed} <= {e.slug for e in content.events}


async def test_reimport_updates_in_place(db: Database) -> None:
    repo = ContentRepo(db)
    await repo.import_content(load_sample(), is_sample=True, now=utcnow())
    before = await snapshot(db)

    again = await repo.import_content(load_sample(), is_sample=True, now=utcnow())

    assert (again.libraries_inserted, again.events_inserted) == (0, 0)
    assert again.libraries_updated == len(before["libraries"])
    assert again.events_updated == len(before["events"])
    assert await snapshot(db) == before
    assert str(again).startswith("0 libraries added, ")


async def test_reimport_keeps_seats_taken_and_a_cancellation(db: Database) -> None:
    repo = ContentRepo(db)
    content = parse(BASE)
    await repo.import_content(content, is_sample=False, now=utcnow())
    async with db.transaction() as conn:
        await conn.execute("UPDATE events SET seats_taken = 7 WHERE slug = 'acara-satu'")
        await conn.execute("UPDATE events SET status = 'cancelled' WHERE slug = 'acara-dua'")

    changed = parse(edit(("title: Pelatihan Komputer Dasar", "title: Komputer untuk Pemula")))
    result = await repo.import_content(changed, is_sample=False, now=utcnow())

    assert (result.events_inserted, result.events_updated) == (0, 2)
    rows = [
        tuple(r)
        for r in await db.reader.fetchall(
            "SELECT slug, title, seats_taken, status FROM events ORDER BY slug"
        )
    ]
    assert rows == [
        ("acara-dua", "Mendongeng", 0, "cancelled"),
        ("acara-satu", "Komputer untuk Pemula", 7, "open"),
    ]


async def test_events_can_be_added_to_libraries_imported_earlier(db: Database) -> None:
    repo = ContentRepo(db)
    await repo.import_content(parse(BASE), is_sample=False, now=utcnow())
    events_only = "events:\n" + BASE.split("events:\n", 1)[1].replace("acara-", "lagi-")

    content = parse(events_only, known_library_slugs=await repo.library_slugs())
    result = await repo.import_content(content, is_sample=False, now=utcnow())

    assert (result.libraries_inserted, result.events_inserted) == (0, 2)


# --- nothing half imported ------------------------------------------------------------------


async def test_broken_file_leaves_the_database_unchanged(db: Database, tmp_path: Path) -> None:
    repo = ContentRepo(db)
    await repo.import_content(parse(BASE), is_sample=False, now=utcnow())
    before = await snapshot(db)
    path = tmp_path / "content.yaml"
    path.write_text(
        BASE.replace("Perpustakaan Uji", "Nama Baru").replace("category: children", "category: x"),
        encoding="utf-8",
    )

    with pytest.raises(ContentError):
        content = load_content_file(
            path, timezone=TZ, today=TODAY, known_library_slugs=await repo.library_slugs()
        )
        await repo.import_content(content, is_sample=False, now=utcnow())

    assert await snapshot(db) == before


async def test_failure_inside_the_transaction_rolls_everything_back(db: Database) -> None:
    repo = ContentRepo(db)
    await repo.import_content(parse(BASE), is_sample=False, now=utcnow())
    before = await snapshot(db)
    good = parse(BASE.replace("Perpustakaan Uji", "Nama Baru"))
    new_library = dataclasses.replace(good.libraries[0], slug="perpus-baru")
    first, second = good.events
    # The parser would refuse this; it stands for anything only the database can catch.
    broken = dataclasses.replace(second, slug="acara-baru", ends_at=second.starts_at)
    content = Content((good.libraries[0], new_library), (first, broken))

    with pytest.raises(ContentImportError, match="event 'acara-baru' could not be saved"):
        await repo.import_content(content, is_sample=False, now=utcnow())

    assert await snapshot(db) == before


async def test_capacity_below_seats_taken_is_refused(db: Database) -> None:
    repo = ContentRepo(db)
    await repo.import_content(parse(BASE), is_sample=False, now=utcnow())
    async with db.transaction() as conn:
        await conn.execute("UPDATE events SET seats_taken = 20 WHERE slug = 'acara-satu'")
    before = await snapshot(db)

    with pytest.raises(ContentImportError, match="event 'acara-satu'"):
        await repo.import_content(
            parse(BASE.replace("capacity: 25", "capacity: 10")), is_sample=False, now=utcnow()
        )

    assert await snapshot(db) == before


async def test_a_raised_capacity_in_a_reimport_seats_the_waitlist(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "waitlist.db")
    try:
        repo = ContentRepo(storage.db)

        def with_capacity(seats: int) -> Content:
            text = BASE.replace(
                '    ends: "+5 11:30"\n', f'    ends: "+5 11:30"\n    capacity: {seats}\n'
            )
            return parse_content(text, timezone=TZ, today=wita_today())

        await repo.import_content(with_capacity(1), is_sample=False, now=utcnow())
        event_id = (await _ids(storage.db))["acara-dua"]
        registrations = []
        for user in ("1", "2", "3"):
            person = await storage.residents.ensure(
                channel="t", external_id=user, language="id", now=utcnow()
            )
            await storage.residents.give_consent(resident_id=person.id, now=utcnow())
            registrations.append(
                await storage.registrations.register(
                    event_id=event_id, resident_id=person.id, name=f"Warga {user}", now=utcnow()
                )
            )
        assert [r.status for r in registrations] == ["confirmed", "waitlisted", "waitlisted"]

        result = await repo.import_content(with_capacity(2), is_sample=False, now=utcnow())

        assert result.promoted == 1 and "1 waitlisted people got a seat" in str(result)
        now = [await storage.registrations.get(registration_id=r.id) for r in registrations]
        assert [r.status for r in now] == ["confirmed", "confirmed", "waitlisted"]
        told = await storage.db.fetchall("SELECT dedupe_key FROM outbox ORDER BY id")
        assert [row[0] for row in told] == [f"promotion:{registrations[1].id}"]
    finally:
        await storage.close()


async def _ids(db: Database) -> dict[str, int]:
    return {row[0]: row[1] for row in await db.fetchall("SELECT slug, id FROM events")}


async def test_event_of_a_library_nobody_imported_is_refused(db: Database) -> None:
    repo = ContentRepo(db)
    content = parse(BASE, known_library_slugs=frozenset({"perpus-hilang"}))
    orphan = dataclasses.replace(content.events[1], library_slug="perpus-hilang")

    with pytest.raises(NotFound):
        await repo.import_content(
            Content(content.libraries, (content.events[0], orphan)), is_sample=False, now=utcnow()
        )

    assert await snapshot(db) == {"libraries": [], "events": []}


def test_records_hold_aware_utc_datetimes() -> None:
    for event in parse(BASE).events:
        for moment in (event.starts_at, event.ends_at):
            assert moment.tzinfo is UTC
    assert isinstance(parse(BASE).events[0], EventRecord)
