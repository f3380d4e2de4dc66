"""`pustaka run` with a token serves Telegram by long polling, against the loopback fake."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

from tests.fakes.telegram_api import FakeBotApi
from tests.pustaka_process import pustaka_env, start_pustaka_run


class PollingFakeBotApi(FakeBotApi):
    """Hands out queued updates to getUpdates once each, as Telegram does."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[dict[str, Any]] = []

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            ready = [u for u in self.pending if u["update_id"] >= offset]
            return ready
        return super()._result(method, params)


async def test_run_serves_telegram_by_long_polling(tmp_path: Path) -> None:
    api = await PollingFakeBotApi().start()
    api.pending.append(
        {
            "update_id": 10,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": 4321, "type": "private"},
                "from": {"id": 4321, "is_bot": False, "first_name": "Ana", "language_code": "id"},
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
    )
    env = pustaka_env(
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_URL=api.url,
        PUSTAKA_DB=str(tmp_path / "run.db"),
    )
    process = await start_pustaka_run(tmp_path, env)
    try:
        for _ in range(300):  # up to ~30 s on a slow machine
            if api.sent(4321):
                break
            await asyncio.sleep(0.1)
        assert api.sent(4321), "the bot never answered"
        assert "Selamat datang" in api.sent(4321)[0].text
        assert any(c.method == "setMyCommands" for c in api.calls)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
        await api.stop()
    assert process.returncode == 0, stderr.decode()
