"""`pustaka outbox` and `pustaka outbox retry-failed`, and the delivery settings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from storage import Storage
from storage.clock import utcnow
from storage.outbox import OutboxMessage
from tests.delivery_helpers import message
from tests.test_cli import _pustaka


async def _fill(path: Path) -> None:
    storage = await Storage.open(path)
    try:
        outbox = storage.outbox
        await outbox.add_many([message(n) for n in range(3)], now=utcnow())
        await outbox.add(
            OutboxMessage("reminder:1:2h", "reminder", "telegram", "5", ""), now=utcnow()
        )
        rows = await outbox.claim(channels=["telegram"], limit=2, now=utcnow())
        await outbox.mark_sent(row_id=rows[0].id, now=utcnow())
        await outbox.finish(row_id=rows[1].id, status="failed", reason="Bad Gateway", now=utcnow())
    finally:
        await storage.close()


def test_outbox_shows_counts_and_retries_failed_rows(tmp_path: Path) -> None:
    assert _pustaka(tmp_path, "init").returncode == 0
    empty = _pustaka(tmp_path, "outbox")
    assert empty.returncode == 0 and "empty" in empty.stdout
    asyncio.run(_fill(tmp_path / "pustaka.db"))
    shown = _pustaka(tmp_path, "outbox")
    assert shown.returncode == 0, shown.stderr
    assert "pending: 2  sending: 0  sent: 1  failed: 1" in shown.stdout
    assert "announcement: failed 1, pending 1, sent 1" in shown.stdout
    assert "reminder: pending 1" in shown.stdout
    assert "oldest pending:" in shown.stdout and " WITA" in shown.stdout  # times in WITA
    retried = _pustaka(tmp_path, "outbox", "retry-failed")
    assert retried.returncode == 0 and "1 failed rows put back" in retried.stdout
    assert "pending: 3" in _pustaka(tmp_path, "outbox").stdout


def test_delivery_settings() -> None:
    settings = load_settings({}, env_file=None)
    assert settings.telegram_rate == 25.0 and settings.delivery_concurrency == 16
    custom = load_settings(
        {"PUSTAKA_TELEGRAM_RATE": "20", "PUSTAKA_DELIVERY_CONCURRENCY": "4"}, env_file=None
    )
    assert custom.telegram_rate == 20.0 and custom.delivery_concurrency == 4
    for variable, value in (
        ("PUSTAKA_TELEGRAM_RATE", "fast"),
        ("PUSTAKA_TELEGRAM_RATE", "0"),
        ("PUSTAKA_DELIVERY_CONCURRENCY", "-1"),
    ):
        with pytest.raises(ConfigError, match=variable):
            load_settings({variable: value}, env_file=None)
