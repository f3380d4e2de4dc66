"""Several `pustaka run` instances serving one bot on one PostgreSQL database (docs/deploy.md).

Switched on by the engine: with PUSTAKA_DB=postgresql://... every instance
- stores webhook updates in the inbox before acknowledging them and handles each person's
  updates one at a time in arrival order (bot/inbox.py);
- claims outbox rows with FOR UPDATE SKIP LOCKED and a lease, and shares each channel's rate
  and 429 pause with the others (bot/delivery/shared.py); the WhatsApp daily limit of people
  reached outside the window is counted in the database already, so it is shared too;
- runs the scheduled work only while it holds the leader lock (storage/leader.py); the others
  try for it every `LEADER_RETRY_SECONDS`, so a dead leader's work moves within seconds.
With SQLite nothing here runs: one instance, the in-process paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta

from bot.channels.base import Channel
from bot.delivery.service import DeliveryService
from bot.delivery.shared import SharedGate
from bot.inbox import InboxRunner, instance_name
from storage import Storage
from storage.clock import utcnow
from storage.gates import ChannelGates
from storage.inbox import Inbox
from storage.leader import LeaderLock

log = logging.getLogger(__name__)

LEADER_RETRY_SECONDS = 1.0
SWEEP_SECONDS = 5.0
INBOX_KEEP = timedelta(days=7)


class ScaleOut:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.enabled = storage.db.engine == "postgresql"
        self.owner = instance_name()
        self.inbox = InboxRunner(Inbox(storage.db), owner=self.owner) if self.enabled else None
        self._leader_lock = LeaderLock(storage.db)
        self.leader = not self.enabled
        self.delivering = False
        self._leading: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def roles(self) -> list[str]:
        roles = []
        if self.leader:
            roles.append("leader")
        if self.delivering:
            roles.append("delivery")
        return roles

    def connect(self, channels: Sequence[Channel]) -> None:
        """Webhook channels store their updates in the inbox; every channel's limiter shares
        its rate and pauses. Nothing changes on SQLite."""
        if self.inbox is None:
            return
        gates = ChannelGates(self.storage.db)
        for channel in channels:
            use_inbox = getattr(channel, "use_inbox", None)
            handler = use_inbox(self.inbox.accept) if use_inbox is not None else None
            if handler is not None:
                self.inbox.register(channel.name, handler)
            limiter = channel.limiter
            limiter.shared = SharedGate(gates, channel.name, limiter.limits.overall_rate)

    def attach(self, delivery: DeliveryService) -> None:
        delivery.is_leader = lambda: self.leader
        if self.enabled:
            delivery.extra_jobs.append(("scaleout-sweep", SWEEP_SECONDS, self.sweep))

    async def start(self) -> None:
        if not self.enabled:
            return
        self.leader = await self._leader_lock.try_acquire()
        if self.leader:
            log.info("%s is the leader", self.owner)
        self._leading = asyncio.get_running_loop().create_task(self._lead(), name="leader")

    async def _lead(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), LEADER_RETRY_SECONDS)
            if self._stopping.is_set():
                return
            try:
                if self.leader:
                    self.leader = await self._leader_lock.still_held()
                else:
                    self.leader = await self._leader_lock.try_acquire()
                    if self.leader:
                        log.info("%s took over as the leader", self.owner)
            except Exception:
                log.exception("leader check failed")
                self.leader = False

    async def sweep(self) -> None:
        """Every instance, every few seconds: what a dead instance left behind."""
        try:
            requeued = await self.storage.outbox.reset_sending(
                lease_expired_at=utcnow(), now=utcnow()
            )
            if requeued:
                log.warning("%d outbox rows of a lost instance are pending again", requeued)
            if self.inbox is not None:
                taken = await self.inbox.sweep()
                if taken:
                    log.warning("took over %d people's waiting updates", taken)
                if self.leader:
                    await self.inbox.inbox.prune(before=utcnow() - INBOX_KEEP)
        except Exception:
            log.exception("scale-out sweep failed; the next run tries again")

    async def stop(self) -> None:
        self._stopping.set()
        if self._leading is not None:
            await self._leading
        if self.inbox is not None:
            await self.inbox.drain()
        await self._leader_lock.release()
        self.leader = not self.enabled
