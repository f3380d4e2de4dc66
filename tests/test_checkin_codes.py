"""Check-in codes are random, unique and readable, on both engines: not computable from the
event's id (0019's formula), distinct across a 20,000-event import, given to events created in
the chat, and never changed once given."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.runtime import Runtime
from storage import Storage, checkin_codes
from storage.checkin_codes import ALPHABET, LENGTH
from storage.clock import utcnow
from storage.content import AliasRecord, ContentRepo, EventRecord, LibraryRecord
from storage.staff_events import NewEvent
from tests.staff_support import ADMIN
from tests.staff_support import settings as settings  # noqa: F401 - fixture with an admin
from tests.telegram_harness import TelegramHarness, texts

START = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)
LIBRARY = LibraryRecord(
    slug="perpus-kode",
    name="Perpustakaan Uji Kode",
    level="regency",
    regency_code="ende",
    village=None,
    address="Jl. Uji",
    opening_hours="08-15",
    contact=None,
    services=(),
)


@dataclass(frozen=True)
class _Content:
    events: list[EventRecord]
    libraries: list[LibraryRecord] = field(default_factory=lambda: [LIBRARY])
    aliases: list[AliasRecord] = field(default_factory=list)


def _events(count: int, prefix: str = "kode") -> list[EventRecord]:
    return [
        EventRecord(
            slug=f"{prefix}-{n}",
            library_slug=LIBRARY.slug,
            title=f"Kelas {n}",
            category="computer",
            description="",
            place=None,
            starts_at=START + timedelta(hours=n),
            ends_at=START + timedelta(hours=n + 2),
            capacity=20,
            waitlist_limit=None,
            questions=(),
            status="open",
            registration_opens_at=None,
            registration_closes_at=None,
        )
        for n in range(count)
    ]


def _formula_of_0019(event_id: int) -> str:
    """The code migration 0019 derived from an event's id (public, so it must not be used)."""
    value = (event_id * 131071 + 7654321) % 25**6
    return "".join(ALPHABET[value // 25 ** (5 - n) % 25] for n in range(6))


def _number(code: str) -> int:
    return sum(ALPHABET.index(ch) * 25 ** (5 - n) for n, ch in enumerate(code))


@pytest.fixture
async def storage(db_target: str) -> AsyncIterator[Storage]:
    opened = await Storage.open(db_target)
    yield opened
    await opened.close()


async def _codes(storage: Storage) -> dict[int, str]:
    rows = await storage.db.fetchall("SELECT id, checkin_code FROM events ORDER BY id")
    return {int(row[0]): row[1] for row in rows}


def _readable(code: str | None) -> bool:
    return code is not None and len(code) == LENGTH and all(ch in ALPHABET for ch in code)


async def test_codes_of_consecutive_events_cannot_be_computed_from_the_id(
    storage: Storage,
) -> None:
    await ContentRepo(storage.db).import_content(
        _Content(_events(200)), is_sample=False, now=utcnow()
    )
    codes = await _codes(storage)
    assert len(codes) == 200 and all(_readable(code) for code in codes.values())
    assert all(code != _formula_of_0019(event_id) for event_id, code in codes.items())
    # Nor by any formula of the same kind (a fixed step between consecutive ids): the steps of
    # random codes are all different.
    ids = sorted(codes)
    pairs = zip(ids, ids[1:], strict=False)
    steps = {(_number(codes[b]) - _number(codes[a])) % 25**6 for a, b in pairs}
    assert len(steps) > 190


async def test_a_20000_event_import_gets_20000_distinct_readable_codes(storage: Storage) -> None:
    result = await ContentRepo(storage.db).import_content(
        _Content(_events(20_000)), is_sample=False, now=utcnow()
    )
    assert result.events_inserted == 20_000
    codes = list((await _codes(storage)).values())
    assert len(codes) == 20_000 and len(set(codes)) == 20_000
    assert all(_readable(code) for code in codes)
    assert not set("".join(codes)) & set("0O1IL5SZ2B8")


async def test_a_taken_code_is_drawn_again_and_never_fails_the_insert(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = ContentRepo(storage.db)
    await repo.import_content(_Content(_events(1, "first")), is_sample=False, now=utcnow())
    (taken,) = (await _codes(storage)).values()
    # The random source draws the existing event's code first, then one code twice in a row:
    # the first new event may not take the existing code, the second not the first one's.
    draws: Iterator[str] = iter([taken, "CCCCCC", "CCCCCC", "DDDDDD", "EEEEEE", "FFFFFF"])
    monkeypatch.setattr(checkin_codes, "random_code", lambda: next(draws))
    await repo.import_content(
        _Content(_events(1, "first") + _events(2, "new")), is_sample=False, now=utcnow()
    )
    codes = await _codes(storage)
    assert sorted(codes.values()) == sorted([taken, "CCCCCC", "DDDDDD"])


async def test_codes_once_given_stay_through_reimports_and_new_events(storage: Storage) -> None:
    repo = ContentRepo(storage.db)
    await repo.import_content(_Content(_events(30)), is_sample=False, now=utcnow())
    before = await _codes(storage)
    await repo.import_content(_Content(_events(40)), is_sample=False, now=utcnow())
    after = await _codes(storage)
    assert {i: after[i] for i in before} == before
    assert len(set(after.values())) == 40 and all(_readable(c) for c in after.values())


async def test_an_event_staff_create_gets_a_random_code(storage: Storage) -> None:
    await ContentRepo(storage.db).import_content(_Content([]), is_sample=False, now=utcnow())
    library = await storage.staff.library_id(slug=LIBRARY.slug)
    assert library is not None
    new = NewEvent(
        library_id=library,
        title="Kelas Menulis",
        category="other",
        description="",
        place=None,
        starts_at=START,
        ends_at=START + timedelta(hours=2),
        capacity=None,
        registration_closes_at=None,
        questions=(),
        status="open",
    )
    made = [
        await storage.staff_events.create(new, actor="telegram:1", role="admin", now=START)
        for _ in range(5)
    ]
    codes = await _codes(storage)
    assert all(_readable(codes[i]) and codes[i] != _formula_of_0019(i) for i in made)
    assert len({codes[i] for i in made}) == 5
    assert await storage.registrations.event_by_code(code=codes[made[0]]) == made[0]


async def test_an_event_created_in_the_chat_shows_its_random_code(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    await tg.send(ADMIN, "/beriperan 7311 pustakawan perpus-ende")
    await tg.send(7311, "/acarabaru")
    await tg.send(7311, "Kelas Menulis Surat Lamaran")
    await tg.tap(7311, "nev:c:computer")
    await tg.send(7311, "-")
    await tg.send(7311, "-")
    day = (utcnow() + timedelta(days=10)).astimezone(ZoneInfo(runtime.settings.timezone))
    await tg.send(7311, day.strftime("%d-%m-%Y 09.00-12.00"))
    await tg.send(7311, "20")
    await tg.send(7311, "-")
    await tg.tap(7311, "nev:q:done")
    saved = texts(await tg.tap(7311, "nev:save:open"))
    row = await runtime.storage.db.fetchone(
        "SELECT id, checkin_code FROM events WHERE title = 'Kelas Menulis Surat Lamaran'"
    )
    assert row is not None and _readable(row[1])
    assert row[1] != _formula_of_0019(int(row[0]))
    assert f"Kode hadir: {row[1]}" in saved
