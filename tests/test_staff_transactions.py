"""Every staff action is one transaction: its state change, its outbox rows and its audit entry
are kept together or not at all. Each action is run once with a write failing part-way (the
audit entry, its last write; or an outbox row after others were written) and the database must
be exactly as before; then without the failure, to show the action did write all three.
On SQLite and PostgreSQL (the `db_target` fixture)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

import storage.broadcasts as broadcasts_module
import storage.event_lifecycle as lifecycle_module
import storage.registration_sql as registration_sql
import storage.staff as staff_module
import storage.staff_events as staff_events_module
from storage import Storage
from storage.broadcasts import Audience
from storage.staff import StaffRole
from storage.staff_events import CancelNote, NewEvent
from tests.test_registration_storage import NOW, make_event, make_residents

TABLES = (
    "events",
    "event_cancellations",
    "registrations",
    "outbox",
    "audit_log",
    "broadcasts",
    "staff_roles",
)
ADMIN = StaffRole(
    channel="telegram",
    external_id="1",
    role="admin",
    regency_code=None,
    library_id=None,
    library_name=None,
    library_regency=None,
    granted_by="config",
    granted_at=NOW,
)
BODY = json.dumps({"text": "Catatan", "choices": []})


class Injected(Exception):
    """The failure made to happen part-way through an action."""


@pytest.fixture
async def storage(db_target: str) -> Any:
    opened = await Storage.open(db_target)
    yield opened
    await opened.close()


async def snapshot(storage: Storage) -> dict[str, list[tuple[object, ...]]]:
    found = {}
    for table in TABLES:
        rows = await storage.db.reader.fetchall(f"SELECT * FROM {table}")
        found[table] = sorted((tuple(r) for r in rows), key=repr)
    return found


async def seeded(storage: Storage, *, capacity: int = 2, people: int = 3) -> int:
    """An open event with `capacity` seats, everyone else waiting."""
    event_id = await make_event(storage, capacity=capacity)
    for resident in await make_residents(storage, people):
        await storage.registrations.register(
            event_id=event_id, resident_id=resident, name=f"Warga {resident}", now=NOW
        )
    return event_id


def fail_audit(monkeypatch: pytest.MonkeyPatch, module: Any) -> None:
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise Injected("audit insert failed")

    monkeypatch.setattr(module, "audit", broken)


def fail_second_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registrants' notices: the first is written, the second fails."""
    real = registration_sql.enqueue
    written = 0

    async def flaky(conn: Any, message: Any, **kwargs: Any) -> bool:
        nonlocal written
        written += 1
        if written == 2:
            raise Injected("outbox insert failed")
        return await real(conn, message, **kwargs)

    monkeypatch.setattr(registration_sql, "enqueue", flaky)


async def cancel_with_note(storage: Storage, event_id: int, _: object = None) -> object:
    return await storage.staff_events.cancel(
        event_id=event_id,
        note="Hujan deras, acara dibatalkan.",
        actor=ADMIN.actor,
        role=ADMIN.role,
        now=NOW,
        note_message=CancelNote("telegram", "1", "id", {"id": BODY, "en": BODY}),
    )


async def announce(storage: Storage, event_id: int, _: object = None) -> Any:
    return await storage.broadcasts.create(
        author=ADMIN.actor,
        author_role=ADMIN.role,
        author_channel="telegram",
        author_recipient="1",
        author_language="id",
        text="Pengumuman",
        photo=None,
        audience=Audience("all"),
        due_at=NOW,
        bodies={"id": BODY},
        now=NOW,
    )


async def _new_event(storage: Storage, event_id: int, _: object) -> object:
    event = await storage.events.get(event_id=event_id)
    return await storage.staff_events.create(
        NewEvent(
            library_id=event.library_id,
            title="Kelas baru",
            category="computer",
            description="",
            place=None,
            starts_at=NOW + timedelta(days=9),
            ends_at=NOW + timedelta(days=9, hours=2),
            capacity=10,
            registration_closes_at=None,
            questions=(),
            status="open",
        ),
        actor=ADMIN.actor,
        role=ADMIN.role,
        now=NOW,
    )


async def _mark_present(storage: Storage, event_id: int, _: object) -> object:
    people, _total = await storage.staff_events.people(event_id=event_id)
    waiting = next(p for p in people if p.status == "waitlisted")
    return await storage.staff_events.set_attended(
        event_id=event_id,
        registration_id=waiting.registration_id,
        present=True,
        now=NOW,
        actor=ADMIN.actor,
        role=ADMIN.role,
    )


async def _cancel_it(storage: Storage, event_id: int) -> object:
    return await storage.staff_events.cancel(
        event_id=event_id, note=None, actor=ADMIN.actor, role=ADMIN.role, now=NOW
    )


async def _close_it(storage: Storage, event_id: int) -> object:
    return await storage.registrations.close_event(event_id=event_id)


async def _second_admin(storage: Storage, event_id: int) -> object:
    return await storage.staff.seed_admins([("telegram", "1"), ("telegram", "2")], now=NOW)


Setup = Callable[[Storage, int], Awaitable[object]]
Act = Callable[[Storage, int, Any], Awaitable[object]]
BY: dict[str, Any] = {"actor": ADMIN.actor, "role": ADMIN.role, "now": NOW}


@dataclass(frozen=True)
class Case:
    act: Act
    audited_in: Any  # the module whose `audit` call is made to fail
    notices: bool = False  # registrants are told: an outbox row is made to fail part-way too
    setup: Setup | None = None  # committed before, unbroken


CASES = {
    "event.cancel with a note": Case(cancel_with_note, broadcasts_module, notices=True),
    "event.time": Case(
        lambda s, e, _: s.registrations.reschedule_event(
            event_id=e,
            starts_at=NOW + timedelta(days=5),
            ends_at=NOW + timedelta(days=5, hours=2),
            **BY,
        ),
        lifecycle_module,
        notices=True,
    ),
    "event.close": Case(
        lambda s, e, _: s.registrations.close_event(event_id=e, **BY), lifecycle_module
    ),
    "event.finish": Case(
        lambda s, e, _: s.registrations.finish_event(event_id=e, **BY), lifecycle_module
    ),
    "event.open": Case(
        lambda s, e, _: s.registrations.open_event(event_id=e, **BY),
        lifecycle_module,
        setup=_close_it,
    ),
    "event.place": Case(
        lambda s, e, _: s.staff_events.move(event_id=e, place="Aula baru", **BY),
        staff_events_module,
        notices=True,
    ),
    "event.capacity": Case(
        lambda s, e, _: s.staff_events.update(event_id=e, field="capacity", value=5, **BY),
        staff_events_module,
    ),
    "event.restore": Case(
        lambda s, e, _: s.staff_events.restore(
            event_id=e, actor=ADMIN.actor, role=ADMIN.role, now=NOW + timedelta(minutes=1)
        ),
        staff_events_module,
        notices=True,
        setup=_cancel_it,
    ),
    "attendance.mark": Case(_mark_present, staff_events_module),
    "event.create": Case(_new_event, staff_events_module),
    "broadcast.create": Case(announce, broadcasts_module),
    "broadcast.cancel": Case(
        lambda s, e, made: s.broadcasts.cancel(broadcast_id=made.id, **BY),
        broadcasts_module,
        setup=announce,
    ),
    "role.grant": Case(
        lambda s, e, _: s.staff.grant(
            by=ADMIN, channel="telegram", external_id="77", role="coordinator", now=NOW
        ),
        staff_module,
    ),
    "role.revoke": Case(
        lambda s, e, _: s.staff.revoke(
            by=ADMIN, channel="telegram", external_id="2", role="admin", now=NOW
        ),
        staff_module,
        setup=_second_admin,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_a_failure_part_way_keeps_nothing(
    storage: Storage, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    case = CASES[name]
    event_id = await seeded(storage)
    state = None if case.setup is None else await case.setup(storage, event_id)
    for failure in ["audit"] + (["outbox"] if case.notices else []):
        before = await snapshot(storage)
        with monkeypatch.context() as patch:
            if failure == "audit":
                fail_audit(patch, case.audited_in)
            else:
                fail_second_notice(patch)
            with pytest.raises(Injected):
                await case.act(storage, event_id, state)
        assert await snapshot(storage) == before, f"{name}: the {failure} failed, rows were kept"

    # Unbroken, the same action writes its change, its audit entry and its notices.
    before = await snapshot(storage)
    await case.act(storage, event_id, state)
    after = await snapshot(storage)
    assert len(after["audit_log"]) == len(before["audit_log"]) + (
        2 if name == "event.cancel with a note" else 1
    )
    if case.notices:
        assert len(after["outbox"]) > len(before["outbox"]), name


async def test_cancelling_with_a_note_is_one_transaction_with_everything(
    storage: Storage,
) -> None:
    """The cancellation, its notices, the note as an event message and both audit entries."""
    event_id = await seeded(storage, capacity=2, people=3)
    told = await cancel_with_note(storage, event_id)
    assert told == 3
    kinds = [
        r[0]
        for r in await storage.db.reader.fetchall("SELECT kind FROM outbox ORDER BY id")
        if r[0] != "registration_confirmed"
    ]
    assert kinds.count("event_cancelled") == 3
    # The note goes to those holding a seat (the registrants' audience), after the notices.
    assert kinds.count("event_message") == 2
    actions = [
        r[0] for r in await storage.db.reader.fetchall("SELECT action FROM audit_log ORDER BY id")
    ]
    assert actions == ["event.cancel", "broadcast.create"]
    made = await storage.db.reader.fetchall("SELECT status, recipients FROM broadcasts")
    assert [tuple(r) for r in made] == [("running", 2)]


async def test_a_note_to_nobody_still_cancels(storage: Storage) -> None:
    event_id = await make_event(storage, capacity=5)
    assert await cancel_with_note(storage, event_id) == 0
    assert (await storage.events.get(event_id=event_id)).status == "cancelled"
    assert await storage.db.reader.fetchall("SELECT id FROM broadcasts") == []
