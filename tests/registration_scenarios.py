"""Registration scenario steps shared by the Telegram and WhatsApp tests: the sample events they
use, test-only setup of an event, the outbox rows a flow leaves, and the first registration
(name, two answers by button, a typed village), driven through any harness with `send`/`tap`."""

from __future__ import annotations

from typing import Any, Protocol

from bot.runtime import Runtime

COMPUTER = "sampel-komputer-dasar-kupang-1"  # capacity 20, waitlist 10, asks all 3 questions
KELOR = "sampel-olahan-kelor-oelamasi"  # asks all 3 questions too


class Harness(Protocol):
    """What the Telegram and WhatsApp test harnesses have in common."""

    async def send(self, user: Any, text: str, /) -> list[Any]: ...

    async def tap(self, user: Any, payload: str, /) -> list[Any]: ...


async def event_id(runtime: Runtime, slug: str) -> int:
    rows = await runtime.storage.db.reader.execute_fetchall(
        "SELECT id FROM events WHERE slug = ?", (slug,)
    )
    return int(rows[0][0])


async def set_event(runtime: Runtime, event: int, **values: object) -> None:
    """Test setup only: shape an event (seats, times) the way a librarian would."""
    assignments = ", ".join(f"{column} = ?" for column in values)
    async with runtime.storage.db.transaction() as conn:
        await conn.execute(
            f"UPDATE events SET {assignments} WHERE id = ?", (*values.values(), event)
        )


async def resident_id(runtime: Runtime, user: object, channel: str = "telegram") -> int:
    found = await runtime.storage.residents.find(channel=channel, external_id=str(user))
    assert found is not None
    return found.id


async def own_registration(
    runtime: Runtime, user: object, event: int, channel: str = "telegram"
) -> int:
    """The id of the registration `user` made for themself (not for someone else)."""
    mine = await runtime.storage.registrations.for_resident(
        resident_id=await resident_id(runtime, user, channel), event_id=event
    )
    return next(r.id for r in mine if not r.is_proxy)


async def register_first_time(harness: Harness, user: object, event: int, name: str) -> None:
    """Up to the summary: name typed, gender and age band tapped, village typed."""
    await harness.tap(user, f"reg:{event}")
    await harness.send(user, name)
    await harness.tap(user, "rq:female")
    await harness.tap(user, "rq:18_35")
    await harness.send(user, "Oesapa")


async def outbox_rows(runtime: Runtime, kind: str) -> list[dict[str, object]]:
    rows = await runtime.storage.db.reader.execute_fetchall(
        "SELECT dedupe_key, recipient, language, params FROM outbox WHERE kind = ? ORDER BY id",
        (kind,),
    )
    return [dict(r) for r in rows]
