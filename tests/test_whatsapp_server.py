"""The HTTP server as `pustaka run` starts it: Telegram in webhook mode (right and wrong secret
header) next to WhatsApp, and the real command serving WhatsApp against the fake Graph API."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_webhook import SECRET_HEADER, TelegramWebhook
from bot.runtime import Runtime
from bot.web import WebServer, build_app
from tests.fakes import whatsapp_api as wa_fake
from tests.fakes.telegram_api import FakeBotApi
from tests.fakes.whatsapp_api import FakeGraphApi
from tests.pustaka_process import free_port, pustaka_env, start_pustaka_run
from tests.telegram_harness import TelegramHarness
from tests.whatsapp_harness import APP_SECRET, VERIFY_TOKEN, sign

SECRET = "tg-webhook-secret_1"
USER = 8801


async def _until(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    """Wait for something another task does; a bound on waiting, not an assertion on speed."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


@pytest.fixture
async def telegram_web(
    runtime: Runtime, fake_api: FakeBotApi
) -> AsyncIterator[tuple[str, TelegramHarness, TelegramWebhook]]:
    app = TelegramChannel(runtime.settings, runtime.dispatcher, runtime.translator).build()
    webhook = TelegramWebhook(app, SECRET)
    server = WebServer(build_app(webhook.routes(), ["telegram"]))
    port = await server.start("127.0.0.1", 0)
    async with app:
        await app.start()
        yield f"http://127.0.0.1:{port}", TelegramHarness(app, fake_api), webhook
        await app.stop()
    await server.stop()


async def test_telegram_webhook_with_the_right_secret_is_served(
    telegram_web: tuple[str, TelegramHarness, TelegramWebhook], fake_api: FakeBotApi
) -> None:
    url, harness, webhook = telegram_web
    update = harness.message_update(USER, "/menu").to_dict()
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{url}/webhooks/telegram", json=update, headers={SECRET_HEADER: SECRET}
        ) as response,
    ):
        assert response.status == 200
    await _until(lambda: fake_api.sent(USER), "the reply to /menu")
    assert fake_api.sent(USER)[0].text.startswith("Menu utama")

    await webhook.register("https://pustaka.example.id/webhooks/telegram")
    (call,) = [c for c in fake_api.calls if c.method == "setWebhook"]
    assert call.params["secret_token"] == SECRET
    assert call.params["url"] == "https://pustaka.example.id/webhooks/telegram"


async def test_telegram_webhook_with_a_wrong_or_missing_secret_is_refused(
    telegram_web: tuple[str, TelegramHarness, TelegramWebhook], fake_api: FakeBotApi
) -> None:
    url, harness, _ = telegram_web
    update = harness.message_update(USER, "/menu").to_dict()
    async with aiohttp.ClientSession() as http:
        for headers in ({SECRET_HEADER: "guess"}, {}):
            async with http.post(f"{url}/webhooks/telegram", json=update, headers=headers) as r:
                assert r.status == 403
        async with http.post(
            f"{url}/webhooks/telegram", data=b"{oops", headers={SECRET_HEADER: SECRET}
        ) as r:
            assert r.status == 400
    assert harness.app.update_queue.qsize() == 0
    assert fake_api.sent(USER) == []


async def test_pustaka_run_serves_whatsapp(tmp_path: Path, wa_api: FakeGraphApi) -> None:
    port = free_port()
    env = pustaka_env(
        PUSTAKA_DB=str(tmp_path / "pustaka.db"),
        PUSTAKA_HTTP_PORT=str(port),
        WHATSAPP_TOKEN=wa_fake.TOKEN,
        WHATSAPP_PHONE_NUMBER_ID=wa_fake.PHONE_NUMBER_ID,
        WHATSAPP_APP_SECRET=APP_SECRET,
        WHATSAPP_VERIFY_TOKEN=VERIFY_TOKEN,
        WHATSAPP_API_URL=wa_api.url,
        WHATSAPP_API_VERSION=wa_fake.VERSION,
    )
    process = await start_pustaka_run(tmp_path, env)
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            for _ in range(1000):
                try:
                    async with http.get(f"{base}/healthz") as response:
                        if response.status == 200:
                            assert (await response.json())["channels"] == ["whatsapp"]
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.02)
            else:
                raise AssertionError("the server never came up")
            body = json.dumps(
                {
                    "object": "whatsapp_business_account",
                    "entry": [
                        {
                            "id": "1",
                            "changes": [
                                {
                                    "field": "messages",
                                    "value": {
                                        "messaging_product": "whatsapp",
                                        "metadata": {
                                            "display_phone_number": "1",
                                            "phone_number_id": wa_fake.PHONE_NUMBER_ID,
                                        },
                                        "messages": [
                                            {
                                                "from": "6281234500009",
                                                "id": "wamid.RUN1",
                                                "timestamp": "1764000000",
                                                "type": "text",
                                                "text": {"body": "/start"},
                                            }
                                        ],
                                    },
                                }
                            ],
                        }
                    ],
                }
            ).encode()
            headers = {"X-Hub-Signature-256": sign(body), "Content-Type": "application/json"}
            async with http.post(f"{base}/webhooks/whatsapp", data=body, headers=headers) as r:
                assert r.status == 200
        await _until(lambda: wa_api.to("6281234500009"), "the welcome on WhatsApp")
        assert "Selamat datang" in wa_api.to("6281234500009")[0].text
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr


async def test_pustaka_run_serves_telegram_by_webhook(tmp_path: Path, fake_api: FakeBotApi) -> None:
    port = free_port()
    env = pustaka_env(
        PUSTAKA_DB=str(tmp_path / "pustaka.db"),
        PUSTAKA_HTTP_PORT=str(port),
        TELEGRAM_BOT_TOKEN=fake_api.token,
        TELEGRAM_API_URL=fake_api.url,
        TELEGRAM_WEBHOOK_URL="https://pustaka.example.id/webhooks/telegram",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
    )
    process = await start_pustaka_run(tmp_path, env)
    try:
        await _until(
            lambda: any(c.method == "setWebhook" for c in fake_api.calls), "setWebhook at start"
        )
        (call,) = [c for c in fake_api.calls if c.method == "setWebhook"]
        assert call.params["secret_token"] == SECRET
        assert not any(c.method == "getUpdates" for c in fake_api.calls)  # no polling
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 1764000000,
                "chat": {"id": USER, "type": "private"},
                "from": {"id": USER, "is_bot": False, "first_name": "Ana", "language_code": "id"},
                "text": "/menu",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        }
        async with aiohttp.ClientSession() as http:
            for _ in range(1000):
                try:
                    async with http.post(
                        f"http://127.0.0.1:{port}/webhooks/telegram",
                        json=update,
                        headers={SECRET_HEADER: "wrong"},
                    ) as response:
                        assert response.status == 403
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.02)
            async with http.post(
                f"http://127.0.0.1:{port}/webhooks/telegram",
                json=update,
                headers={SECRET_HEADER: SECRET},
            ) as response:
                assert response.status == 200
        await _until(lambda: fake_api.sent(USER), "the reply to /menu")
        assert fake_api.sent(USER)[0].text.startswith("Menu utama")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr
