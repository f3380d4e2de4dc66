"""A fake Telegram Bot API on loopback that records every call and can misbehave on request.

It speaks the real HTTP shape python-telegram-bot uses: POST {root}/bot{token}/{method} with
form-encoded or multipart parameters whose values are JSON where not plain strings.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER = {
    "id": 7000000001,
    "is_bot": True,
    "first_name": "Pustaka",
    "username": "pustaka_ntt_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float

    @property
    def chat_id(self) -> str:
        return str(self.params.get("chat_id"))

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def buttons(self) -> list[tuple[str, str]]:
        markup = self.params.get("reply_markup") or {}
        if isinstance(markup, str):
            markup = json.loads(markup)
        return [
            (b["text"], b.get("callback_data", ""))
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]


@dataclass
class FakeBotApi:
    token: str = "123456:TEST-token"
    calls: list[Call] = field(default_factory=list)
    blocked_chats: set[str] = field(default_factory=set)
    fail_methods: dict[str, int] = field(default_factory=dict)  # method -> HTTP status to answer
    delay: float = 0.0
    rate_limit: float | None = None  # messages per second across all chats; past it: 429
    retry_after: int = 1
    too_many: int = 0
    storm: int = 0  # answer the next this-many sends with 429 retry_after, whatever the rate
    fail_chats: dict[str, int] = field(default_factory=dict)  # chat -> HTTP status (5xx)
    flaky: int = 0  # answer the next this-many sends with 500, then behave
    rejected: list[Call] = field(default_factory=list)  # sends answered with an error
    poll_wait: float = 0.2  # getUpdates holds this long (capped by its timeout): no busy loop
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _window: deque[float] = field(default_factory=deque)
    _runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> FakeBotApi:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def sent(self, chat_id: int | str | None = None) -> list[Call]:
        """Messages and documents sent, optionally to one chat."""
        return [
            c
            for c in self.calls
            if c.method in ("sendMessage", "sendDocument", "sendPhoto")
            and (chat_id is None or c.chat_id == str(chat_id))
        ]

    def clear(self) -> None:
        self.calls.clear()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type.startswith("multipart/"):
            form = await request.post()
        elif request.content_type == "application/json":
            return dict(await request.json())
        else:
            form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, str):
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    params[key] = value
            else:  # an uploaded file
                params[key] = {"filename": value.filename, "content": value.file.read()}
        return params

    def _error(self, status: int, description: str, **extra: Any) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if extra:
            body["parameters"] = extra
        return web.json_response(body, status=status)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await self._params(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        if method == "getUpdates":
            await asyncio.sleep(min(float(params.get("timeout") or 0), self.poll_wait))
        if method in self.fail_methods:
            return self._error(self.fail_methods[method], "Internal Server Error")
        chat = str(params.get("chat_id"))
        if method.startswith("send"):
            refused = self._refuse(method, params, chat)
            if refused is not None:
                self.rejected.append(Call(method, params, time.monotonic()))
                return refused
        self.calls.append(Call(method, params, time.monotonic()))
        return web.json_response({"ok": True, "result": self._result(method, params)})

    def _too_many(self) -> web.Response:
        self.too_many += 1
        return self._error(
            429, f"Too Many Requests: retry after {self.retry_after}", retry_after=self.retry_after
        )

    def _refuse(self, method: str, params: dict[str, Any], chat: str) -> web.Response | None:
        """The error a real Bot API would give this send, or None to accept it."""
        if self.storm > 0:
            self.storm -= 1
            return self._too_many()
        if self.rate_limit is not None:
            now = time.monotonic()
            while self._window and now - self._window[0] >= 1.0:
                self._window.popleft()
            if len(self._window) >= self.rate_limit:
                return self._too_many()
            self._window.append(now)
        if self.flaky > 0:
            self.flaky -= 1
            return self._error(500, "Internal Server Error")
        if chat in self.fail_chats:
            return self._error(self.fail_chats[chat], "Bad Gateway")
        if chat in self.blocked_chats:
            return self._error(403, "Forbidden: bot was blocked by the user")
        return None

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method.startswith("send") or method.startswith("edit"):
            message: dict[str, Any] = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": int(params.get("chat_id", 0)), "type": "private"},
                "from": BOT_USER,
            }
            if "text" in params:
                message["text"] = params["text"]
            if method == "sendDocument":
                document = params.get("document") or {}
                message["document"] = {
                    "file_id": "doc",
                    "file_unique_id": "doc",
                    "file_name": document.get("filename") if isinstance(document, dict) else None,
                }
            return message
        if method == "getUpdates":
            return []
        return True
