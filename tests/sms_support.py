"""Shared pieces of the SMS tests: the SMS settings for the fake gateway on loopback, the SMS
channel behind the real HTTP server, and the real outbox worker run for the SMS channel."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.channels.sms import SmsChannel
from bot.config import Secret
from bot.config_sms import SmsSettings
from bot.delivery.limits import ChannelLimiter, Limits
from bot.delivery.worker import DeliveryWorker, WorkerSettings
from bot.runtime import Runtime
from bot.web import WebServer, build_app
from storage.clock import utcnow
from tests.delivery_helpers import until
from tests.fakes import sms_gateway as fake
from tests.fakes.sms_gateway import FakeSmsGateway, received, signed_event


def sms_settings(gateway: FakeSmsGateway, **changes: object) -> SmsSettings:
    values: dict[str, object] = {
        "gateway_url": gateway.url,
        "user": fake.USER,
        "password": Secret(fake.PASSWORD),
        "webhook_secret": Secret(fake.SECRET),
        "rate": 200.0,
    }
    values.update(changes)
    return SmsSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def gateway() -> AsyncIterator[FakeSmsGateway]:
    api = await FakeSmsGateway().start()
    yield api
    await api.stop()


class Sms:
    """The SMS channel behind the real HTTP server, and a way to text it."""

    def __init__(self, channel: SmsChannel, url: str, http: aiohttp.ClientSession) -> None:
        self.channel = channel
        self.url = url
        self.http = http

    async def post(self, body: bytes, headers: dict[str, str]) -> int:
        async with self.http.post(f"{self.url}/webhooks/sms", data=body, headers=headers) as r:
            status = r.status
        await self.channel.drain()
        return status

    async def text(self, phone: str, words: str) -> int:
        return await self.post(*signed_event("sms:received", received(phone, words)))


@pytest.fixture
async def sms(runtime: Runtime) -> AsyncIterator[Sms]:
    assert runtime.settings.sms is not None
    channel = SmsChannel(
        runtime.settings.sms,
        runtime.dispatcher,
        runtime.translator,
        runtime.storage.sms,
        clock=utcnow,
        copy_seconds=3600,  # the tests write copies when they want them
    )
    await channel.start()
    server = WebServer(build_app(channel.routes(), ["sms"]))
    port = await server.start("127.0.0.1", 0)
    async with aiohttp.ClientSession() as http:
        yield Sms(channel, f"http://127.0.0.1:{port}", http)
    await server.stop()
    await channel.stop()


async def deliver_sms(runtime: Runtime, sms: Sms, done: int, *, sent: str | None = None) -> None:
    """Run the real outbox worker for the SMS channel until `done` SMS rows are finished (or
    deferred), and the row keyed `sent` is sent."""
    worker = DeliveryWorker(
        runtime.storage,
        runtime.translator,
        {"sms": sms.channel.sender},
        {"sms": ChannelLimiter(Limits(overall_rate=200, chat_rate=200, chat_burst=10))},
        WorkerSettings(concurrency=4),
    )
    await worker.start()
    try:

        async def finished() -> bool:
            rows = await runtime.storage.db.fetchall(
                "SELECT count(*) FROM outbox WHERE channel = 'sms' "
                "AND (status <> 'pending' OR last_error IS NOT NULL) AND status <> 'sending'"
            )
            worker.wake()
            if sent is not None:
                status = await runtime.storage.outbox.status_of(dedupe_key=sent)
                if status is None or status[0] != "sent":
                    return False
            return int(rows[0][0]) >= done

        await until(finished)
    finally:
        await worker.stop()
