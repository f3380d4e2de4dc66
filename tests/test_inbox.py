"""The durable inbox (bot/inbox.py, storage/inbox.py) on both engines: a re-delivered update is
dropped by its id, a person's updates are handled one at a time in arrival order whichever
runner (instance) stored them, and updates a dead runner left are taken over after its lease."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.inbox import InboxRunner
from storage import Storage
from storage.clock import utcnow
from storage.inbox import Inbox
from tests.delivery_helpers import until


@pytest.fixture
async def inbox(db_target: str) -> AsyncIterator[Inbox]:
    storage = await Storage.open(db_target)
    yield Inbox(storage.db)
    await storage.close()


class Recorder:
    """A channel's handler: records what it handled, taking a little time like a real one."""

    def __init__(self) -> None:
        self.handled: list[str] = []
        self.busy = 0
        self.overlapped = False

    async def __call__(self, payload: str) -> None:
        self.busy += 1
        self.overlapped |= self.busy > 1
        await asyncio.sleep(0.005)
        self.handled.append(payload)
        self.busy -= 1


async def test_a_redelivered_update_is_dropped(inbox: Inbox) -> None:
    handler = Recorder()
    runner = InboxRunner(inbox, owner="a")
    runner.register("telegram", handler)
    first = await runner.accept(channel="telegram", platform_id="1", person="p", payload="hi")
    again = await runner.accept(channel="telegram", platform_id="1", person="p", payload="hi")
    await runner.drain()
    assert (first, again) == (True, False)
    assert handler.handled == ["hi"]


async def test_two_runners_handle_one_persons_updates_in_order_once(inbox: Inbox) -> None:
    handler = Recorder()
    runners = [InboxRunner(inbox, owner=name) for name in ("a", "b", "c")]
    for runner in runners:
        runner.register("telegram", handler)
    # Stored one after the other (as a person types), by alternating instances; handling runs
    # concurrently with the next arrivals.
    for n in range(12):
        await runners[n % 3].accept(
            channel="telegram", platform_id=str(n), person="p", payload=f"m{n}"
        )
    for runner in runners:
        await runner.drain()
    assert handler.handled == [f"m{n}" for n in range(12)]
    assert not handler.overlapped
    assert await inbox.counts() == {"done": 12}


async def test_a_dead_runners_updates_are_taken_over_after_its_lease(inbox: Inbox) -> None:
    lease = timedelta(seconds=1)
    # An instance stored an update, took the person's turn and died before handling it.
    stored = await inbox.store(
        channel="whatsapp", platform_id="wamid.1", person="62812", payload="halo", now=utcnow()
    )
    assert stored
    assert await inbox.take_turn(
        channel="whatsapp", person="62812", owner="dead", now=utcnow(), lease=lease
    )
    handler = Recorder()
    survivor = InboxRunner(inbox, owner="alive", lease=lease)
    survivor.register("whatsapp", handler)
    assert await survivor.sweep() == 0  # the dead one's lease still runs
    assert handler.handled == []

    async def taken_over() -> bool:
        await survivor.sweep()
        return handler.handled == ["halo"]

    await until(taken_over, limit=30)
    assert await inbox.counts() == {"done": 1}
