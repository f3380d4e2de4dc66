"""Operators hear about trouble (issue 15): unexpected errors reach the operators' chat grouped
and rate-limited, and /metrics shows updates, replies, outbox rows, 429s and latencies in
Prometheus' text format."""

from __future__ import annotations

import logging

import aiohttp
import pytest
from telegram import Bot

from bot.channels.base import Outbound
from bot.channels.telegram import TelegramSender
from bot.config import load_settings
from bot.ops import OpsAlerts
from bot.runtime import Runtime
from bot.web import WebServer, build_app
from storage.clock import utcnow
from tests.delivery_helpers import message, running_worker, until
from tests.fakes.telegram_api import FakeBotApi
from tests.telegram_harness import TelegramHarness, texts

OPS_CHAT = -1009990001
USER = 8701


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_failures_reach_the_operators_chat_grouped_and_rate_limited(
    tg: TelegramHarness, runtime: Runtime, fake_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    async with Bot(fake_api.token, base_url=f"{fake_api.url}/bot") as bot:
        sender = TelegramSender(bot)

        async def send(text: str) -> None:
            await sender.send(Outbound(recipient=str(OPS_CHAT), text=text))

        alerts = OpsAlerts(send, runtime.translator, quiet_seconds=600, per_hour=3, clock=clock)
        alerts.start()
        try:

            async def broken(**_: object) -> None:
                raise RuntimeError("disk on fire")

            monkeypatch.setattr(runtime.storage.events, "upcoming", broken)
            await tg.onboard(USER)
            error = runtime.translator.text("id", "common.error")
            for _ in range(30):
                assert error in texts(await tg.send(USER, "/acara"))
            await until(lambda: len(fake_api.sent(OPS_CHAT)) >= 1)
            await alerts.flush_now()
            (first,) = fake_api.sent(OPS_CHAT)
            assert "1× RuntimeError" in first.text and "disk on fire" in first.text
            assert "handlers/events.py" in first.text  # where our code was when it failed
            # Ten minutes later the other 29 come as one message.
            clock.now += 601
            await alerts.flush_now()
            assert "29× RuntimeError" in fake_api.sent(OPS_CHAT)[-1].text
            # Many different errors: no more than the hour's budget (3).
            for n in range(10):
                logging.getLogger("pustaka.test").error(f"different trouble number {n}")
            await alerts.flush_now()
            assert len(fake_api.sent(OPS_CHAT)) == 3
        finally:
            await alerts.stop()


def test_the_ops_chat_setting_is_checked() -> None:
    settings = load_settings({"PUSTAKA_OPS_CHAT": "-100123"}, env_file=None)
    assert settings.ops_chat is not None and settings.ops_chat.user_id == "-100123"
    with pytest.raises(Exception, match="PUSTAKA_OPS_CHAT"):
        load_settings({"PUSTAKA_OPS_CHAT": "ops-room"}, env_file=None)


async def test_metrics_in_prometheus_text_format(
    tg: TelegramHarness, runtime: Runtime, fake_api: FakeBotApi
) -> None:
    server = WebServer(build_app([], []))
    port = await server.start("127.0.0.1", 0)
    try:
        await tg.onboard(USER)
        await runtime.storage.outbox.add_many([message(n) for n in range(3)], now=utcnow())
        fake_api.storm = 1  # one 429 on the way
        async with running_worker(runtime, fake_api):
            await until(lambda: len(fake_api.sent()) >= 7)
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/metrics") as response,
        ):
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            body = await response.text()
    finally:
        await server.stop()
    for line in (
        'pustaka_updates_total{channel="telegram",outcome="ok"}',
        'pustaka_replies_total{channel="telegram",status="sent"}',
        'pustaka_outbox_rows_total{channel="telegram",status="sent"}',
        'pustaka_rate_limited_total{channel="telegram"}',
        'pustaka_reply_seconds_bucket{channel="telegram",le="0.5"}',
        'pustaka_delivery_lag_seconds_count{channel="telegram",kind="announcement"}',
    ):
        assert line in body, line
