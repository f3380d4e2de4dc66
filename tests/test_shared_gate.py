"""The rate several instances share (bot/delivery/shared.py, storage/gates.py).

What must hold: however late requests leave and however long they take to arrive, no one-second
window ever sees more arrivals than the rate; each send's share ends when it is over, told or
not; a send of several parts takes a slot per part.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable

import pytest

from bot.delivery.limits import ChannelLimiter, Limits
from bot.delivery.shared import SharedGate
from storage.db import Database
from storage.gates import ChannelGates
from tests import pg_support
from tests.scaleout_support import max_in_any_second


@pytest.fixture
async def two_instances() -> AsyncIterator[tuple[Database, Database]]:
    """Two connections to one PostgreSQL database, as two instances have."""
    url = await pg_support.create_database("pg_gate")
    first, second = await Database.open(url), await Database.open(url)
    yield first, second
    await first.close()
    await second.close()
    await pg_support.drop_database(url)


async def test_no_second_sees_more_arrivals_than_the_rate_however_late_requests_arrive(
    two_instances: tuple[Database, Database],
) -> None:
    rate = 20
    gates = [SharedGate(ChannelGates(db), "telegram", rate) for db in two_instances]
    arrivals: list[float] = []
    rng = random.Random(16)

    async def send(gate: SharedGate) -> None:
        done = await gate.take()
        # A loaded machine: the request leaves late and arrives later still, then its answer
        # takes a while; arrivals of many such requests bunch (pacing alone let them through).
        await asyncio.sleep(rng.choice([0.0, 0.0, 0.05, 0.3]))
        arrivals.append(time.monotonic())
        await asyncio.sleep(rng.choice([0.0, 0.02, 0.2]))
        done()

    async def instance(gate: SharedGate, sends: int) -> None:
        for _ in range(sends):
            await send(gate)

    # Ten senders on each instance, five sends each: 100 sends at 20 a second.
    await asyncio.gather(*(instance(gates[n % 2], 5) for n in range(20)))
    assert len(arrivals) == 100
    assert max_in_any_second(arrivals) <= rate


async def test_a_send_of_several_parts_holds_a_slot_per_part(
    two_instances: tuple[Database, Database],
) -> None:
    rate = 5
    first, second = (SharedGate(ChannelGates(db), "whatsapp", rate) for db in two_instances)
    done = await first.take(cost=3)
    held = await two_instances[0].fetchone(
        "SELECT count(*) FROM channel_slots WHERE channel = 'whatsapp' AND free_at > ?",
        (time.time() + 30,),
    )
    assert held[0] == 3
    # The other instance gets the remaining two slots, and a third only after the first frees.
    others = [await second.take() for _ in range(2)]
    assert second.waited_for_slot == 0
    third = asyncio.ensure_future(second.take())
    await asyncio.sleep(0.3)
    assert not third.done()  # all five slots are in flight
    done()
    (await third)()
    for other in others:
        other()


class _CountingShared:
    """Stands in for SharedGate: records which turns were finished."""

    def __init__(self) -> None:
        self.finished: list[int] = []
        self._turns = 0

    async def take(self, cost: int = 1) -> Callable[[], None]:
        self._turns += 1
        turn = self._turns
        return lambda: self.finished.append(turn)

    def pause(self, seconds: float) -> None:
        pass


async def test_a_turn_ends_when_told_at_the_next_turn_or_when_its_task_ends() -> None:
    limiter = ChannelLimiter(Limits(overall_rate=1000, overall_burst=1000, chat_burst=100))
    shared = _CountingShared()
    limiter.shared = shared

    async def told() -> None:
        await limiter.acquire("1")
        limiter.sent()
        assert shared.finished == [1]

    await asyncio.create_task(told())

    async def two_sends_untold() -> None:
        await limiter.acquire("2")
        await limiter.acquire("2")  # the first send is over by the time a task asks again
        assert shared.finished == [1, 2]

    await asyncio.create_task(two_sends_untold())
    await asyncio.sleep(0)  # done callbacks run
    assert shared.finished == [1, 2, 3]  # the task's end finished its last turn
    await limiter.close()
