"""The channel limits every instance shares (several instances on PostgreSQL): the overall rate
and the 429 pause, kept in the database (storage/gates.py). The in-process ChannelLimiter still
orders replies before bulk and paces each chat; this gate then makes all instances together
keep the channel's rate as the platform counts it: at most `rate` sends arriving in any second.

Two parts:
- Pacing: each send reserves the channel's next moment, spaced 1/rate after the one before
  whichever instance reserved it, and leaves then. That keeps the flow smooth, but bounds
  nothing: the platform counts requests as they *arrive*, and requests of three processes on a
  busy machine leave late and arrive bunched (bench_scaleout.py part 4 measured eleven to
  sixteen 429s that way).
- The bound: `floor(rate)` slots per channel. A send takes the slot that frees first, leaves
  only once it is free, and frees it one second after its answer came back. A send arriving in
  a window (b-1, b] left after its slot was free and was answered after arriving, so it holds
  its slot over the moment b; a slot is held by one send at a time, so at most `floor(rate)`
  sends arrive in any one-second window, however the requests are delayed on their way. What
  it costs is a slot held for the send's own round trip on top of the second: at 10 ms, the
  rate divided by 1.01. Taking a slot (a database round trip) happens before that.

Assumptions, said plainly: the instances' clocks agree (one host, or NTP to a few ms); a send
unanswered for longer than `HOLD` seconds (far beyond the HTTP timeouts set here) might share
its slot; and every send to the platform goes through the channel's limiter with this gate.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Coroutine
from typing import Any

from storage.gates import ChannelGates

log = logging.getLogger(__name__)

# How long a slot is held for a send in flight: also how long a dead instance keeps the slots
# of the sends it had on the wire.
HOLD = 60.0
# A slot that frees within this long is taken now and waited for (the wait is not held time,
# so the round trip of taking it costs nothing); one second covers a slot freed by a send
# just answered.
LOOKAHEAD = 1.0
# Waiting for a slot to free: look again after at most this long (another instance may free one
# earlier than the earliest time seen).
_MAX_SLOT_WAIT = 0.25
_FREE_RETRY_SECONDS = 0.5


class SharedGate:
    def __init__(
        self,
        gates: ChannelGates,
        channel: str,
        rate: float,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.gates = gates
        self.channel = channel
        self.interval = 1.0 / rate
        self.slots = max(math.floor(rate), 1)
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._ready: asyncio.Task[None] | None = None
        # While all slots are held, this instance's waiters queue here and only the first asks.
        self._waiting = asyncio.Lock()
        self.waited_for_slot = 0  # sends that found every slot held (for the benchmark's reader)

    async def take(self, cost: int = 1) -> Callable[[], None]:
        """Wait for this instance's next turn at the channel's shared rate, for `cost` messages
        (a long text sent in parts). Returns what to call once they are sent (answered, or
        failed): that frees their slots."""
        if self._ready is None or (self._ready.done() and self._ready.exception() is not None):
            self._ready = asyncio.get_running_loop().create_task(
                self.gates.add_slots(channel=self.channel, count=self.slots)
            )
        await asyncio.shield(self._ready)
        cost = max(cost, 1)
        moment = await self.gates.reserve(
            channel=self.channel, now=self._clock(), interval=self.interval * cost
        )
        wait = moment - self._clock()
        if wait > 0:
            await asyncio.sleep(wait)
        slots, start, held_until = await self._hold(min(cost, self.slots))
        # The slot's previous send counts until `start`: this one leaves after it.
        wait = start - self._clock()
        if wait > 0:
            try:
                await asyncio.sleep(wait)
            except asyncio.CancelledError:
                # Nothing was sent (shutting down): the slots free when they would have.
                for slot in slots:
                    self._spawn(self._free(slot, held_until, start))
                raise
        finished = False

        def done() -> None:
            nonlocal finished
            if not finished:
                finished = True
                at = self._clock() + 1.0
                for slot in slots:
                    self._spawn(self._free(slot, held_until, at))

        return done

    async def _hold(self, wanted: int) -> tuple[list[int], float, float]:
        # Sends take slots at once, side by side (SKIP LOCKED gives each its own): a queue here
        # would wait a database round trip per send (measured: with two webhook instances, 3 s
        # per reply behind the inbox's own statements).
        found = await self._try_hold(wanted)
        if found is not None:
            return found
        # Every slot is in flight, or frees later than LOOKAHEAD: one waiter per instance asks
        # again, when the first slot comes within reach (or sooner: another instance may free
        # one); the others queue behind it in order.
        async with self._waiting:
            while True:
                found = await self._try_hold(wanted)
                if found is not None:
                    return found
                free = await self.gates.next_free(channel=self.channel, count=self.slots)
                soon = free - LOOKAHEAD - self._clock()
                await asyncio.sleep(min(max(soon, 0.001), _MAX_SLOT_WAIT))

    async def _try_hold(self, wanted: int) -> tuple[list[int], float, float] | None:
        slots, start, held_until = await self.gates.take_slots(
            channel=self.channel,
            count=self.slots,
            wanted=wanted,
            now=self._clock(),
            within=LOOKAHEAD,
            hold=HOLD,
        )
        if not slots:
            self.waited_for_slot += 1
            return None
        return slots, start, held_until

    async def _free(self, slot: int, held_until: float, at: float) -> None:
        # Until this lands the slot stays held (at worst for HOLD): never early, so a failure
        # here costs rate, never a 429.
        for _ in range(5):
            try:
                await self.gates.free_slot(
                    channel=self.channel, slot=slot, held_until=held_until, at=at
                )
                return
            except Exception as exc:
                log.warning("could not free %s slot %s (%r); trying again", self.channel, slot, exc)
                await asyncio.sleep(_FREE_RETRY_SECONDS)

    def pause(self, seconds: float) -> None:
        """Tell every instance the platform asked for a pause (429)."""
        self._spawn(self._pause(self._clock() + seconds))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pause(self, until: float) -> None:
        try:
            await self.gates.pause(channel=self.channel, until=until)
        except Exception:
            log.exception("could not share a %s pause", self.channel)
