"""A real `pustaka run` process delivering the outbox to the fake Bot API, really killed.

SIGKILL mid-delivery, then a restart: every row arrives, and the rows sent twice are at most the
worker's concurrency (the rows that were on the wire). SIGTERM mid-delivery, then a restart:
every row arrives exactly once. Counted from what the fake Bot API received.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import pytest

from storage import Storage
from storage.clock import utcnow
from tests.delivery_helpers import message, until
from tests.fakes.telegram_api import FakeBotApi

ROWS = 400
CONCURRENCY = 8


@pytest.fixture
async def outbox_db(tmp_path: Path) -> AsyncIterator[Storage]:
    storage = await Storage.open(tmp_path / "crash.db")
    await storage.outbox.add_many([message(n) for n in range(ROWS)], now=utcnow())
    yield storage
    await storage.close()


def _log(folder: Path) -> BinaryIO:
    return open(folder / "run.log", "ab")  # the process's output, for a failing test's reader


async def start(storage: Storage, api: FakeBotApi) -> asyncio.subprocess.Process:
    folder = Path(storage.db.path).parent
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_URL": api.url,
        "PUSTAKA_DB": storage.db.path,
        "PUSTAKA_TELEGRAM_RATE": "300",
        "PUSTAKA_DELIVERY_CONCURRENCY": str(CONCURRENCY),
    }
    with _log(folder) as log:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=folder,  # no stray .env
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )


async def by_status(storage: Storage) -> dict[str, int]:
    return (await storage.outbox.stats()).by_status


async def all_sent(storage: Storage) -> bool:
    return await by_status(storage) == {"sent": ROWS}


async def finish(storage: Storage, api: FakeBotApi) -> None:
    """Restart, let it deliver everything, stop it gracefully."""
    process = await start(storage, api)
    try:
        await until(lambda: all_sent(storage), limit=90)
    finally:
        process.send_signal(signal.SIGTERM)
        assert await process.wait() == 0


@pytest.fixture
def slow_api(fake_api: FakeBotApi) -> FakeBotApi:
    fake_api.delay = 0.02  # sends take a while, so a signal lands while some are on the wire
    return fake_api


async def test_kill_9_mid_delivery_loses_nothing_and_repeats_at_most_the_in_flight(
    outbox_db: Storage, slow_api: FakeBotApi
) -> None:
    process = await start(outbox_db, slow_api)
    await until(lambda: len(slow_api.sent()) >= ROWS // 4, limit=90)
    process.kill()
    await process.wait()
    after_crash = await by_status(outbox_db)
    assert after_crash.get("sending", 0) <= CONCURRENCY
    assert after_crash.get("pending", 0) > 0  # it really died mid-delivery

    await finish(outbox_db, slow_api)
    received = Counter(call.chat_id for call in slow_api.sent())
    assert len(received) == ROWS  # nothing lost
    duplicates = sum(received.values()) - ROWS
    print(f"kill -9: {after_crash.get('sending', 0)} rows in flight, {duplicates} sent twice")
    assert duplicates <= CONCURRENCY


async def test_sigterm_mid_delivery_returns_rows_and_sends_nothing_twice(
    outbox_db: Storage, slow_api: FakeBotApi
) -> None:
    process = await start(outbox_db, slow_api)
    await until(lambda: len(slow_api.sent()) >= ROWS // 4, limit=90)
    process.send_signal(signal.SIGTERM)
    assert await process.wait() == 0
    stopped = await by_status(outbox_db)
    assert "sending" not in stopped
    assert stopped["sent"] == len(slow_api.sent())  # all that arrived is recorded as sent
    assert stopped.get("pending", 0) > 0

    await finish(outbox_db, slow_api)
    received = Counter(call.chat_id for call in slow_api.sent())
    assert len(received) == ROWS
    assert set(received.values()) == {1}
