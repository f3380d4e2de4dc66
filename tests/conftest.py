from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import WhatsAppChannel
from bot.config import Secret, Settings
from bot.config_whatsapp import WhatsAppSettings, WhatsAppTemplate
from bot.content import parse_content
from bot.runtime import Runtime
from bot.web import WebServer, build_app
from storage.clock import utcnow
from storage.content import ContentRepo
from tests import pg_support
from tests.fakes import whatsapp_api as wa_fake
from tests.fakes.telegram_api import FakeBotApi
from tests.fakes.whatsapp_api import FakeGraphApi
from tests.telegram_harness import TelegramHarness
from tests.whatsapp_harness import APP_SECRET, VERIFY_TOKEN, FakeClock, WhatsAppHarness

# python-telegram-bot 22 warns (an error here) whenever a RetryAfter is built unless this opts in
# to its coming timedelta type; `pustaka` sets it too.
os.environ.setdefault("PTB_TIMEDELTA", "1")


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotApi]:
    api = await FakeBotApi().start()
    yield api
    await api.stop()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "pustaka.db"


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database on each engine: a SQLite file, then a PostgreSQL database of its own
    (tests/pg_support.py says where the server comes from)."""
    if request.param == "sqlite":
        yield str(tmp_path / "pustaka.db")
        return
    url = await pg_support.create_database()
    yield url
    await pg_support.drop_database(url)


@pytest.fixture
async def app_db(db_path: Path) -> AsyncIterator[str]:
    """The database the app under test runs on: the SQLite file, or with
    PUSTAKA_TEST_ENGINE=postgresql a fresh PostgreSQL database (the whole suite on that engine)."""
    if os.environ.get("PUSTAKA_TEST_ENGINE") != "postgresql":
        yield str(db_path)
        return
    url = await pg_support.create_database()
    yield url
    await pg_support.drop_database(url)


@pytest.fixture
def settings(fake_api: FakeBotApi, app_db: str) -> Settings:
    return Settings(
        telegram_token=Secret(fake_api.token),
        telegram_api_url=fake_api.url,
        db_path=app_db,
    )


async def load_sample(runtime: Runtime) -> None:
    text = resources.files("bot.sample").joinpath("ntt.yaml").read_text("utf-8")
    today = datetime.now(ZoneInfo(runtime.settings.timezone)).date()
    content = parse_content(text, timezone=runtime.settings.timezone, today=today)
    await ContentRepo(runtime.storage.db).import_content(content, is_sample=True, now=utcnow())


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = await Runtime.open(settings)
    await load_sample(rt)
    yield rt
    await rt.close()


@pytest.fixture
async def tg(runtime: Runtime, fake_api: FakeBotApi) -> AsyncIterator[TelegramHarness]:
    channel = TelegramChannel(runtime.settings, runtime.dispatcher, runtime.translator)
    app = channel.build()
    async with app:
        yield TelegramHarness(app, fake_api)


# --- WhatsApp: the real webhook server on loopback, replies to a fake Graph API ---------------


@pytest.fixture
async def wa_api() -> AsyncIterator[FakeGraphApi]:
    api = await FakeGraphApi().start()
    yield api
    await api.stop()


def whatsapp_settings(api: FakeGraphApi, **changes: Any) -> WhatsAppSettings:
    values: dict[str, Any] = {
        "token": Secret(wa_fake.TOKEN),
        "phone_number_id": wa_fake.PHONE_NUMBER_ID,
        "app_secret": Secret(APP_SECRET),
        "verify_token": Secret(VERIFY_TOKEN),
        "api_url": api.url,
        "api_version": wa_fake.VERSION,
        "templates": {
            "reminder": WhatsAppTemplate(
                "reminder", "pustaka_pengingat", {"id": "id", "en": "en_US"}, ("event", "when"), 2
            )
        },
    }
    values.update(changes)
    return WhatsAppSettings(**values)


@pytest.fixture
def wa_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def wa(
    runtime: Runtime, wa_api: FakeGraphApi, wa_clock: FakeClock
) -> AsyncIterator[WhatsAppHarness]:
    channel = WhatsAppChannel(
        whatsapp_settings(wa_api),
        runtime.dispatcher,
        runtime.translator,
        runtime.storage.whatsapp,
        clock=wa_clock,
    )
    await channel.start()
    server = WebServer(build_app(channel.routes(), ["whatsapp"]))
    port = await server.start("127.0.0.1", 0)
    async with aiohttp.ClientSession() as http:
        yield WhatsAppHarness(channel, f"http://127.0.0.1:{port}", wa_api, http, wa_clock)
    await server.stop()
    await channel.close()
