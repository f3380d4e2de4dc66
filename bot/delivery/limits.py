"""Token buckets for one channel: overall, per chat and per group, with priorities and pauses.

Every message a channel sends, interactive reply or outbox row, takes a token here first, so
the platform's limits hold for their sum. Interactive replies (someone is looking at their phone
now) are served before bulk rows whenever both wait: the overall bucket hands its next token to
the waiter with the highest priority, first come first served within a priority.

A 429 pauses the whole channel: no token is handed out until `retry_after` has passed, and the
waiters sleep until then (no polling).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

INTERACTIVE = 0  # lower number first
BULK = 1
WINDOW_HEADROOM = 0.98


@dataclass(frozen=True, slots=True)
class Limits:
    """Rates in messages per second; bursts in messages."""

    overall_rate: float = 25.0
    # A burst of 2 lets the pacing catch up after a late wake-up (a busy event loop); the
    # sliding one-second window below keeps that from ever exceeding the rate in any second.
    overall_burst: float = 2.0
    chat_rate: float = 1.0
    chat_burst: float = 3.0
    group_rate: float = 20 / 60
    group_burst: float = 1.0


class Bucket:
    """A classic token bucket on the monotonic clock."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.tokens = self.burst
        self._clock = clock
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self.tokens = min(self.burst, self.tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def wait_time(self, cost: float = 1.0) -> float:
        """Seconds until `cost` tokens are there (0 if now)."""
        self._refill()
        missing = min(cost, self.burst) - self.tokens
        return 0.0 if missing <= 0 else missing / self.rate

    def take(self, cost: float = 1.0) -> None:
        self._refill()
        self.tokens -= cost

    @property
    def full(self) -> bool:
        self._refill()
        return self.tokens >= self.burst


class Shared(Protocol):
    """Limits shared with other instances (bot/delivery/shared.py)."""

    async def take(self, cost: int = 1) -> Callable[[], None]:
        """Wait for a turn for `cost` messages; returns what to call once they are sent."""
        ...

    def pause(self, seconds: float) -> None: ...


class LimiterClosed(Exception):
    """The channel is shutting down; the caller should give its message back."""


class ChannelLimiter:
    def __init__(
        self,
        limits: Limits | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        is_group: Callable[[str], bool] = lambda chat: chat.startswith("-"),
    ) -> None:
        self.limits = limits or Limits()
        self._clock = clock
        self._is_group = is_group
        self._overall = Bucket(self.limits.overall_rate, self.limits.overall_burst, clock)
        # Grant times of the last second: platforms count "messages per second", by arrival.
        # Requests do not arrive in the order and spacing they left, so the window keeps a
        # little headroom; one 429 costs a whole second of the channel, far more than 2 %.
        self._window: deque[float] = deque()
        self._per_second = max(int(self.limits.overall_rate * WINDOW_HEADROOM), 1)
        self._chats: dict[str, Bucket] = {}
        self._waiters: list[tuple[int, int, float, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._paused_until = 0.0
        self._wakeup = asyncio.Event()
        self._dispenser: asyncio.Task[None] | None = None
        self._closed = False
        self._closing = asyncio.Event()  # wakes callers sleeping for a chat's or group's turn
        self.pauses = 0
        self.granted = {INTERACTIVE: 0, BULK: 0}
        # Several instances: the channel's rate and pauses are also shared with the others.
        self.shared: Shared | None = None
        # A shared turn is over when its send is: told by `sent()`, or known when the same task
        # asks for its next turn or ends (a task sends one message at a time).
        self._open: dict[asyncio.Task[object], Callable[[], None]] = {}
        self._watched: set[asyncio.Task[object]] = set()

    # -- the public side ---------------------------------------------------------------------

    async def acquire(self, chat: str, *, priority: int = BULK, cost: int = 1) -> None:
        """Wait for this chat's and the channel's tokens. Raises LimiterClosed on shutdown."""
        if self._closed:
            raise LimiterClosed()
        if self.shared is not None:
            self.sent()  # this task's previous send, if it did not say so, is over by now
        await self._chat_turn(chat, cost)
        if self._closed:
            raise LimiterClosed()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        head = self._waiters[0][0] if self._waiters else None
        heapq.heappush(self._waiters, (priority, next(self._seq), float(cost), future))
        self._ensure_dispenser()
        # The dispenser only needs to look again if this waiter is now first in line.
        if head is None or priority < head:
            self._wakeup.set()
        await future
        if self.shared is not None:
            finish = await self.shared.take(cost)
            task = asyncio.current_task()
            if task is None:
                finish()  # pragma: no cover - acquire always runs in a task
            else:
                if task not in self._watched:
                    self._watched.add(task)
                    task.add_done_callback(self._task_over)
                self._open[task] = finish

    def sent(self) -> None:
        """The send this task was last granted is over (answered, or failed): its share of the
        channel's rate across instances counts from now. Without this it counts from this
        task's next `acquire` or its end, later than need be but never too early."""
        task = asyncio.current_task()
        finish = self._open.pop(task, None) if task is not None else None
        if finish is not None:
            finish()

    def _task_over(self, task: asyncio.Task[object]) -> None:
        self._watched.discard(task)
        finish = self._open.pop(task, None)
        if finish is not None:
            finish()

    def pause(self, seconds: float) -> None:
        """The platform said 429: hand out nothing for `seconds` (a longer pause wins)."""
        until = self._clock() + max(seconds, 0.0)
        if self.shared is not None:
            self.shared.pause(seconds)
        if until > self._paused_until:
            self._paused_until = until
            self.pauses += 1
        self._wakeup.set()

    @property
    def paused_for(self) -> float:
        return max(self._paused_until - self._clock(), 0.0)

    @property
    def waiting(self) -> int:
        return sum(1 for *_, f in self._waiters if not f.done())

    async def close(self) -> None:
        """Wake every waiter with LimiterClosed and stop the dispenser."""
        self._closed = True
        self._closing.set()
        for *_, future in self._waiters:
            if not future.done():
                future.set_exception(LimiterClosed())
        self._waiters.clear()
        if self._dispenser is not None:
            self._dispenser.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispenser
            self._dispenser = None

    # -- inside ------------------------------------------------------------------------------

    async def _chat_turn(self, chat: str, cost: int) -> None:
        bucket = self._chats.get(chat)
        if bucket is None:
            if len(self._chats) > 4096:
                # Forget chats whose bucket refilled: they are back to a fresh bucket anyway.
                self._chats = {k: b for k, b in self._chats.items() if not b.full}
            limits = self.limits
            rate, burst = (
                (limits.group_rate, limits.group_burst)
                if self._is_group(chat)
                else (limits.chat_rate, limits.chat_burst)
            )
            bucket = self._chats[chat] = Bucket(rate, burst, self._clock)
        # Taken before sleeping, so two senders to one chat queue behind each other.
        delay = bucket.wait_time(cost)
        bucket.take(cost)
        if delay > 0:
            # A group's turn can be a minute away: a shutdown must not wait for it (SIGTERM
            # waited 41 s for one group's replies), so close() ends this sleep too.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), delay)
            if self._closed:
                raise LimiterClosed()

    def _window_wait(self) -> float:
        now = self._clock()
        while self._window and now - self._window[0] >= 1.0:
            self._window.popleft()
        if len(self._window) < self._per_second:
            return 0.0
        return 1.0 - (now - self._window[0])

    def _ensure_dispenser(self) -> None:
        if self._dispenser is None or self._dispenser.done():
            self._dispenser = asyncio.get_running_loop().create_task(
                self._dispense(), name="limiter-dispenser"
            )

    async def _dispense(self) -> None:
        while not self._closed:
            while self._waiters and self._waiters[0][3].done():
                heapq.heappop(self._waiters)  # the caller gave up (cancelled)
            if not self._waiters:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            priority, _, cost, future = self._waiters[0]
            delay = max(self.paused_for, self._overall.wait_time(cost), self._window_wait())
            if delay > 0:
                # Sleep until a token (or the pause's end); a new pause or a more urgent waiter
                # wakes us early so we look again.
                self._wakeup.clear()
                timer = asyncio.get_running_loop().call_later(delay, self._wakeup.set)
                try:
                    await self._wakeup.wait()
                finally:
                    timer.cancel()
                continue
            heapq.heappop(self._waiters)
            if future.done():
                continue
            self._overall.take(cost)
            now = self._clock()
            for _ in range(int(cost)):
                self._window.append(now)
            self.granted[priority] = self.granted.get(priority, 0) + 1
            future.set_result(None)
