"""Delivery under faults (issue 15): a database locked past its busy timeout while sends finish,
replies the Bot API did not take (5xx, pool timeout), and a shutdown that must not wait for a
group's reply backlog. Counted from what the fake Bot API received."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from pathlib import Path

from telegram.request import HTTPXRequest

from bot.channels.telegram import TelegramChannel
from bot.delivery.limits import ChannelLimiter, LimiterClosed, Limits
from bot.delivery.replies import ReplyRescue
from bot.delivery.worker import WorkerSettings
from bot.runtime import Runtime
from storage import Storage
from storage.clock import utcnow
from tests.delivery_helpers import counts, message, running_worker, until
from tests.fakes.telegram_api import FakeBotApi
from tests.telegram_harness import TelegramHarness

ROWS = 40


async def test_a_lock_longer_than_the_busy_timeout_then_a_stop_sends_nothing_twice(
    tmp_path: Path, runtime: Runtime, fake_api: FakeBotApi
) -> None:
    # A storage of its own with a short busy timeout, on the runtime's settings otherwise.
    await runtime.close()
    storage = await Storage.open(tmp_path / "lock.db", busy_timeout_ms=100)
    runtime.storage = storage
    await storage.outbox.add_many([message(n) for n in range(ROWS)], now=utcnow())
    other = sqlite3.connect(tmp_path / "lock.db", isolation_level=None, check_same_thread=False)
    fake_api.delay = 0.05
    try:
        async with running_worker(runtime, fake_api) as running:
            await until(lambda: len(fake_api.sent()) >= 5)
            # Another process takes the write lock (on a thread: it may wait for our commit) ...
            await asyncio.to_thread(other.execute, "BEGIN IMMEDIATE")
            # ... sends on the wire finish, and their outcome cannot be recorded ...
            await until(lambda: len(running.worker._recorders) >= 4)
            # ... and the lock is held (far past the 100 ms busy timeout) while the stop begins.
            loop = asyncio.get_running_loop()
            loop.call_later(1.0, other.execute, "ROLLBACK")
        by_status = await counts(runtime)
        assert by_status.get("sending", 0) == 0, by_status
        # Every send that happened is recorded as sent (none left to be sent again).
        assert by_status.get("sent", 0) == len(fake_api.sent())
        # A restart sends what is left; nobody gets a second copy.
        async with running_worker(runtime, fake_api):
            await until(lambda: len(fake_api.sent()) >= ROWS)
        sent = Counter(c.chat_id for c in fake_api.sent())
        assert len(sent) == ROWS and max(sent.values()) == 1, sent.most_common(3)
    finally:
        other.close()
        await storage.close()


async def test_replies_during_an_api_outage_arrive_once_it_recovers(
    runtime: Runtime, fake_api: FakeBotApi
) -> None:
    limiter = ChannelLimiter(Limits(overall_rate=200, chat_rate=50, chat_burst=5))
    rescue = ReplyRescue(runtime.storage)
    channel = TelegramChannel(
        runtime.settings, runtime.dispatcher, runtime.translator, limiter=limiter, rescue=rescue
    )
    app = channel.build()
    async with app, running_worker(runtime, fake_api, limiter=limiter) as running:
        rescue.wake = running.worker.wake
        harness = TelegramHarness(app, fake_api)
        fake_api.fail_methods["sendMessage"] = 500  # the Bot API is down
        for user in range(9101, 9111):
            await harness.send(user, "/start")
        assert not fake_api.sent()
        waiting = await counts(runtime)  # one snapshot: the worker moves rows between two
        assert waiting.get("pending", 0) + waiting.get("sending", 0) >= 10
        del fake_api.fail_methods["sendMessage"]  # ... and back
        await until(lambda: len(fake_api.sent()) >= 10)
        answered = Counter(c.chat_id for c in fake_api.sent())
        assert sorted(answered) == [str(u) for u in range(9101, 9111)]
        assert set(answered.values()) == {1}
        welcome = runtime.translator.text("id", "onboarding.choose_language").split("\n")[0]
        assert all(welcome[:20] in c.text or c.text for c in fake_api.sent())


async def test_a_pool_timeout_keeps_the_reply_for_later(
    runtime: Runtime, fake_api: FakeBotApi
) -> None:
    rescue = ReplyRescue(runtime.storage)
    channel = TelegramChannel(
        runtime.settings, runtime.dispatcher, runtime.translator, rescue=rescue
    )
    # One connection and almost no patience: the second of two concurrent replies times out
    # waiting for the pool ("All connections in the connection pool are occupied").
    request = HTTPXRequest(connection_pool_size=1, pool_timeout=0.01)
    app = channel.build(request=request)
    fake_api.delay = 0.3
    async with app:
        harness = TelegramHarness(app, fake_api)
        await asyncio.gather(harness.send(9201, "/start"), harness.send(9202, "/start"))
    by_status = await counts(runtime)
    assert rescue.kept >= 1 and by_status.get("pending") == rescue.kept
    fake_api.delay = 0
    async with running_worker(runtime, fake_api):
        await until(lambda: {c.chat_id for c in fake_api.sent()} == {"9201", "9202"})


async def test_closing_the_limiter_ends_a_wait_for_a_groups_turn() -> None:
    limiter = ChannelLimiter(Limits(group_rate=20 / 60, group_burst=1))
    await limiter.acquire("-100123")  # the group's one token
    waiting = asyncio.ensure_future(limiter.acquire("-100123"))  # next turn: 3 s away
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await limiter.close()
    await asyncio.sleep(0)
    assert waiting.done() and isinstance(waiting.exception(), LimiterClosed)


async def test_a_stop_keeps_a_groups_waiting_replies_in_the_outbox(
    runtime: Runtime, fake_api: FakeBotApi
) -> None:
    limiter = ChannelLimiter(Limits(group_rate=20 / 60, group_burst=1))
    rescue = ReplyRescue(runtime.storage)
    channel = TelegramChannel(
        runtime.settings, runtime.dispatcher, runtime.translator, limiter=limiter, rescue=rescue
    )
    app = channel.build()
    async with app:
        harness = TelegramHarness(app, fake_api)
        group = -100777
        updates = []
        for n in range(5):
            update = harness.message_update(9300 + n, "/menu")
            data = update.to_dict()
            data["message"]["chat"] = {"id": group, "type": "group", "title": "Kader Ende"}
            updates.append(type(update).de_json(data, app.bot))
        tasks = [asyncio.ensure_future(app.process_update(u)) for u in updates]
        await until(lambda: len(fake_api.sent(group)) >= 1)
        await limiter.close()  # what `pustaka run` does on SIGTERM
        await asyncio.gather(*tasks)
    assert len(fake_api.sent(group)) == 1
    assert rescue.kept == 4
    assert (await counts(runtime)).get("pending") == 4
    _ = WorkerSettings  # the worker sends them after the restart (test above)
