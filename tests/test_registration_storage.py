"""Storage-level invariants of registration: seats never over- or under-filled, waitlist in
arrival order, promotions through the outbox, proxies, attendance windows."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import timedelta
from pathlib import Path

import pytest

from storage import Storage
from storage.checkin_codes import assign_checkin_codes
from storage.clock import to_db, utcnow
from storage.errors import ConsentRequired
from storage.registrations import (
    CODE_ALPHABET,
    CODE_LENGTH,
    AlreadyCancelled,
    AlreadyRegistered,
    Answers,
    CancelClosed,
    CheckInClosed,
    EventCancelled,
    EventFull,
    ProxyLimitReached,
    RegistrationClosed,
    WrongCode,
)

NOW = utcnow()


async def make_event(
    storage: Storage,
    *,
    capacity: int | None = 100,
    waitlist: int | None = None,
    starts_in: timedelta = timedelta(days=3),
    hours: int = 2,
    status: str = "open",
    slug: str | None = None,
) -> int:
    async with storage.db.transaction() as conn:
        row = await conn.fetchone("SELECT id FROM libraries LIMIT 1")
        if row is None:
            await conn.execute(
                "INSERT INTO libraries (slug, name, level, regency_code, address, opening_hours)"
                " VALUES ('lib', 'Perpustakaan Uji', 'regency', 'ende', 'Jl. Uji', '08-15')"
            )
            library_id = 1
        else:
            library_id = row[0]
        starts = NOW + starts_in
        cur = await conn.execute(
            "INSERT INTO events (slug, library_id, title, category, starts_at, ends_at, capacity,"
            " waitlist_limit, status) VALUES (?, ?, 'Kelas Uji', 'computer', ?, ?, ?, ?, ?)",
            (
                slug or f"ev-{random.random()}",
                library_id,
                to_db(starts),
                to_db(starts + timedelta(hours=hours)),
                capacity,
                waitlist,
                status,
            ),
        )
        assert cur.lastrowid is not None
        await assign_checkin_codes(conn)  # as every writer of events does
        return cur.lastrowid


async def make_residents(storage: Storage, count: int, *, consent: bool = True) -> list[int]:
    async with storage.db.transaction() as conn:
        (start,) = await conn.fetchone("SELECT coalesce(max(id), 0) FROM residents")  # type: ignore[misc]
        ids = []
        for n in range(count):
            cur = await conn.execute(
                "INSERT INTO residents (channel, external_id, language, consent_at, created_at,"
                " updated_at) VALUES ('telegram', ?, 'id', ?, ?, ?)",
                (str(900000 + start + n), to_db(NOW) if consent else None, to_db(NOW), to_db(NOW)),
            )
            assert cur.lastrowid is not None
            ids.append(cur.lastrowid)
    return ids


@pytest.fixture
async def storage(db_target: str) -> Storage:
    opened = await Storage.open(db_target)
    yield opened  # type: ignore[misc]
    await opened.close()


async def seats_taken(storage: Storage, event_id: int) -> int:
    return (await storage.events.get(event_id=event_id)).seats_taken


async def outbox(storage: Storage, kind: str) -> list[dict[str, object]]:
    rows = await storage.db.reader.fetchall(
        "SELECT dedupe_key, kind, recipient, resident_id, event_id, params FROM outbox "
        "WHERE kind = ? ORDER BY id",
        (kind,),
    )
    return [dict(r) for r in rows]


async def test_thousand_concurrent_registrations_for_hundred_seats(storage: Storage) -> None:
    event_id = await make_event(storage, capacity=100)
    people = await make_residents(storage, 1000)
    results = await asyncio.gather(
        *(
            storage.registrations.register(
                event_id=event_id, resident_id=rid, name=f"Warga {rid}", now=NOW
            )
            for rid in people
        )
    )
    statuses = [r.status for r in results]
    assert statuses.count("confirmed") == 100
    assert statuses.count("waitlisted") == 900
    if storage.db.engine == "sqlite":
        # Arrival order: the first hundred to ask got the seats, the rest wait in the order
        # they came (one process: the order of asking is the order of arriving).
        assert all(r.status == "confirmed" for r in results[:100])
        assert [r.position for r in results[100:]] == list(range(1, 901))
    else:
        # A pool of connections: arrival is the order the database took them in; every
        # waitlist place is given exactly once.
        waiting = sorted(r.position for r in results if r.status == "waitlisted")
        assert waiting == list(range(1, 901))
    assert await seats_taken(storage, event_id) == 100
    counts = await storage.registrations.counts(event_id=event_id)
    assert (counts.confirmed, counts.waitlisted) == (100, 900)


async def test_two_processes_on_one_file_never_overfill(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    first = await Storage.open(path)
    second = await Storage.open(path)
    try:
        event_id = await make_event(first, capacity=100)
        people = await make_residents(first, 1000)
        results = await asyncio.gather(
            *(
                (first if n % 2 else second).registrations.register(
                    event_id=event_id, resident_id=rid, name=f"Warga {rid}", now=NOW
                )
                for n, rid in enumerate(people)
            )
        )
        assert [r.status for r in results].count("confirmed") == 100
        assert [r.status for r in results].count("waitlisted") == 900
        assert await seats_taken(first, event_id) == 100
        # Arrival order across processes is commit order: registration ids and waitlist places
        # rise together.
        waiting = sorted((r for r in results if r.status == "waitlisted"), key=lambda r: r.id)
        assert [r.position for r in waiting] == list(range(1, 901))
        assert max(r.id for r in results if r.status == "confirmed") < waiting[0].id
    finally:
        await first.close()
        await second.close()


async def test_interleaved_cancellations_and_registrations_keep_seats_exact(
    storage: Storage,
) -> None:
    event_id = await make_event(storage, capacity=30)
    people = await make_residents(storage, 120)
    first = await asyncio.gather(
        *(
            storage.registrations.register(event_id=event_id, resident_id=rid, name="A", now=NOW)
            for rid in people[:60]
        )
    )
    rng = random.Random(7)
    to_cancel = rng.sample(first, 40)
    jobs = [
        storage.registrations.cancel(registration_id=r.id, resident_id=r.resident_id or 0, now=NOW)
        for r in to_cancel
    ] + [
        storage.registrations.register(event_id=event_id, resident_id=rid, name="B", now=NOW)
        for rid in people[60:]
    ]
    rng.shuffle(jobs)
    await asyncio.gather(*jobs)
    counts = await storage.registrations.counts(event_id=event_id)
    live = 60 - 40 + 60
    # Never over-filled, and never a free seat while someone waits.
    assert counts.confirmed == 30 == await seats_taken(storage, event_id)
    assert counts.waitlisted == live - 30
    promotions = await outbox(storage, "promotion")
    assert len(promotions) == len({p["dedupe_key"] for p in promotions})
    for row in promotions:
        params = json.loads(str(row["params"]))
        promoted = await storage.registrations.get(registration_id=params["registration_id"])
        assert row["dedupe_key"] == f"promotion:{promoted.id}"
        assert params["event_id"] == event_id


async def test_cancel_promotes_first_waitlisted_and_writes_outbox(storage: Storage) -> None:
    event_id = await make_event(storage, capacity=2)
    a, b, c, d = await make_residents(storage, 4)
    reg = storage.registrations
    ra = await reg.register(event_id=event_id, resident_id=a, name="Ana", now=NOW)
    await reg.register(event_id=event_id, resident_id=b, name="Budi", now=NOW)
    rc = await reg.register(event_id=event_id, resident_id=c, name="Citra", now=NOW)
    rd = await reg.register(event_id=event_id, resident_id=d, name="Dewi", now=NOW)
    assert (rc.status, rc.position, rd.position) == ("waitlisted", 1, 2)

    result = await reg.cancel(registration_id=ra.id, resident_id=a, now=NOW)
    assert result.cancelled.status == "cancelled"
    assert result.promoted is not None and result.promoted.id == rc.id
    assert result.promoted.status == "confirmed"
    assert (await reg.get(registration_id=rd.id)).position == 1
    assert await seats_taken(storage, event_id) == 2
    rows = await outbox(storage, "promotion")
    assert len(rows) == 1 and rows[0]["dedupe_key"] == f"promotion:{rc.id}"
    assert rows[0]["resident_id"] == c
    assert json.loads(str(rows[0]["params"])) == {"registration_id": rc.id, "event_id": event_id}

    with pytest.raises(AlreadyCancelled):
        await reg.cancel(registration_id=ra.id, resident_id=a, now=NOW)
    # Someone else's registration is not found, not cancelled.
    with pytest.raises(Exception, match="not found"):
        await reg.cancel(registration_id=rd.id, resident_id=a, now=NOW)
    # Cancelling a waitlist place frees no seat and promotes nobody.
    result = await reg.cancel(registration_id=rd.id, resident_id=d, now=NOW)
    assert result.promoted is None and await seats_taken(storage, event_id) == 2


async def test_duplicate_taps_never_take_two_seats(storage: Storage) -> None:
    event_id = await make_event(storage, capacity=5)
    (rid,) = await make_residents(storage, 1)
    results = await asyncio.gather(
        *(
            storage.registrations.register(event_id=event_id, resident_id=rid, name="X", now=NOW)
            for _ in range(10)
        ),
        return_exceptions=True,
    )
    ok = [r for r in results if not isinstance(r, BaseException)]
    dup = [r for r in results if isinstance(r, AlreadyRegistered)]
    assert len(ok) == 1 and len(dup) == 9
    assert all(d.existing.id == ok[0].id for d in dup)
    assert await seats_taken(storage, event_id) == 1


async def test_proxy_limit_and_duplicate_proxy_names(storage: Storage) -> None:
    event_id = await make_event(storage, capacity=50)
    (kader,) = await make_residents(storage, 1)
    reg = storage.registrations
    own = await reg.register(event_id=event_id, resident_id=kader, name="Kader", now=NOW)
    for n in range(3):
        await reg.register(
            event_id=event_id,
            resident_id=kader,
            name=f"Tetangga {n}",
            proxy=True,
            proxy_limit=3,
            now=NOW,
        )
    with pytest.raises(AlreadyRegistered):
        await reg.register(
            event_id=event_id, resident_id=kader, name="tetangga 1", proxy=True, now=NOW
        )
    with pytest.raises(ProxyLimitReached) as info:
        await reg.register(
            event_id=event_id, resident_id=kader, name="Lain", proxy=True, proxy_limit=3, now=NOW
        )
    assert info.value.limit == 3
    assert await seats_taken(storage, event_id) == 4
    mine = await reg.upcoming(resident_id=kader, now=NOW)
    assert [r.is_proxy for r in mine] == [False, True, True, True]
    assert mine[0].id == own.id
    # A cancelled proxy seat frees a place under the limit.
    await reg.cancel(registration_id=mine[1].id, resident_id=kader, now=NOW)
    await reg.register(
        event_id=event_id, resident_id=kader, name="Lain", proxy=True, proxy_limit=3, now=NOW
    )


async def test_refusals_closed_cancelled_full_and_consent(storage: Storage) -> None:
    reg = storage.registrations
    (rid,) = await make_residents(storage, 1)
    (nobody,) = await make_residents(storage, 1, consent=False)
    full = await make_event(storage, capacity=1, waitlist=0)
    other = (await make_residents(storage, 1))[0]
    await reg.register(event_id=full, resident_id=other, name="O", now=NOW)
    with pytest.raises(EventFull):
        await reg.register(event_id=full, resident_id=rid, name="X", now=NOW)
    with pytest.raises(ConsentRequired):
        await reg.register(event_id=full, resident_id=nobody, name="X", now=NOW)
    closed = await make_event(storage, status="closed")
    with pytest.raises(RegistrationClosed):
        await reg.register(event_id=closed, resident_id=rid, name="X", now=NOW)
    started = await make_event(storage, starts_in=timedelta(minutes=-5))
    with pytest.raises(RegistrationClosed):
        await reg.register(event_id=started, resident_id=rid, name="X", now=NOW)
    later = await make_event(storage)
    await reg.open_event(event_id=later, opens_at=NOW + timedelta(days=1))
    with pytest.raises(RegistrationClosed) as info:
        await reg.register(event_id=later, resident_id=rid, name="X", now=NOW)
    assert info.value.opens_at == NOW + timedelta(days=1)
    gone = await make_event(storage)
    await reg.cancel_event(event_id=gone, now=NOW)
    with pytest.raises(EventCancelled):
        await reg.register(event_id=gone, resident_id=rid, name="X", now=NOW)
    assert await seats_taken(storage, full) == 1


async def test_cancelled_and_rescheduled_events_tell_every_registrant(storage: Storage) -> None:
    reg = storage.registrations
    event_id = await make_event(storage, capacity=1)
    a, b = await make_residents(storage, 2)
    await reg.register(event_id=event_id, resident_id=a, name="A", now=NOW)
    await reg.register(event_id=event_id, resident_id=a, name="P1", proxy=True, now=NOW)
    await reg.register(event_id=event_id, resident_id=b, name="B", now=NOW)
    event = await storage.events.get(event_id=event_id)
    new_start = event.starts_at + timedelta(days=1)
    result = await reg.reschedule_event(
        event_id=event_id, starts_at=new_start, ends_at=new_start + timedelta(hours=2), now=NOW
    )
    assert result.notified == 2  # one message per resident, proxies included in theirs
    changed = await outbox(storage, "event_changed")
    assert {r["resident_id"] for r in changed} == {a, b}
    assert json.loads(str(changed[0]["params"]))["old_starts_at"] == to_db(event.starts_at)
    # Saving the same schedule twice is harmless.
    again = await reg.reschedule_event(
        event_id=event_id, starts_at=new_start, ends_at=new_start + timedelta(hours=2), now=NOW
    )
    assert again.notified == 0

    result = await reg.cancel_event(event_id=event_id, now=NOW)
    assert result.notified == 2
    cancelled = await outbox(storage, "event_cancelled")
    assert [r["dedupe_key"] for r in cancelled] == [
        f"event_cancelled:{event_id}:{a}",
        f"event_cancelled:{event_id}:{b}",
    ]
    assert (await reg.cancel_event(event_id=event_id, now=NOW)).notified == 0
    # Nothing is freed silently: registrations stay as they were, nobody gets "promoted".
    counts = await reg.counts(event_id=event_id)
    assert (counts.confirmed, counts.waitlisted) == (1, 2)
    mine = await reg.upcoming(resident_id=a, now=NOW)
    await reg.cancel(registration_id=mine[0].id, resident_id=a, now=NOW)
    assert await outbox(storage, "promotion") == []


async def test_check_in_window_codes_walk_ins_and_proxies(storage: Storage) -> None:
    reg = storage.registrations
    event_id = await make_event(storage, capacity=1, starts_in=timedelta(hours=2))
    a, b, c = await make_residents(storage, 3)
    await reg.register(event_id=event_id, resident_id=a, name="A", now=NOW)
    proxy = await reg.register(event_id=event_id, resident_id=a, name="Nenek", proxy=True, now=NOW)
    assert proxy.status == "waitlisted"
    code = await reg.checkin_code(event_id=event_id)
    assert len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code)
    assert not set(code) & set("S5Z2B8")  # look-alikes people misread on a board

    with pytest.raises(CheckInClosed) as info:
        await reg.check_in(resident_id=a, code=code, now=NOW)
    assert info.value.opens_at == NOW + timedelta(hours=1)
    with pytest.raises(WrongCode):
        await reg.check_in(resident_id=a, code="ZZZZZZ", now=NOW + timedelta(hours=2))

    during = NOW + timedelta(hours=2, minutes=10)
    done = await reg.check_in(resident_id=a, code=code.lower(), now=during)
    assert not done.walk_in and not done.already
    assert [p.id for p in done.proxies] == [proxy.id]
    again = await reg.check_in(resident_id=a, code=code, now=during)
    assert again.already and again.registration.id == done.registration.id
    marked = await reg.mark_proxy_present(registration_id=proxy.id, resident_id=a, now=during)
    # From the waiting list: counted as registered, not as a walk-in.
    assert marked.attended_at == during and marked.status == "confirmed"
    walk = await reg.check_in(resident_id=b, code=code, now=during)
    assert walk.walk_in
    # Someone not on the list learns nothing about a code outside its window (issue 15).
    with pytest.raises(WrongCode):
        await reg.check_in(resident_id=c, code=code, now=NOW + timedelta(hours=4))
    with pytest.raises(CheckInClosed):
        await reg.check_in(resident_id=b, code=code, now=NOW + timedelta(hours=4))
    with pytest.raises(CancelClosed):
        await reg.cancel(registration_id=done.registration.id, resident_id=a, now=during)
    counts = await reg.counts(event_id=event_id)
    assert (counts.attended, counts.walk_ins, counts.confirmed) == (3, 1, 2)


async def test_forgetting_a_resident_cancels_upcoming_and_anonymises(storage: Storage) -> None:
    reg = storage.registrations
    event_id = await make_event(storage, capacity=1)
    a, b = await make_residents(storage, 2)
    mine = await reg.register(
        event_id=event_id,
        resident_id=a,
        name="Ana",
        answers=Answers(gender="female", age_band="18_35", village="Wolotopo"),
        now=NOW,
    )
    waiting = await reg.register(event_id=event_id, resident_id=b, name="Budi", now=NOW)
    assert (await reg.remembered(resident_id=a)) is not None
    assert await reg.forget_resident(resident_id=a, now=NOW) == 1
    gone = await reg.get(registration_id=mine.id)
    assert gone.status == "cancelled" and gone.resident_id is None
    assert gone.name is None and gone.village is None and gone.gender == "female"
    assert (await reg.get(registration_id=waiting.id)).status == "confirmed"
    assert await reg.remembered(resident_id=a) is None


async def test_checkin_codes_exist_for_imported_events_and_differ(storage: Storage) -> None:
    ids = [await make_event(storage) for _ in range(50)]
    codes = {await storage.registrations.checkin_code(event_id=i) for i in ids}
    assert len(codes) == 50


async def test_lifecycle_transitions(storage: Storage) -> None:
    reg = storage.registrations
    (rid,) = await make_residents(storage, 1)
    draft = await make_event(storage, status="draft")
    with pytest.raises(RegistrationClosed):
        await reg.register(event_id=draft, resident_id=rid, name="X", now=NOW)
    assert (await reg.open_event(event_id=draft)).status == "open"
    await reg.register(event_id=draft, resident_id=rid, name="X", now=NOW)
    assert (await reg.close_event(event_id=draft)).status == "closed"
    assert (await reg.finish_event(event_id=draft)).status == "finished"
    with pytest.raises(RegistrationClosed):
        await reg.cancel_event(event_id=draft, now=NOW)
    with pytest.raises(RegistrationClosed):
        await reg.open_event(event_id=draft)
    with pytest.raises(ValueError):
        await reg.reschedule_event(event_id=draft, starts_at=NOW, ends_at=NOW, now=NOW)


def test_calendar_file_is_valid_icalendar() -> None:
    from handlers.ics import event_ics

    data = event_ics(
        uid="pustaka-1@pustaka.ntt",
        title="Pewarnaan Alami Tenun Ikat; bahan, alat & praktik — " + "é" * 60,
        starts_at=NOW,
        ends_at=NOW + timedelta(hours=2),
        location="Ruang baca, Perpustakaan Desa Wolotopo",
        description="Baris satu\nBaris dua",
        created_at=NOW,
    )
    lines = data.decode("utf-8").split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR" and lines[-1] == ""
    assert all(len(line.encode("utf-8")) <= 75 for line in lines)
    unfolded = data.decode("utf-8").replace("\r\n ", "")
    assert "SUMMARY:Pewarnaan Alami Tenun Ikat\\; bahan\\, alat & praktik" in unfolded
    assert "DESCRIPTION:Baris satu\\nBaris dua" in unfolded
    assert f"DTSTART:{NOW:%Y%m%dT%H%M%SZ}" in unfolded


async def test_check_in_codes_of_many_events_never_clash(storage: Storage) -> None:
    """3,000 events inserted in one transaction get 3,000 different readable codes (a random
    default in the database clashed on the unique index in large imports)."""
    await make_event(storage, slug="many-first")
    async with storage.db.transaction() as conn:
        for n in range(3000):
            await conn.execute(
                "INSERT INTO events (slug, library_id, title, category, description, starts_at,"
                " ends_at) SELECT ?, library_id, 'x', 'other', 'x', starts_at, ends_at"
                " FROM events WHERE slug = 'many-first'",
                (f"many-{n}",),
            )
        await assign_checkin_codes(conn)
    rows = await storage.db.fetchall("SELECT checkin_code FROM events WHERE slug LIKE 'many-%'")
    codes = {r[0] for r in rows}
    assert len(codes) == 3001  # and the first one
    assert all(len(c) == CODE_LENGTH and not set(c) & set("S5Z2B8") for c in codes)
