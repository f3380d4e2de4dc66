"""Delivery benchmark: 10,000 outbox rows to a loopback fake Bot API that allows R messages/s
(answering 429 with retry_after past it), while a resident sends /menu every second.

Pustaka (outbox worker + our limiter, configured for R) against the baseline: the same 10,000
messages sent by a plain loop over python-telegram-bot's AIORateLimiter(overall_max_rate=R)
on the same fake, the resident's replies going through the same bot.

Printed for each: achieved rate / R (target >= 0.95), 429s received, lost and duplicated rows
(target 0 / 0), p95 time to answer the resident (target < 250 ms).

    .venv/bin/python bench/bench_delivery.py [--rows 10000] [--rate 300]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "1")

from telegram.error import TelegramError  # noqa: E402
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder  # noqa: E402

from bot.channels.telegram import CHANNEL, TelegramChannel, TelegramSender  # noqa: E402
from bot.config import Secret, Settings  # noqa: E402
from bot.delivery.limits import ChannelLimiter, Limits  # noqa: E402
from bot.delivery.service import DeliveryService  # noqa: E402
from bot.delivery.worker import WorkerSettings  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from storage.clock import utcnow  # noqa: E402
from storage.outbox import OutboxMessage  # noqa: E402
from tests.fakes.telegram_api import FakeBotApi  # noqa: E402
from tests.telegram_harness import TelegramHarness  # noqa: E402

TOKEN = FakeBotApi.token

RESIDENT = 999
FIRST_CHAT = 100_000


@dataclass
class Figures:
    name: str
    rate: float
    too_many: int
    lost: int
    duplicated: int
    replies: list[float]

    def show(self, target: float) -> None:
        p95 = statistics.quantiles(self.replies, n=20)[18] if len(self.replies) >= 2 else 0.0
        print(
            f"{self.name:<30} rate/R {self.rate / target:5.3f} ({self.rate:6.1f}/s)  "
            f"429s {self.too_many:4d}  lost {self.lost:5d}  duplicated {self.duplicated:3d}  "
            f"reply p95 {p95 * 1000:8.1f} ms  (median {statistics.median(self.replies) * 1000:.1f} "
            f"ms, n={len(self.replies)})"
        )


@dataclass
class Fake:
    """The fake Bot API in its own process, so it does not share a CPU with the bot."""

    url: str
    process: subprocess.Popen[str]

    def stats(self) -> dict[str, object]:
        with urlopen(f"{self.url}/_stats") as answer:
            data: dict[str, object] = json.load(answer)
        return data


@contextlib.asynccontextmanager
async def fake_api(rate: float) -> AsyncIterator[Fake]:
    process = subprocess.Popen(  # noqa: ASYNC220  (started once, before measuring)
        [sys.executable, "-m", "tests.fakes.telegram_api", str(rate), "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = await asyncio.get_running_loop().run_in_executor(None, process.stdout.readline)
    try:
        yield Fake(url.strip(), process)
    finally:
        process.kill()
        process.wait()


def bulk_figures(fake: Fake, rows: int) -> tuple[float, int, int, int]:
    """Achieved rate between the first and the last bulk message, 429s, lost, duplicated."""
    stats = fake.stats()
    sent = [(str(chat), float(at)) for chat, at in stats["sent"]]  # type: ignore[attr-defined]
    calls = [(chat, at) for chat, at in sent if int(chat) >= FIRST_CHAT]
    got = Counter(chat for chat, _ in calls)
    span = calls[-1][1] - calls[0][1] if len(calls) > 1 else 0.0
    rate = (len(calls) - 1) / span if span > 0 else 0.0
    too_many = int(stats["too_many"])  # type: ignore[call-overload]
    return rate, too_many, rows - len(got), sum(got.values()) - len(got)


async def resident_loop(
    ask: Callable[[], Awaitable[object]], stop: asyncio.Event, latencies: list[float]
) -> None:
    """Every second the resident taps /menu; each question is timed until its reply was sent."""
    tasks = []

    async def one() -> None:
        started = time.perf_counter()
        await ask()
        latencies.append(time.perf_counter() - started)

    while not stop.is_set():
        tasks.append(asyncio.create_task(one()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)
    await asyncio.gather(*tasks, return_exceptions=True)


async def pustaka(rows: int, rate: float, folder: Path, api: Fake) -> Figures:
    settings = Settings(
        telegram_token=Secret(TOKEN), telegram_api_url=api.url, db_path=str(folder / "b.db")
    )
    runtime = await Runtime.open(settings)
    try:
        await runtime.storage.outbox.add_many(
            (
                OutboxMessage(
                    dedupe_key=f"announcement:bench:{n}",
                    kind="announcement",
                    channel=CHANNEL,
                    recipient=str(FIRST_CHAT + n),
                    text=f"Pengumuman perpustakaan nomor {n}",
                )
                for n in range(rows)
            ),
            now=utcnow(),
        )
        limiter = ChannelLimiter(Limits(overall_rate=rate))
        channel = TelegramChannel(settings, runtime.dispatcher, runtime.translator, limiter)
        app = channel.build()
        async with app:
            harness = TelegramHarness(app, FakeBotApi())  # only builds updates here
            service = DeliveryService(
                runtime.storage,
                runtime.translator,
                {CHANNEL: TelegramSender(app.bot)},
                {CHANNEL: limiter},
                worker=WorkerSettings(concurrency=16),
            )
            stop = asyncio.Event()
            latencies: list[float] = []
            await service.start()
            resident = asyncio.create_task(
                resident_loop(
                    lambda: app.process_update(harness.message_update(RESIDENT, "/menu")),
                    stop,
                    latencies,
                )
            )
            while (await runtime.storage.outbox.stats()).by_status.get("sent", 0) < rows:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            stop.set()
            await resident
            await service.stop()
            await limiter.close()
        achieved, too_many, lost, duplicated = bulk_figures(api, rows)
        return Figures("pustaka outbox worker", achieved, too_many, lost, duplicated, latencies)
    finally:
        await runtime.close()


async def baseline(rows: int, rate: float, folder: Path, api: Fake) -> Figures:
    settings = Settings(
        telegram_token=Secret(TOKEN), telegram_api_url=api.url, db_path=str(folder / "a.db")
    )
    runtime = await Runtime.open(settings)
    try:
        app: Application = (  # type: ignore[type-arg]
            ApplicationBuilder()
            .token(TOKEN)
            .base_url(f"{api.url}/bot")
            .concurrent_updates(256)
            .job_queue(None)
            .rate_limiter(
                AIORateLimiter(overall_max_rate=rate, overall_time_period=1, max_retries=3)
            )
            .build()
        )
        TelegramChannel(settings, runtime.dispatcher, runtime.translator).register(app)
        async with app:
            harness = TelegramHarness(app, FakeBotApi())  # only builds updates here
            failed = 0

            async def send(n: int) -> None:
                nonlocal failed
                try:
                    await app.bot.send_message(FIRST_CHAT + n, f"Pengumuman perpustakaan nomor {n}")
                except TelegramError:
                    failed += 1

            stop = asyncio.Event()
            latencies: list[float] = []
            resident = asyncio.create_task(
                resident_loop(
                    lambda: app.process_update(harness.message_update(RESIDENT, "/menu")),
                    stop,
                    latencies,
                )
            )
            # The plain loop: one task per message, the rate limiter does the pacing.
            await asyncio.gather(*(send(n) for n in range(rows)))
            stop.set()
            await resident
        achieved, too_many, lost, duplicated = bulk_figures(api, rows)
        failed = f" ({failed} sends raised after retries)" if failed else ""
        return Figures(
            "baseline AIORateLimiter loop" + failed, achieved, too_many, lost, duplicated, latencies
        )
    finally:
        await runtime.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args()
    # AIORateLimiter logs a traceback for every send that ran out of retries; we count them.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    print(f"{args.rows} messages, fake Bot API allows R = {args.rate:g}/s (429 past it)")
    with tempfile.TemporaryDirectory() as tmp:
        async with fake_api(args.rate) as api:
            ours = await pustaka(args.rows, args.rate, Path(tmp), api)
        ours.show(args.rate)
        async with fake_api(args.rate) as api:
            theirs = await baseline(args.rows, args.rate, Path(tmp), api)
        theirs.show(args.rate)
    print("targets: rate/R >= 0.95, lost 0, duplicated 0, reply p95 < 250 ms")


if __name__ == "__main__":
    asyncio.run(main())
