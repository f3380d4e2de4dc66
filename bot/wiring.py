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

    return WhatsAppService(
        settings, runtime.dispatcher, runtime.translator, runtime.storage.whatsapp
    )


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
    channels = [channel for factory in CHANNELS if (channel := factory(runtime)) is not None]
    _share_photos(channels)
    return channels


def _share_photos(channels: list[Channel]) -> None:
    """An announcement written on Telegram with a photo reaches WhatsApp residents with that
    photo: the WhatsApp sender fetches it through the Telegram bot (and uploads it to Meta once)."""
    names = {channel.name: channel for channel in channels}
    if "whatsapp" not in names or "telegram" not in names:
        return
    from bot.channels.telegram_files import photo_loader
    from bot.channels.telegram_service import TelegramService
    from bot.channels.whatsapp_service import WhatsAppService

    whatsapp, telegram = names["whatsapp"], names["telegram"]
    if isinstance(whatsapp, WhatsAppService) and isinstance(telegram, TelegramService):
        whatsapp.channel.photo_loader = photo_loader(telegram.app.bot)
