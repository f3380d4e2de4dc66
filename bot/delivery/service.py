"""Delivery wired together: APScheduler drives time, the worker sends, the limiters pace.

The scheduler holds no state of its own. Its jobs only say "look now": every `poll_seconds` the
worker looks for due outbox rows, every `reminder_seconds` the reminder rows are brought in line
with the registrations. After a restart the database tells both what is left to do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.channels.base import ChannelSender
from bot.config import Settings
from bot.delivery.limits import ChannelLimiter, Limits
from bot.delivery.worker import DeliveryWorker, WorkerSettings
from bot.staff_progress import BroadcastProgress
from handlers.types import Translator
from storage import Storage
from storage.clock import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    poll_seconds: float = 1.0
    reminder_seconds: float = 60.0
    reminder_offsets: tuple[int, ...] = (24 * 60, 2 * 60)  # minutes before the start
    progress_seconds: float = 5.0  # announcements' progress messages (bot/staff_progress.py)


class DeliveryService:
    def __init__(
        self,
        storage: Storage,
        translator: Translator,
        senders: Mapping[str, ChannelSender],
        limiters: Mapping[str, ChannelLimiter],
        *,
        worker: WorkerSettings | None = None,
        schedule: ScheduleSettings | None = None,
    ) -> None:
        self.storage = storage
        self.schedule = schedule or ScheduleSettings()
        self.worker = DeliveryWorker(storage, translator, senders, limiters, worker)
        self.progress = BroadcastProgress(storage, translator, senders, limiters)
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._sync_lock = asyncio.Lock()
        # Several instances: the scheduled work runs on the leader only (bot/scaleout.py); the
        # outbox worker runs everywhere.
        self.is_leader: Callable[[], bool] = lambda: True
        self.extra_jobs: list[tuple[str, float, Callable[[], Awaitable[object]]]] = []

    async def start(self) -> None:
        if self.is_leader():
            await self.sync_reminders()
        await self.worker.start()
        # Interval jobs, not date jobs: a date job missed by more than its grace time is
        # dropped by APScheduler 3, and these must simply run again whenever they can.
        common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        self.scheduler.add_job(
            self._poll, "interval", seconds=self.schedule.poll_seconds, id="outbox-poll", **common
        )
        self.scheduler.add_job(
            self.sync_reminders,
            "interval",
            seconds=self.schedule.reminder_seconds,
            id="reminders-sync",
            **common,
        )
        self.scheduler.add_job(
            self._broadcast_progress,
            "interval",
            seconds=self.schedule.progress_seconds,
            id="broadcast-progress",
            **common,
        )
        for name, seconds, job in self.extra_jobs:
            self.scheduler.add_job(job, "interval", seconds=seconds, id=name, **common)
        self.scheduler.start()
        self.worker.wake()

    async def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the loop's next turn
        async with self._sync_lock:  # let a reminder sync in progress commit
            await self.worker.stop()

    async def _poll(self) -> None:
        self.worker.wake()

    async def _broadcast_progress(self) -> None:
        if not self.is_leader():
            return
        try:
            if await self.progress.run():
                self.worker.wake()  # a finished announcement queued its report
        except Exception:
            log.exception("announcement progress failed; the next run tries again")

    async def sync_reminders(self) -> None:
        if not self.is_leader():
            return
        async with self._sync_lock:
            try:
                result = await self.storage.reminders.sync(
                    default_offsets=self.schedule.reminder_offsets, now=utcnow()
                )
            except Exception:
                log.exception("reminder sync failed; the next run tries again")
                return
        if result.written or result.cancelled:
            log.info("reminders: %d written, %d cancelled", result.written, result.cancelled)
            self.worker.wake()


def for_settings(
    storage: Storage,
    translator: Translator,
    settings: Settings,
    senders: Mapping[str, ChannelSender],
    limiters: Mapping[str, ChannelLimiter],
) -> DeliveryService:
    """The service as configured for a deployment (bot/config.py)."""
    return DeliveryService(
        storage,
        translator,
        senders,
        limiters,
        worker=WorkerSettings(
            concurrency=settings.delivery_concurrency, claim_lease=settings.delivery_lease
        ),
        schedule=ScheduleSettings(reminder_offsets=settings.reminder_offsets),
    )


def telegram_limiter(settings: Settings) -> ChannelLimiter:
    return ChannelLimiter(Limits(overall_rate=settings.telegram_rate))
