"""Telegram specifics: command menu, per-person order under concurrency, long texts, base URL."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.channels.telegram import TelegramChannel
from bot.channels.textsplit import split_text
from bot.runtime import Runtime
from tests.fakes.telegram_api import FakeBotApi
from tests.telegram_harness import TelegramHarness


async def test_command_menu_is_registered_in_indonesian_and_english(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    channel = TelegramChannel(runtime.settings, runtime.dispatcher, runtime.translator)
    await channel.register_commands(tg.app)
    calls = [c for c in tg.api.calls if c.method == "setMyCommands"]
    assert len(calls) == 2
    indonesian = [c["command"] for c in calls[0].params["commands"]]
    assert indonesian[:4] == ["start", "menu", "layanan", "acara"]
    assert calls[1].params["language_code"] == "en"
    assert "services" in [c["command"] for c in calls[1].params["commands"]]


async def test_command_menu_failure_is_logged_not_fatal(
    tg: TelegramHarness, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    tg.api.fail_methods["setMyCommands"] = 500
    channel = TelegramChannel(runtime.settings, runtime.dispatcher, runtime.translator)
    with caplog.at_level(logging.WARNING):
        await channel.register_commands(tg.app)
    assert "could not register the command menu" in caplog.text


async def test_one_persons_messages_are_answered_in_order_while_others_run(
    tg: TelegramHarness, fake_api: FakeBotApi
) -> None:
    fake_api.delay = 0.01
    users = [9100 + n for n in range(20)]
    updates = []
    for user in users:
        updates += [
            tg.message_update(user, "/menu"),
            tg.message_update(user, "/bantuan"),
            tg.message_update(user, "/layanan"),
        ]
    await asyncio.gather(*(tg.app.process_update(u) for u in updates))
    for user in users:
        sent = [c.text for c in fake_api.sent(user)]
        assert len(sent) == 3
        assert sent[0].startswith("Menu utama")
        assert sent[1].startswith("Pustaka membantu")
        assert sent[2].startswith("📚 Perpustakaan terdekat")


def test_long_text_is_split_on_paragraphs_under_the_limit() -> None:
    text = "\n\n".join(f"Paragraf {n} " + "kata " * 150 for n in range(12))
    parts = split_text(text, 4096)
    assert len(parts) > 1
    assert all(len(p) <= 4096 for p in parts)
    assert all(p.startswith("Paragraf") for p in parts)
    assert "".join(parts).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(
        " ", ""
    )


async def test_requests_go_to_the_configured_api_root(tg: TelegramHarness) -> None:
    # getMe at start-up and every send went to the loopback fake, under /bot<token>/<method>.
    assert tg.api.calls[0].method == "getMe"
    await tg.send(4242, "/menu")
    assert tg.api.sent(4242)
