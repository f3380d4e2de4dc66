"""Webhook updates through the durable inbox when several instances serve one bot.

`accept` stores the update (the webhook is acknowledged only after that) and then makes sure it
is handled: this instance takes the person's turn and handles every pending update of that
person in arrival order, or, while another instance holds the turn, waits until that instance
has handled it. An instance that dies leaves its updates pending; `sweep` (every few seconds on
every instance) takes over the turns whose lease ran out.

A turn is held for a lease (30 s) that the holder renews every third of it for as long as it
holds the turn, so a handler that runs longer keeps it; only an instance that stopped renewing
(dead, or cut off from the database for a whole lease) loses its turns.

Handling is at least once, made exactly once for the person by marking the update done right
after its handler returns (the replies sent), before the turn is given back or the next update
looked at; the mark is retried until it lands. An instance killed between the platform taking
its reply and that mark landing (a database round trip) repeats the update once its lease has
run out: one per person it was answering at that moment (docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
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
_DONE_RETRY_FIRST = 0.1
_DONE_RETRY_CAP = 5.0


def instance_name() -> str:
    # A restarted container keeps its hostname and pid (often 1): the random part tells this
    # start's turns from those the previous one left, which must run out, not be renewed.
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


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
        # The turns this instance holds in the database: True while still its own (the renewer
        # sets False for one lost after a lease ran out unrenewed).
        self._held: dict[tuple[str, str], bool] = {}
        self._renewer: asyncio.Task[None] | None = None
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
        if self._renewer is not None and not self._held:
            self._renewer.cancel()  # it would end by itself within a third of a lease

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
        key = (channel, person)
        if not await self.inbox.take_turn(
            channel=channel, person=person, owner=self.owner, now=utcnow(), lease=self.lease
        ):
            return False
        self._held[key] = True
        self._renew_while_held()
        try:
            while self._held[key]:
                item = await self.inbox.next_for(channel=channel, person=person)
                if item is None:
                    break
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
                # Answered: that must be on record before anything else happens (the turn
                # given back, the next update), or a successor would answer it again.
                await asyncio.shield(self._mark_done(item.id))
                self.handled += 1
        finally:
            del self._held[key]
            await self.inbox.give_turn_back(channel=channel, person=person, owner=self.owner)
        return True

    async def _mark_done(self, item_id: int) -> None:
        delay = _DONE_RETRY_FIRST
        while True:
            try:
                await self.inbox.done(item_id=item_id, now=utcnow())
                return
            except Exception as exc:
                log.warning(
                    "inbox: could not mark update %s done (%r); again in %.1fs", item_id, exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, _DONE_RETRY_CAP)

    def _renew_while_held(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.get_running_loop().create_task(self._renew(), name="turns")

    async def _renew(self) -> None:
        """Every third of a lease, while this instance holds any turn: all of them run on for
        another lease, in one statement."""
        every = self.lease.total_seconds() / 3
        while self._held:
            await asyncio.sleep(every)
            if not self._held:
                return
            try:
                kept = await self.inbox.renew_turns(
                    owner=self.owner, now=utcnow(), lease=self.lease
                )
            except Exception:
                log.exception("inbox: renewing turns failed; trying again in %.0fs", every)
                continue
            for key in self._held:
                if key not in kept and self._held[key]:
                    # Our lease ran out unrenewed and another instance took the person over:
                    # the update in hand is finished, the next ones are theirs.
                    log.warning("inbox: lost the turn of %s %s", *key)
                    self._held[key] = False

    async def sweep(self) -> int:
        """Take over what a dead instance left: updates waiting longer than a lease."""
        taken = 0
        for channel, person in await self.inbox.orphaned(now=utcnow(), older_than=self.lease):
            if await self._take_and_handle(channel, person):
                taken += 1
        return taken
