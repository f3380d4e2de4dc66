"""Start-up and shut-down of the shared resources, in one place: database, catalogs, dispatcher."""

from __future__ import annotations

from dataclasses import dataclass

from bot import metrics
from bot.channels import gsm7
from bot.config import Settings
from bot.config_sms import SmsSettings
from bot.i18n import Translator
from handlers.dispatch import Dispatcher
from handlers.types import CoreSettings
from storage import Storage
from storage.clock import utcnow


@dataclass(frozen=True)
class SmsCost:
    """handlers.types.SmsCost from the SMS settings and the GSM-7 rules."""

    daily_limit: int
    max_segments: int

    def segments(self, text: str) -> int:
        return gsm7.segments(gsm7.to_gsm7(text))

    @classmethod
    def of(cls, settings: SmsSettings) -> SmsCost:
        return cls(daily_limit=settings.daily_limit, max_segments=settings.max_segments)


@dataclass
class Runtime:
    settings: Settings
    storage: Storage
    translator: Translator
    dispatcher: Dispatcher

    @classmethod
    async def open(cls, settings: Settings) -> Runtime:
        storage = await Storage.open(settings.db_path)
        now = utcnow()
        await storage.staff.seed_admins([(a.channel, a.user_id) for a in settings.admins], now=now)
        await storage.staff.queue_menus(now=now)  # staff see their commands in Telegram's menu
        translator = Translator(settings.timezone)
        core = CoreSettings(
            timezone=settings.timezone,
            dashboard_url=settings.public_url,
            sms=settings.sms is not None,
            sms_cost=SmsCost.of(settings.sms) if settings.sms is not None else None,
        )
        dispatcher = Dispatcher(storage, translator, core)
        dispatcher.on_handled = metrics.update
        return cls(settings, storage, translator, dispatcher)

    async def close(self) -> None:
        await self.storage.close()
