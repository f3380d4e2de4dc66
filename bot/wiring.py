"""Which channels `pustaka run` serves: one factory per channel, tried in order.

A factory returns the channel when its settings are present, else None. Adding a channel means
its own module (bot/channels/), its settings, and one line in CHANNELS below; bot/serve.py
starts whatever comes back, in a loop. This module is wiring, not a channel: it may hand a
channel the narrow storage object it asks for (a protocol the channel declares), so the channel
itself never imports `storage`.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.channels.base import Channel
from bot.runtime import Runtime


def _whatsapp(runtime: Runtime) -> Channel | None:
    settings = runtime.settings.whatsapp
    if settings is None:
        return None
    from bot.channels.whatsapp_service import WhatsAppService

    return WhatsAppService(settings, runtime.dispatcher, runtime.translator, runtime.storage)


def _telegram(runtime: Runtime) -> Channel | None:
    if runtime.settings.telegram_token is None:
        return None
    from bot.channels.telegram_service import TelegramService

    return TelegramService(runtime.settings, runtime.dispatcher, runtime.translator)


def _sms(runtime: Runtime) -> Channel | None:
    settings = runtime.settings.sms
    if settings is None:
        return None
    from bot.channels.sms import SmsChannel
    from storage.clock import utcnow

    return SmsChannel(
        settings,
        runtime.dispatcher,
        runtime.translator,
        runtime.storage.sms,
        timezone=runtime.settings.timezone,
        clock=utcnow,
    )


ChannelFactory = Callable[[Runtime], Channel | None]

# In start-up order; the delivery worker and /healthz see them in this order too.
CHANNELS: tuple[ChannelFactory, ...] = (_whatsapp, _telegram, _sms)


def build_channels(runtime: Runtime) -> list[Channel]:
    return [channel for factory in CHANNELS if (channel := factory(runtime)) is not None]


def connect_channels(channels: list[Channel]) -> None:
    """What one started channel lends another: WhatsApp sends announcement photos a librarian
    posted on Telegram, fetched through Telegram's bot."""
    if not {"telegram", "whatsapp"} <= {channel.name for channel in channels}:
        return
    from bot.channels.telegram_service import TelegramService
    from bot.channels.whatsapp_service import WhatsAppService

    telegram = next((c for c in channels if isinstance(c, TelegramService)), None)
    whatsapp = next((c for c in channels if isinstance(c, WhatsAppService)), None)
    if telegram is not None and whatsapp is not None:
        from bot.channels.telegram_files import photo_loader

        whatsapp.channel.sender.photo_loader = photo_loader(telegram.app.bot)
