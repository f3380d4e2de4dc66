"""Operators hear about trouble: one error path from the log to an operators' chat.

Every unexpected exception in the bot is logged (the dispatcher's one error handler, the
Telegram error handler, the WhatsApp webhook, the outbox worker...), so one `logging.Handler`
sees them all. Like python-telegram-bot's rules-bot, it reports them to a chat
(`PUSTAKA_OPS_CHAT`), but grouped and rate-limited so an outage is one message, not thousands:

- errors are grouped by exception type and the place it was raised (file:line of the innermost
  frame of our code), or by the log message's template when there is no exception;
- a group's first error is reported at once; later ones are counted and reported together at
  most once per `quiet_seconds` ("37× TimedOut in bot/channels/telegram.py:290");
- at most `per_hour` messages go to the chat in any hour, whatever the number of groups.

Sending goes straight through the channel's sender, not the outbox: the database may well be
the trouble being reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import traceback
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from handlers.types import Translator

log = logging.getLogger(__name__)

Send = Callable[[str], Awaitable[object]]
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_OURS = tuple(os.path.join(_ROOT, part) + os.sep for part in ("bot", "handlers", "storage"))


@dataclass
class _Group:
    error: str
    where: str
    detail: str
    pending: int = 0  # seen since the last report
    last_sent: float | None = None


def fingerprint(record: logging.LogRecord) -> tuple[str, str, str]:
    """(error, where, detail) of a record: what groups it and what the message shows."""
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if f.filename.startswith(_OURS)] or frames
        if ours:
            frame = ours[-1]
            where = f"{os.path.relpath(frame.filename, _ROOT)}:{frame.lineno}"
        else:
            where = f"{record.pathname}:{record.lineno}"
        return type(exc).__name__, where, f"{exc}"[:300]
    where = f"{os.path.relpath(record.pathname, _ROOT)}:{record.lineno}"
    return str(record.msg)[:80], where, record.getMessage()[:300]


class OpsAlerts(logging.Handler):
    def __init__(
        self,
        send: Send,
        translator: Translator,
        *,
        language: str = "id",
        quiet_seconds: float = 600.0,
        per_hour: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(level=logging.ERROR)
        self._send = send
        self._translator = translator
        self._language = language
        self.quiet_seconds = quiet_seconds
        self.per_hour = per_hour
        self._clock = clock
        self._groups: dict[tuple[str, str], _Group] = {}
        self._sent_at: deque[float] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(), name="ops-alerts")
        logging.getLogger().addHandler(self)

    async def stop(self) -> None:
        logging.getLogger().removeHandler(self)
        await self.flush_now()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- logging side (any thread) -----------------------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(__name__):
            return  # our own trouble sending must not feed itself
        try:
            error, where, detail = fingerprint(record)
        except Exception:  # a handler must never raise into the code that logged
            return
        group = self._groups.get((error, where))
        if group is None:
            group = self._groups[(error, where)] = _Group(error, where, detail)
        group.pending += 1
        group.detail = detail
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is shutting down
                self._loop.call_soon_threadsafe(self._wake.set)

    # -- sending -----------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush_now()
            # Groups held back by their quiet time are looked at again when it ends.
            waits = [
                g.last_sent + self.quiet_seconds - self._clock()
                for g in self._groups.values()
                if g.pending and g.last_sent is not None
            ]
            if waits:
                loop = asyncio.get_running_loop()
                loop.call_later(max(min(waits), 1.0), self._wake.set)

    async def flush_now(self) -> None:
        now = self._clock()
        while self._sent_at and now - self._sent_at[0] >= 3600:
            self._sent_at.popleft()
        for group in list(self._groups.values()):
            if not group.pending:
                continue
            if group.last_sent is not None and now - group.last_sent < self.quiet_seconds:
                continue
            if len(self._sent_at) >= self.per_hour:
                return  # the hour's budget is spent; counts keep growing until it refills
            count, group.pending = group.pending, 0
            group.last_sent = now
            self._sent_at.append(now)
            text = self._translator.text(
                self._language,
                "ops.alert",
                count=count,
                error=group.error,
                where=group.where,
                detail=group.detail,
            )
            try:
                await self._send(text[:4000])
                self.sent += 1
            except Exception as exc:
                log.warning("could not report to the operators' chat: %r", exc)
