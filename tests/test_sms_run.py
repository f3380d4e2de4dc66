"""SMS as a person runs it: `pustaka run` with SMS_GATEWAY_URL set serves SMS beside Telegram,
`pustaka outbox` shows the day's SMS and segments, and the SMS settings refuse what is wrong."""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.config import ConfigError, load_settings
from storage import Storage
from tests.fakes import sms_gateway as fake
from tests.fakes.sms_gateway import FakeSmsGateway, received, signed_event
from tests.fakes.telegram_api import FakeBotApi
from tests.pustaka_process import free_port, pustaka_env, run_pustaka, start_pustaka_run


def sms_env(gateway_url: str, **more: str) -> dict[str, str]:
    return {
        "SMS_GATEWAY_URL": gateway_url,
        "SMS_GATEWAY_USER": fake.USER,
        "SMS_GATEWAY_PASSWORD": fake.PASSWORD,
        "SMS_WEBHOOK_SECRET": fake.SECRET,
        **more,
    }


async def _until(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    """Wait for something another process does; a bound on waiting, not a speed assertion."""
    for _ in range(1500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def test_pustaka_run_serves_sms_beside_telegram(tmp_path: Path, fake_api: FakeBotApi) -> None:
    gateway = await FakeSmsGateway().start()
    port = free_port()
    env = pustaka_env(
        PUSTAKA_DB=str(tmp_path / "pustaka.db"),
        PUSTAKA_HTTP_PORT=str(port),
        TELEGRAM_BOT_TOKEN=fake_api.token,
        TELEGRAM_API_URL=fake_api.url,
        **sms_env(gateway.url),
    )
    process = await start_pustaka_run(tmp_path, env)
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            for _ in range(1000):
                try:
                    async with http.get(f"{base}/healthz") as response:
                        if response.status == 200:
                            assert (await response.json())["channels"] == ["telegram", "sms"]
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.02)
            else:
                raise AssertionError("the server never came up")
            body, headers = signed_event("sms:received", received("+6281333344445", "BANTUAN"))
            async with http.post(f"{base}/webhooks/sms", data=body, headers=headers) as r:
                assert r.status == 200
        await _until(lambda: gateway.to("+6281333344445"), "the answer by SMS")
        assert gateway.to("+6281333344445")[0].startswith("SMS Pustaka: ACARA")
        await _until(lambda: any(c.method == "getUpdates" for c in fake_api.calls), "polling")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await process.communicate()
        await gateway.stop()
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr


async def _spend(path: Path) -> None:
    storage = await Storage.open(path)
    try:
        now = datetime.now(ZoneInfo("Asia/Makassar"))
        day_ends = now + timedelta(days=1)
        for kind, segments in (("reminder", 1), ("reply", 3), ("reply", 2)):
            ledger = await storage.sms.reserve(
                day=now.date().isoformat(),
                day_ends=day_ends,
                kind=kind,
                recipient="+6281200000001",
                segments=segments,
                limit=50,
                now=now,
            )
            assert ledger is not None
            await storage.sms.queued(ledger_id=ledger, message_id=f"m{ledger}", now=now)
    finally:
        await storage.close()


def test_pustaka_outbox_shows_sms_messages_and_segments(tmp_path: Path) -> None:
    env = pustaka_env(
        PUSTAKA_DB=str(tmp_path / "pustaka.db"),
        **sms_env("http://127.0.0.1:9", SMS_DAILY_LIMIT="50"),
    )
    assert run_pustaka(tmp_path, env, "init").returncode == 0
    asyncio.run(_spend(tmp_path / "pustaka.db"))
    shown = run_pustaka(tmp_path, env, "outbox")
    assert shown.returncode == 0, shown.stderr
    assert "3 messages, 6 segments of 50" in shown.stdout
    assert "reminder: 1 messages, 1 segments" in shown.stdout
    assert "reply: 2 messages, 5 segments" in shown.stdout


def test_sms_settings() -> None:
    assert load_settings({}, env_file=None).sms is None
    settings = load_settings(sms_env("http://192.168.1.20:8080/"), env_file=None).sms
    assert settings is not None
    assert settings.gateway_url == "http://192.168.1.20:8080"
    assert settings.daily_limit == 100 and settings.rate == 0.5
    assert settings.kinds == ("reminder", "promotion", "event_changed", "event_cancelled")
    assert "gateway-pass" not in repr(settings)
    for values, variable in (
        ({"SMS_GATEWAY_USER": "x"}, "SMS_GATEWAY_URL"),
        ({**sms_env("http://x"), "SMS_WEBHOOK_SECRET": ""}, "SMS_WEBHOOK_SECRET"),
        (sms_env("ftp://x"), "SMS_GATEWAY_URL"),
        (sms_env("http://x", SMS_DAILY_LIMIT="many"), "SMS_DAILY_LIMIT"),
        (sms_env("http://x", SMS_RATE="0"), "SMS_RATE"),
        (sms_env("http://x", SMS_KINDS="reminder,spam"), "SMS_KINDS"),
        # Announcements go by SMS per announcement (/siaran), never for the whole deployment.
        (sms_env("http://x", SMS_KINDS="reminder,announcement"), "SMS_KINDS"),
    ):
        with pytest.raises(ConfigError, match=variable):
            load_settings(values, env_file=None)
