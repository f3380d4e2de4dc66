"""The delivery worker against the fake Bot API: 429s, blocked people, 5xx, slow answers, and
replies to people chatting now ahead of bulk rows. Assertions are on counts and order."""

from __future__ import annotations

import asyncio
from collections import Counter

from bot.channels.telegram import TelegramChannel
from bot.delivery.limits import BULK, INTERACTIVE, ChannelLimiter, Limits
from bot.delivery.worker import WorkerSettings, backoff
from bot.runtime import Runtime
from storage.clock import utcnow
from tests.delivery_helpers import counts, done, message, running_worker, until
from tests.fakes.telegram_api import FakeBotApi
from tests.telegram_harness import TelegramHarness


def received(api: FakeBotApi) -> Counter[str]:
    return Counter(c.chat_id for c in api.sent())


async def test_every_row_is_delivered_once(runtime: Runtime, fake_api: FakeBotApi) -> None:
    await runtime.storage.outbox.add_many([message(n) for n in range(60)], now=utcnow())
    async with running_worker(runtime, fake_api):
        await until(done(runtime, 60))
    assert await counts(runtime) == {"sent": 60}
    got = received(fake_api)
    assert len(got) == 60 and set(got.values()) == {1}
    assert fake_api.sent()[0].text.startswith("Pesan")


async def test_a_429_storm_pauses_the_channel_and_loses_nothing(
    runtime: Runtime, fake_api: FakeBotApi
) -> None:
    fake_api.storm = 12
    fake_api.retry_after = 1
    await runtime.storage.outbox.add_many([message(n) for n in range(40)], now=utcnow())
    async with running_worker(runtime, fake_api) as run:
        await until(done(runtime, 40))
        assert run.limiter.pauses >= 1
    assert await counts(runtime) == {"sent": 40}
    assert set(received(fake_api).values()) == {1}
    assert fake_api.too_many == 12
    # A 429 is not the message's fault: it does not use up the row's attempts.
    stats = await runtime.storage.outbox.stats()
    assert stats.by_status == {"sent": 40}


async def test_sending_past_the_platform_rate_is_paced_back(
    runtime: Runtime, fake_api: FakeBotApi
) -> None:
    # The bot believes it may send 400/s; the platform allows 50/s and answers 429 past it.
    fake_api.rate_limit = 50
    fake_api.retry_after = 1
    await runtime.storage.outbox.add_many([message(n) for n in range(120)], now=utcnow())
    async with running_worker(runtime, fake_api, limits=Limits(overall_rate=400)) as run:
        await until(done(runtime, 120))
        assert run.limiter.pauses >= 1
    assert await counts(runtime) == {"sent": 120}
    assert set(received(fake_api).values()) == {1}
    assert fake_api.too_many >= 1


async def test_blocked_people_are_marked_and_their_rows_cancelled(
    runtime: Runtime, fake_api: FakeBotApi, tg: TelegramHarness
) -> None:
    residents = runtime.storage.residents
    blocked = await residents.ensure(
        channel="telegram", external_id="7001", language="id", now=utcnow()
    )
    fake_api.blocked_chats.add("7001")
    rows = [message(n, chat=7001, resident_id=blocked.id) for n in range(3)]
    rows += [message(10 + n) for n in range(5)]
    # Later rows for the blocked person should not even be tried once the first one failed.
    await runtime.storage.outbox.add_many(rows, now=utcnow())
    async with running_worker(runtime, fake_api, settings=WorkerSettings(concurrency=1)):
        await until(done(runtime, 8))
    assert await counts(runtime) == {"sent": 5, "cancelled": 3}
    assert len([c for c in fake_api.rejected if c.chat_id == "7001"]) == 1
    assert await runtime.storage.outbox.is_unreachable(channel="telegram", external_id="7001")
    # They unblock the bot and write: reachable again, and new rows reach them.
    fake_api.blocked_chats.clear()
    await tg.send(7001, "/menu")
    assert not await runtime.storage.outbox.is_unreachable(channel="telegram", external_id="7001")
    await runtime.storage.outbox.add(message(99, chat=7001, resident_id=blocked.id), now=utcnow())
    async with running_worker(runtime, fake_api):
        await until(done(runtime, 9))
    assert (await counts(runtime))["sent"] == 6


async def test_server_errors_back_off_then_fail_with_the_reason(
    runtime: Runtime, fake_api: FakeBotApi
) -> None:
    fake_api.fail_chats["8001"] = 502
    fake_api.flaky = 2  # the first two sends get a 500, then the platform recovers
    await runtime.storage.outbox.add_many(
        [message(1, chat=8001), message(2, chat=8002)], now=utcnow()
    )
    # No waiting between retries in this test; the backoff curve itself is checked below.
    quick = WorkerSettings(concurrency=1, max_attempts=3, backoff_base=0.0)
    async with running_worker(runtime, fake_api, settings=quick):
        await until(done(runtime, 2))
    outbox = runtime.storage.outbox
    failed = await outbox.status_of(dedupe_key="announcement:test:1")
    assert failed is not None and failed[0] == "failed" and "Bad Gateway" in (failed[1] or "")
    assert (await outbox.status_of(dedupe_key="announcement:test:2") or ("",))[0] == "sent"
    assert len([c for c in fake_api.rejected if c.chat_id == "8001"]) <= 3
    settings = WorkerSettings()
    assert [backoff(n, settings) for n in (1, 2, 3)] == [10.0, 20.0, 40.0]
    assert backoff(30, settings) == settings.backoff_cap


async def test_slow_platform_and_graceful_stop_send_nothing_twice(
    runtime: Runtime, fake_api: FakeBotApi
) -> None:
    fake_api.delay = 0.05
    await runtime.storage.outbox.add_many([message(n) for n in range(40)], now=utcnow())
    async with running_worker(
        runtime, fake_api, limits=Limits(overall_rate=40, chat_rate=40)
    ) as run:
        await until(lambda: len(fake_api.sent()) >= 5)
        await run.service.stop()  # what SIGTERM does: finish sends on the wire, return the rest
        stopped = await counts(runtime)
    assert "sending" not in stopped
    assert stopped["sent"] == len(fake_api.sent())
    async with running_worker(runtime, fake_api):
        await until(done(runtime, 40))
    assert set(received(fake_api).values()) == {1}
    assert len(received(fake_api)) == 40


async def test_limiter_serves_interactive_waiters_first() -> None:
    limiter = ChannelLimiter(Limits(overall_rate=100, chat_rate=1000, chat_burst=100))
    order: list[str] = []

    async def take(name: str, priority: int) -> None:
        await limiter.acquire(name, priority=priority)
        order.append(name)

    bulk = [asyncio.create_task(take(f"bulk{n}", BULK)) for n in range(10)]
    await asyncio.sleep(0)  # the bulk waiters queue first
    reply = asyncio.create_task(take("reply", INTERACTIVE))
    await asyncio.gather(reply, *bulk)
    # Only what was handed out before the reply queued can come before it.
    assert order.index("reply") <= 2
    await limiter.close()


async def test_replies_to_people_chatting_now_go_ahead_of_a_big_announcement(
    runtime: Runtime, fake_api: FakeBotApi
) -> None:
    limiter = ChannelLimiter(Limits(overall_rate=50))
    channel = TelegramChannel(
        runtime.settings, runtime.dispatcher, runtime.translator, limiter=limiter
    )
    app = channel.build()
    await runtime.storage.outbox.add_many([message(n) for n in range(300)], now=utcnow())
    async with app, running_worker(runtime, fake_api, limiter=limiter):
        harness = TelegramHarness(app, fake_api)
        await until(lambda: len(fake_api.sent()) >= 20)
        for user in (6001, 6002, 6003):
            before = len(fake_api.sent())
            replies = await harness.send(user, "/menu")
            assert replies and replies[0].text.startswith("Menu utama")
            position = fake_api.sent().index(replies[0])
            # In arrival order the reply would wait behind the ~250 rows still queued; ahead of
            # it go only rows sent while its turn was being handled (storage reads and writes)
            # and those already holding a token.
            assert position - before <= 10
        # The announcement was still under way when the last reply went out.
        pending = await counts(runtime)
        assert pending.get("pending", 0) + pending.get("sending", 0) > 0
    assert limiter.granted[INTERACTIVE] == 3
