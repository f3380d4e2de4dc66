"""An in-process stand-in for the Bot API: python-telegram-bot's request layer answers at once.

Benchmarks use it so that what is measured is our code and PTB's, not loopback HTTP.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Pustaka", "username": "pustaka_bot"}


class InstantBotApi(BaseRequest):
    def __init__(self, watch: tuple[str, ...] = ()) -> None:
        self.calls = 0
        self.sent = 0  # messages (send* methods)
        # Messages whose text is one of these (an error reply, say) are counted.
        self._watch = set(watch)
        self.watched = 0
        self._ids = itertools.count(1)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        self.calls += 1
        api_method = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data is not None else {}
        result: Any = True
        if api_method == "getMe":
            result = BOT_USER
        elif api_method.startswith("send"):
            self.sent += 1
            self.watched += params.get("text") in self._watch
            result = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": int(params.get("chat_id", 0)), "type": "private"},
                "text": params.get("text", ""),
            }
        return 200, json.dumps({"ok": True, "result": result}).encode()
