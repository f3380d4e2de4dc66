"""The delivery worker inside `pustaka chat`: what the outbox sends to the identity in use is
printed as it arrives, with the time (WITA); messages for anyone else are counted, not sent.

A newcomer trying the bot locally sees the scheduler work: a reminder, a waiting-list seat, an
announcement, an event's new time — each appears in the terminal when its row falls due.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.channels.base import Deferred, Outbound
from bot.channels.numbered import numbered
from bot.channels.terminal import TERMINAL_LINE
from bot.delivery.limits import ChannelLimiter, Limits
from bot.delivery.service import DeliveryService, ScheduleSettings
from bot.delivery.worker import WorkerSettings
from handlers.types import Translator
from storage import Storage
from storage.terminal import pending_for_others

# Rows of other people on the same channel are given back for this long: they wait for the
# real channel (Telegram) and must not be lost or marked failed by the terminal.
OTHERS_RETRY_SECONDS = 60.0


class TerminalSender:
    """A ChannelSender that prints; it delivers only to the identity in use."""

    def __init__(
        self,
        channel: str,
        recipient: str,
        sink: TextIO,
        translator: Translator,
        language: str,
        timezone: str,
    ) -> None:
        self.channel = channel
        self.recipient = recipient
        self._sink = sink
        self._translator = translator
        self.language = language
        self._zone = ZoneInfo(timezone)

    async def send(self, message: Outbound) -> str | None:
        if message.kind == "staff_menu":
            return None  # a terminal has no command menu; /peran lists the commands
        if message.recipient != self.recipient:
            raise Deferred(OTHERS_RETRY_SECONDS, "terminal chat: for someone else")
        stamp = datetime.now(self._zone).strftime("%H.%M")
        heading = self._translator.text(self.language, "staff_safety.terminal.arrived", time=stamp)
        lines = [heading, message.text]
        if message.document is not None:
            lines.append(f"[file: {message.document.filename}]")
        lines += numbered(message.choices, TERMINAL_LINE)
        print("\n" + "\n".join(lines), end="\n\n> ", file=self._sink, flush=True)
        return None


class TerminalDelivery:
    """The real DeliveryService (scheduler, reminder sync, worker) with the terminal sender,
    plus a line whenever the number of messages waiting for others changes."""

    def __init__(
        self,
        storage: Storage,
        translator: Translator,
        *,
        channel: str,
        recipient: str,
        sink: TextIO,
        timezone: str,
        reminder_offsets: tuple[int, ...] = (24 * 60, 2 * 60),
        poll_seconds: float = 1.0,
    ) -> None:
        self._storage = storage
        self._translator = translator
        self._channel = channel
        self._recipient = recipient
        self._sink = sink
        self._timezone = timezone
        self._poll = poll_seconds
        self._language = "id"
        self.sender = TerminalSender(channel, recipient, sink, translator, "id", timezone)
        self.service = DeliveryService(
            storage,
            translator,
            {channel: self.sender},
            {channel: ChannelLimiter(Limits(overall_rate=50))},
            worker=WorkerSettings(concurrency=4),
            schedule=ScheduleSettings(poll_seconds=poll_seconds, reminder_offsets=reminder_offsets),
        )
        self._others = 0
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        found = await self._storage.residents.find(
            channel=self._channel, external_id=self._recipient
        )
        if found is not None:
            self._language = found.language
            self.sender.language = found.language
        await self.service.start()
        self._watch = asyncio.get_running_loop().create_task(self._watch_others())

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        await self.service.stop()

    async def _watch_others(self) -> None:
        while True:
            count = await pending_for_others(
                self._storage.db, channel=self._channel, recipient=self._recipient
            )
            if count != self._others and count > 0:
                text = self._translator.text(
                    self._language,
                    "staff_safety.terminal.others",
                    count=self._translator.number(self._language, count),
                )
                print("\n" + text, end="\n\n> ", file=self._sink, flush=True)
            self._others = count
            await asyncio.sleep(self._poll)
