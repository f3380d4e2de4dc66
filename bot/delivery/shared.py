"""The channel limits every instance shares (several instances on PostgreSQL): the overall rate
and the 429 pause, kept in the database (storage/gates.py). The in-process ChannelLimiter still
orders replies before bulk and paces each chat; this gate then spaces the sends of all
instances together 1/rate apart."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from storage.gates import ChannelGates

log = logging.getLogger(__name__)

# How late after its slot a send may still leave (seconds), and how many slots are tried.
MAX_LATE = 0.02
_RETRIES = 5


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
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()

    async def take(self) -> None:
        """Wait for this instance's next slot of the channel's shared rate. A slot woken up for
        too late (a busy event loop) is let go and another taken: sends that all leave late
        would reach the platform bunched, more of them in one second than the rate."""
        for _ in range(_RETRIES):
            slot = await self.gates.reserve(
                channel=self.channel, now=self._clock(), interval=self.interval
            )
            wait = slot - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            if self._clock() - slot <= max(MAX_LATE, self.interval):
                return

    def pause(self, seconds: float) -> None:
        """Tell every instance the platform asked for a pause (429)."""
        task = asyncio.get_running_loop().create_task(self._pause(self._clock() + seconds))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pause(self, until: float) -> None:
        try:
            await self.gates.pause(channel=self.channel, until=until)
        except Exception:
            log.exception("could not share a %s pause", self.channel)
