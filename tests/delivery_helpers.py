"""Shared pieces of the delivery tests: rows, a running worker against the fake Bot API, and
waiting for a condition (never for a duration)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from telegram import Bot

from bot.channels.telegram import CHANNEL, TelegramSender
from bot.delivery.limits import ChannelLimiter, Limits
from bot.delivery.service import DeliveryService, ScheduleSettings
from bot.delivery.worker import DeliveryWorker, WorkerSettings
from bot.runtime import Runtime
from storage.outbox import OutboxMessage
from tests.fakes.telegram_api import FakeBotApi

FAST = Limits(overall_rate=500, overall_burst=5, chat_rate=50, chat_burst=5)


def message(
    n: int,
    *,
    chat: int | None = None,
    priority: int = 0,
    kind: str = "announcement",
    resident_id: int | None = None,
) -> OutboxMessage:
    return OutboxMessage(
        dedupe_key=f"{kind}:test:{n}",
        kind=kind,
        channel=CHANNEL,
        recipient=str(chat if chat is not None else 50_000 + n),
        text=f"Pesan {n}",
        priority=priority,
        resident_id=resident_id,
    )


async def until(
    predicate: Callable[[], Awaitable[bool]] | Callable[[], bool], *, limit: float = 60.0
) -> None:
    """Wait for a condition; `limit` only turns a hang into a failure, it asserts no speed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.02)


async def counts(runtime: Runtime) -> dict[str, int]:
    return (await runtime.storage.outbox.stats()).by_status


def done(runtime: Runtime, total: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        c = await counts(runtime)
        return sum(c.get(s, 0) for s in ("sent", "failed", "cancelled", "held")) >= total

    return check


@dataclass
class Running:
    service: DeliveryService
    limiter: ChannelLimiter
    bot: Bot

    @property
    def worker(self) -> DeliveryWorker:
        return self.service.worker


@asynccontextmanager
async def running_worker(
    runtime: Runtime,
    api: FakeBotApi,
    *,
    limits: Limits = FAST,
    settings: WorkerSettings | None = None,
    limiter: ChannelLimiter | None = None,
    offsets: tuple[int, ...] = (24 * 60, 2 * 60),
) -> AsyncIterator[Running]:
    """The delivery service (APScheduler polling often) sending to the fake Bot API."""
    limiter = limiter or ChannelLimiter(limits)
    bot = Bot(api.token, base_url=f"{api.url}/bot")
    async with bot:
        service = DeliveryService(
            runtime.storage,
            runtime.translator,
            {CHANNEL: TelegramSender(bot)},
            {CHANNEL: limiter},
            worker=settings or WorkerSettings(concurrency=8),
            schedule=ScheduleSettings(poll_seconds=0.05, reminder_offsets=offsets),
        )
        await service.start()
        try:
            yield Running(service, limiter, bot)
        finally:
            await service.stop()
            await limiter.close()
