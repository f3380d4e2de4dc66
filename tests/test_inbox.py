"""The durable inbox (bot/inbox.py, storage/inbox.py) on both engines: a re-delivered update is
dropped by its id, a person's updates are handled one at a time in arrival order whichever
runner (instance) stored them, and updates a dead runner left are taken over after its lease."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

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


async def test_a_handler_running_past_the_lease_keeps_the_turn(inbox: Inbox) -> None:
    lease = timedelta(seconds=2)  # times are stored to the second
    started, finish = asyncio.Event(), asyncio.Event()
    handled: list[str] = []

    async def slow(payload: str) -> None:
        started.set()
        await finish.wait()  # a report, a slow catalogue: longer than several leases
        handled.append(payload)

    holder = InboxRunner(inbox, owner="holder", lease=lease)
    holder.register("telegram", slow)
    other = InboxRunner(inbox, owner="other", lease=lease)
    other.register("telegram", slow)
    await holder.accept(channel="telegram", platform_id="1", person="p", payload="m1")
    await started.wait()
    # Over two leases long, another instance keeps asking for the person's turn and sweeping.
    for _ in range(10):
        await asyncio.sleep(0.5)
        assert not await inbox.take_turn(
            channel="telegram", person="p", owner="other", now=utcnow(), lease=lease
        )
        assert await other.sweep() == 0
    finish.set()
    await holder.drain()
    assert handled == ["m1"]
    assert await inbox.counts() == {"done": 1}
    # Given back: the next update is anyone's.
    assert await inbox.take_turn(
        channel="telegram", person="p", owner="other", now=utcnow(), lease=lease
    )


class FlakyDone(Inbox):
    """The database refuses to mark updates done while `down` (a blip)."""

    def __init__(self, inbox: Inbox) -> None:
        super().__init__(inbox._db)
        self.down = True
        self.refused = 0

    async def done(self, *, item_id: int, now: datetime) -> None:
        if self.down:
            self.refused += 1
            raise ConnectionError("database blinked")
        await super().done(item_id=item_id, now=now)


async def test_the_update_is_on_record_as_answered_before_the_turn_goes(inbox: Inbox) -> None:
    flaky = FlakyDone(inbox)
    handler = Recorder()
    runner = InboxRunner(flaky, owner="a")
    runner.register("telegram", handler)
    await runner.accept(channel="telegram", platform_id="1", person="p", payload="m1")
    await until(lambda: flaky.refused >= 2)
    # Answered, but not yet on record: the turn is still held, so nobody answers it again.
    assert handler.handled == ["m1"]
    assert not await inbox.take_turn(
        channel="telegram", person="p", owner="b", now=utcnow(), lease=timedelta(seconds=30)
    )
    assert await inbox.counts() == {"pending": 1}
    flaky.down = False
    await runner.drain()
    assert await inbox.counts() == {"done": 1}
    assert handler.handled == ["m1"]
