from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.channels.telegram import TelegramChannel
from bot.config import Secret, Settings
from bot.content import parse_content
from bot.runtime import Runtime
from storage.content import ContentRepo
from tests.fakes.telegram_api import FakeBotApi
from tests.telegram_harness import TelegramHarness

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


@pytest.fixture
def settings(fake_api: FakeBotApi, db_path: Path) -> Settings:
    return Settings(
        telegram_token=Secret(fake_api.token),
        telegram_api_url=fake_api.url,
        db_path=str(db_path),
    )


async def load_sample(runtime: Runtime) -> None:
    text = resources.files("bot.sample").joinpath("ntt.yaml").read_text("utf-8")
    today = datetime.now(ZoneInfo(runtime.settings.timezone)).date()
    content = parse_content(text, timezone=runtime.settings.timezone, today=today)
    await ContentRepo(runtime.storage.db).import_content(content, is_sample=True)


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
