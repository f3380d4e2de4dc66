"""Telegram in webhook mode: updates POSTed to /webhooks/telegram instead of long polling.

Telegram sends the secret given to setWebhook in X-Telegram-Bot-Api-Secret-Token; anything
without it is refused before parsing. Accepted updates go to the Application's update queue, the
same path long polling feeds, so the handlers cannot tell the modes apart.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.channels import jsonbody

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CHANNEL = "telegram"

# Stores an update durably before it is acknowledged (several instances: bot/inbox.py):
# (channel, platform id, person, payload) -> False for a re-delivery.
Accept = Callable[..., Awaitable[bool]]


class TelegramWebhook:
    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        secret: str,
        accept: Accept | None = None,
    ) -> None:
        self.app = app
        self._secret = secret.encode()
        self.accept = accept

    async def handle_stored(self, payload: str) -> None:
        """An update from the inbox, handled to the end before this returns."""
        update = Update.de_json(json.loads(payload), self.app.bot)
        if update is not None:
            await self.app.process_update(update)

    def routes(self) -> list[web.RouteDef]:
        return [web.post(WEBHOOK_PATH, self.receive)]

    async def register(self, url: str) -> None:
        """Tell Telegram where to send updates, and with which secret."""
        await self.app.bot.set_webhook(
            url=url, secret_token=self._secret.decode(), allowed_updates=Update.ALL_TYPES
        )

    async def receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("Telegram webhook call without the right secret token refused")
            return web.Response(status=403, text="forbidden")
        try:
            data = jsonbody.load(await request.read())
        except jsonbody.MalformedBody:
            return web.Response(status=400, text="malformed update")
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return web.Response(status=400, text="malformed update")
        try:
            update = Update.de_json(data, self.app.bot)
        except Exception as exc:
            # The secret was right, so this is Telegram (or someone holding the secret) sending
            # a shape PTB cannot read, such as {"message": "str"}: refused, not a 500.
            log.warning("Telegram update %s could not be read: %r", data.get("update_id"), exc)
            return web.Response(status=400, text="malformed update")
        if update is None:
            return web.Response(status=400, text="malformed update")
        if self.accept is not None:
            chat = update.effective_chat or update.effective_user
            person = str(chat.id) if chat is not None else f"update:{update.update_id}"
            await self.accept(
                channel=CHANNEL,
                platform_id=str(update.update_id),
                person=person,
                payload=json.dumps(data),
            )
            return web.Response(text="ok")
        await self.app.update_queue.put(update)
        return web.Response(text="ok")
