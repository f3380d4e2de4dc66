"""Telegram as one `Channel` (bot/channels/base.py): the python-telegram-bot Application, its
webhook route when TELEGRAM_WEBHOOK_URL is set (long polling otherwise), its sender and its one
limiter, started and stopped as a unit by bot/serve.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from bot.channels.base import ChannelSender
from bot.channels.telegram import CHANNEL, TelegramChannel, TelegramSender
from bot.channels.telegram_webhook import Accept, TelegramWebhook
from bot.config import Settings
from bot.delivery.limits import ChannelLimiter, Limits
from handlers.dispatch import Dispatcher
from handlers.types import UNLIMITED, Translator

if TYPE_CHECKING:
    from aiohttp import web


class TelegramService:
    name = CHANNEL
    # Inline keyboards take any number of buttons with 64-byte payloads and long labels, and a
    # tapped message can be edited: nothing for the core to page or shorten.
    capabilities = UNLIMITED

    def __init__(self, settings: Settings, dispatcher: Dispatcher, translator: Translator) -> None:
        self.settings = settings
        # One limiter for Telegram, shared by replies (first), the outbox and progress messages.
        self.limiter = ChannelLimiter(Limits(overall_rate=settings.telegram_rate))
        self.channel = TelegramChannel(settings, dispatcher, translator, limiter=self.limiter)
        self.app = self.channel.build()
        self.webhook = (
            TelegramWebhook(self.app, settings.telegram_webhook_token.get())
            if settings.telegram_webhook_url and settings.telegram_webhook_token
            else None
        )
        self._sender = TelegramSender(self.app.bot)

    def use_inbox(self, accept: Accept) -> Callable[[str], Awaitable[None]] | None:
        """Several instances (bot/scaleout.py): webhook updates are stored before they are
        acknowledged and handled from the inbox. Long polling has no webhook to acknowledge."""
        if self.webhook is None:
            return None
        self.webhook.accept = accept
        return self.webhook.handle_stored

    @property
    def sender(self) -> ChannelSender:
        return self._sender

    def routes(self) -> Sequence[web.RouteDef]:
        return self.webhook.routes() if self.webhook is not None else []

    async def start(self) -> None:
        await self.app.initialize()
        await self.channel.register_commands(self.app)
        await self.app.start()
        if self.webhook is not None and self.settings.telegram_webhook_url:
            await self.webhook.register(self.settings.telegram_webhook_url)
        elif self.app.updater is not None:
            await self.app.updater.start_polling()

    async def stop(self) -> None:
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()  # a no-op if start-up failed before initialize()
