"""Keeping an announcement's author informed while it is delivered.

A scheduler job (bot/delivery/service.py) calls `BroadcastProgress.run` every few seconds. It
moves announcements along (scheduled -> running -> done) and keeps one progress message per
running announcement up to date, editing it in place where the channel can edit (Telegram), so
the author sees sent / failed / remaining without a message per step. The final report is an
outbox row written when the announcement finishes (storage/broadcasts.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.channels.base import ChannelSender, Outbound, RateLimited, SendError
from bot.delivery.limits import BULK, ChannelLimiter, LimiterClosed
from handlers.staff.broadcast import progress_text
from handlers.types import Translator
from storage import Storage
from storage.clock import utcnow

log = logging.getLogger(__name__)


@runtime_checkable
class EditingSender(Protocol):
    async def edit(self, recipient: str, message_id: str, text: str) -> None: ...


class BroadcastProgress:
    def __init__(
        self,
        storage: Storage,
        translator: Translator,
        senders: Mapping[str, ChannelSender],
        limiters: Mapping[str, ChannelLimiter] | None = None,
    ) -> None:
        self.storage = storage
        self.translator = translator
        self.senders = senders
        # The channels' own limiters: a progress message takes a token like any other send, so
        # it never pushes the channel past the platform's rate during a large announcement.
        self.limiters = limiters or {}
        self._last: dict[int, str] = {}  # what each progress message shows, to skip no-op edits

    async def run(self, now: datetime | None = None) -> int:
        """One pass; returns how many progress messages were sent or edited."""
        touched = 0
        for item in await self.storage.broadcasts.refresh(now=now or utcnow()):
            sender = self.senders.get(item.author_channel)
            if sender is None:
                continue
            text = await progress_text(self.storage, self.translator, item.author_language, item)
            if self._last.get(item.id) == text:
                continue
            limiter = self.limiters.get(item.author_channel)
            try:
                if limiter is not None:
                    await limiter.acquire(item.author_recipient, priority=BULK)
                if item.progress_message is None:
                    message_id = await sender.send(
                        Outbound(recipient=item.author_recipient, text=text, kind="progress")
                    )
                    if message_id:
                        await self.storage.broadcasts.set_progress_message(
                            broadcast_id=item.id, message_id=message_id
                        )
                elif isinstance(sender, EditingSender):
                    await sender.edit(item.author_recipient, item.progress_message, text)
                else:
                    continue  # a channel that cannot edit gets only the final report
            except LimiterClosed:
                return touched  # shutting down
            except SendError as exc:
                if isinstance(exc, RateLimited) and limiter is not None:
                    limiter.pause(exc.retry_after)
                log.info("progress of announcement %s not shown: %s", item.id, exc)
                continue
            finally:
                if limiter is not None:
                    limiter.sent()  # this pass's last send would hold its share until the next
            self._last[item.id] = text
            if item.status != "running":
                self._last.pop(item.id, None)
            touched += 1
        return touched
