"""WhatsApp as one `Channel` (bot/channels/base.py) for bot/serve.py: the webhook channel, its
sender and its limiter, started and stopped as a unit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from bot.channels.base import ChannelSender
from bot.channels.whatsapp import CAPABILITIES, CHANNEL, WhatsAppChannel
from bot.channels.whatsapp_state import WhatsAppState
from bot.config_whatsapp import WhatsAppSettings
from handlers.dispatch import Dispatcher
from handlers.types import Translator

if TYPE_CHECKING:
    from aiohttp import web


class WhatsAppService:
    name = CHANNEL
    capabilities = CAPABILITIES

    def __init__(
        self,
        settings: WhatsAppSettings,
        dispatcher: Dispatcher,
        translator: Translator,
        state: WhatsAppState,
    ) -> None:
        self.channel = WhatsAppChannel(settings, dispatcher, translator, state)
        self.limiter = self.channel.limiter  # one limiter: the worker's and the sender's

    def use_inbox(self, accept: Callable[..., Awaitable[bool]]) -> Callable[[str], Awaitable[None]]:
        """Several instances (bot/scaleout.py): messages are stored before the webhook is
        acknowledged and handled from the inbox."""
        self.channel.accept = accept
        return self.channel.handle_stored

    @property
    def sender(self) -> ChannelSender:
        return self.channel.sender

    def routes(self) -> Sequence[web.RouteDef]:
        return self.channel.routes()

    async def start(self) -> None:
        await self.channel.start()

    async def stop(self) -> None:
        await self.channel.close()
