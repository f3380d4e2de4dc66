"""Webhook updates through the durable inbox when several instances serve one bot.

`accept` stores the update (the webhook is acknowledged only after that) and then makes sure it
is handled: this instance takes the person's turn and handles every pending update of that
person in arrival order, or, while another instance holds the turn, waits until that instance
has handled it. An instance that dies leaves its updates pending; `sweep` (every few seconds on
every instance) takes over the turns whose lease ran out.

Handling is at least once, made exactly once for the person by marking the update done right
after its handler returns; an instance killed between the two repeats at most the updates it
was handling (one per person it held).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta

from handlers.dispatch import KeyedLocks
from storage.clock import utcnow
from storage.inbox import Inbox

log = logging.getLogger(__name__)

Handler = Callable[[str], Awaitable[None]]  # the stored payload (JSON text)

LEASE = timedelta(seconds=30)
# A turn held elsewhere is asked for again after this long (randomised, so instances do not
# knock in step).
_RETRY_SECONDS = 0.01
_WAIT_LIMIT_SECONDS = 60.0


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class InboxRunner:
    def __init__(self, inbox: Inbox, *, owner: str | None = None, lease: timedelta = LEASE) -> None:
        self.inbox = inbox
        self.owner = owner or instance_name()
        self.lease = lease
        self._handlers: dict[str, Handler] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Within this instance a person's turn is also taken in turn: two of their updates
        # arriving here must not both hold it.
        self._turns: KeyedLocks[tuple[str, str]] = KeyedLocks()
        self.handled = 0

    def register(self, channel: str, handler: Handler) -> None:
        self._handlers[channel] = handler

    async def accept(self, *, channel: str, platform_id: str, person: str, payload: str) -> bool:
        """Store the update; the caller acknowledges the webhook once this returns. False: a
        re-delivery of an update already stored (dropped)."""
        stored = await self.inbox.store(
            channel=channel, platform_id=platform_id, person=person, payload=payload, now=utcnow()
        )
        if stored:
            self._spawn(self._see_handled(channel, person, platform_id))
        return stored

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for every update this instance accepted to be handled (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _see_handled(self, channel: str, person: str, platform_id: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _WAIT_LIMIT_SECONDS
        while loop.time() < deadline:
            if await self._take_and_handle(channel, person):
                return
            # Another instance holds the turn; it handles this update too, unless it was done
            # looking before this one was stored. Ask again until one of us has handled it.
            if await self.inbox.is_done(channel=channel, platform_id=platform_id):
                return
            await asyncio.sleep(_RETRY_SECONDS * (1 + random.random()))
        log.warning("inbox: %s update %s still waiting; the sweep will take it", channel, person)

    async def _take_and_handle(self, channel: str, person: str) -> bool:
        async with self._turns.turn((channel, person)):
            return await self._handle_turn(channel, person)

    async def _handle_turn(self, channel: str, person: str) -> bool:
        if not await self.inbox.take_turn(
            channel=channel, person=person, owner=self.owner, now=utcnow(), lease=self.lease
        ):
            return False
        try:
            while (item := await self.inbox.next_for(channel=channel, person=person)) is not None:
                handler = self._handlers.get(channel)
                if handler is None:
                    log.error("inbox: no handler for channel %s", channel)
                    return True
                try:
                    await handler(item.payload)
                except Exception:
                    # The handler answers errors itself; one bad update must not block the
                    # person's next ones.
                    log.exception("inbox: handling %s update %s failed", channel, item.platform_id)
                await self.inbox.done(item_id=item.id, now=utcnow())
                self.handled += 1
        finally:
            await self.inbox.give_turn_back(channel=channel, person=person, owner=self.owner)
        return True

    async def sweep(self) -> int:
        """Take over what a dead instance left: updates waiting longer than a lease."""
        taken = 0
        for channel, person in await self.inbox.orphaned(now=utcnow(), older_than=self.lease):
            if await self._take_and_handle(channel, person):
                taken += 1
        return taken
