"""Telegram in webhook mode: updates POSTed to /webhooks/telegram instead of long polling.

Telegram sends the secret given to setWebhook in X-Telegram-Bot-Api-Secret-Token; anything
without it is refused before parsing. Accepted updates go to the Application's update queue, the
same path long polling feeds, so the handlers cannot tell the modes apart.
"""

from __future__ import annotations

import hmac
import logging

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.channels import jsonbody

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class TelegramWebhook:
    def __init__(self, app: Application, secret: str) -> None:  # type: ignore[type-arg]
        self.app = app
        self._secret = secret.encode()

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
        await self.app.update_queue.put(update)
        return web.Response(text="ok")
