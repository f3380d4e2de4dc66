"""Drive the real python-telegram-bot Application with real Update objects; the Bot API it calls
is the loopback fake, so every reply crosses real HTTP."""

from __future__ import annotations

import itertools
import time
from typing import Any

from telegram import Update
from telegram.ext import Application

from tests.fakes.telegram_api import BOT_USER, Call, FakeBotApi


class TelegramHarness:
    def __init__(self, app: Application, api: FakeBotApi) -> None:  # type: ignore[type-arg]
        self.app = app
        self.api = api
        self._ids = itertools.count(1)
        self.usernames: dict[int, str] = {}  # Telegram @usernames of test users who have one

    def _user(self, user_id: int, language: str) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": f"Warga{user_id}",
            "language_code": language,
        }
        if user_id in self.usernames:
            user["username"] = self.usernames[user_id]
        return user

    def message_update(self, user_id: int, text: str, language: str = "id") -> Update:
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": f"Warga{user_id}"},
            "from": self._user(user_id, language),
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        return Update.de_json({"update_id": next(self._ids), "message": message}, self.app.bot)

    def button_update(self, user_id: int, payload: str, language: str = "id") -> Update:
        query = {
            "id": str(next(self._ids)),
            "from": self._user(user_id, language),
            "chat_instance": "ci",
            "data": payload,
            "message": {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private"},
                "from": BOT_USER,
                "text": "…",
            },
        }
        return Update.de_json({"update_id": next(self._ids), "callback_query": query}, self.app.bot)

    def raw_message_update(self, user_id: int, extra: dict[str, Any]) -> Update:
        """A message with fields of the test's choosing (a photo, a forward...)."""
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": f"Warga{user_id}"},
            "from": self._user(user_id, "id"),
            **extra,
        }
        return Update.de_json({"update_id": next(self._ids), "message": message}, self.app.bot)

    async def send_raw(self, user_id: int, extra: dict[str, Any]) -> list[Call]:
        return await self._run(self.raw_message_update(user_id, extra), user_id)

    async def _run(self, update: Update, user_id: int) -> list[Call]:
        before = len(self.api.calls)
        await self.app.process_update(update)
        return [
            c
            for c in self.api.calls[before:]
            if c.chat_id == str(user_id) and c.method.startswith("send")
        ]

    async def send(self, user_id: int, text: str, language: str = "id") -> list[Call]:
        return await self._run(self.message_update(user_id, text, language), user_id)

    async def tap(self, user_id: int, payload: str, language: str = "id") -> list[Call]:
        return await self._run(self.button_update(user_id, payload, language), user_id)

    async def onboard(self, user_id: int, *, language: str = "id", regency: str = "ende") -> None:
        await self.send(user_id, "/start", language)
        await self.tap(user_id, f"lang:{language}", language)
        await self.tap(user_id, "consent:yes", language)
        await self.tap(user_id, f"home:{regency}", language)


def texts(calls: list[Call]) -> str:
    return "\n---\n".join(c.text for c in calls)


def buttons(calls: list[Call]) -> list[tuple[str, str]]:
    return [b for c in calls for b in c.buttons]


def payloads(calls: list[Call]) -> list[str]:
    return [p for _, p in buttons(calls)]
