"""The outbox worker: claims due rows, renders them, sends each through its channel's limiter
and sender, and records the outcome.

At most `concurrency` rows are claimed (status `sending`) at any moment; that number bounds the
messages a `kill -9` can make us send twice. A graceful stop gives back the rows still waiting
for a token and lets the ones on the wire finish.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

import bot.notifications.reminders  # noqa: F401  (registers the reminder renderer)
from bot import metrics
from bot.channels.base import (
    ChannelSender,
    Deferred,
    Outbound,
    OutsideWindow,
    PermanentError,
    RateLimited,
    SendError,
    TransientError,
    Unreachable,
)
from bot.delivery.limits import BULK, INTERACTIVE, ChannelLimiter, LimiterClosed
from bot.notifications import render
from handlers.types import Choice, Document, Translator
from storage import Storage
from storage.clock import utcnow
from storage.outbox import REPLY_KIND, OutboxRow

log = logging.getLogger(__name__)

Record = Callable[[], Awaitable[object]]
# Recording an outcome that failed (a locked or full database) is tried again this often.
_RECORD_RETRY_FIRST = 0.05
_RECORD_RETRY_CAP = 2.0
# A reply that could not be delivered when it was made (kind "reply", see bot/delivery/replies.py)
# is tried about this many times: 5 + 10 + 20 + 30 s ..., some five minutes in all.
REPLY_ATTEMPTS = 12


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    concurrency: int = 16
    max_attempts: int = 6
    backoff_base: float = 10.0  # seconds before the first retry; doubles each attempt
    backoff_cap: float = 3600.0
    shutdown_grace: float = 10.0  # how long a graceful stop waits for sends on the wire
    # How long a graceful stop keeps trying to record outcomes of sends that happened (a
    # database locked by another process); past it the rows stay `sending` and are logged.
    record_grace: float = 120.0
    claim_lease: float = 60.0  # several instances: a claimed row not sent by then goes back


def backoff(attempt: int, settings: WorkerSettings) -> float:
    """10 s, 20 s, 40 s … capped: a platform having a bad minute is not hammered."""
    return float(min(settings.backoff_base * 2 ** max(attempt - 1, 0), settings.backoff_cap))


class DeliveryWorker:
    def __init__(
        self,
        storage: Storage,
        translator: Translator,
        senders: Mapping[str, ChannelSender],
        limiters: Mapping[str, ChannelLimiter],
        settings: WorkerSettings | None = None,
    ) -> None:
        self.storage = storage
        self.translator = translator
        self.senders = dict(senders)
        self.limiters = dict(limiters)
        self.settings = settings or WorkerSettings()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._on_wire: set[int] = set()
        # Claimed rows whose outcome is not recorded yet: what a graceful stop gives back.
        self._claimed: set[int] = set()
        # Outcomes being recorded (retried until the database takes them; see _record).
        self._recorders: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        # Group commit of sent rows: a row's slot is freed only once its `sent` is committed,
        # so the rows a crash can repeat stay within `concurrency`.
        self._sent_batch: list[tuple[int, str | None, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.sent = 0

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        # Whatever a crash left claimed is pending again; see OutboxRepo.reset_sending.
        # Several instances (PostgreSQL): only rows whose claim lease ran out are another's
        # leftovers; the rest are being sent by live instances.
        several = self.storage.db.engine == "postgresql"
        reset = await self.storage.outbox.reset_sending(
            lease_expired_at=utcnow() if several else None, now=utcnow()
        )
        if reset:
            log.warning("%d outbox rows were in flight at the last stop; sending them again", reset)
        self._loop_task = asyncio.get_running_loop().create_task(self._run(), name="outbox")

    def wake(self) -> None:
        """Something may be due (the scheduler's tick, or a producer just wrote a row)."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop claiming; give back rows still waiting for a token; let sends on the wire finish
        (up to the grace period); give back whatever is left."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
        for row_id, task in list(self._tasks.items()):
            if row_id not in self._on_wire:
                task.cancel()
        pending = list(self._tasks.values())
        if pending:
            _, late = await asyncio.wait(pending, timeout=self.settings.shutdown_grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._recorders:
            # Sent (or refused) rows whose outcome the database has not taken yet: given back
            # as pending they would be sent twice, so they are waited for instead.
            log.info(
                "recording the outcome of %d outbox rows before stopping", len(self._recorders)
            )
            _, late = await asyncio.wait(set(self._recorders), timeout=self.settings.record_grace)
            for task in late:
                task.cancel()
            if late:
                log.error(
                    "the database took no outcome for %d outbox rows in %.0fs; they stay "
                    "'sending' and the next start-up sends them again",
                    len(late),
                    self.settings.record_grace,
                )
        # Rows being recorded stay claimed until they are, so only unsent rows are left here.
        unsent = list(self._claimed)
        delay = _RECORD_RETRY_FIRST
        deadline = asyncio.get_running_loop().time() + self.settings.record_grace
        while unsent:
            try:
                returned = await self.storage.outbox.release(row_ids=unsent, now=utcnow())
            except Exception as exc:
                if asyncio.get_running_loop().time() > deadline:
                    # Left `sending`: the next start-up sends them (they were never sent).
                    log.error("could not give back %d outbox rows: %r", len(unsent), exc)
                    break
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RECORD_RETRY_CAP)
                continue
            if returned:
                log.info("returned %d unsent outbox rows to pending", returned)
            break
        self._claimed.clear()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    # -- the loop ----------------------------------------------------------------------------

    async def _run(self) -> None:
        channels = list(self.senders)
        limit = self.settings.concurrency
        while not self._stopping:
            # Cleared before looking, so a wake-up that comes while we look is not lost.
            self._wake.clear()
            free = limit - len(self._tasks)
            # Claim in batches (a quarter of the slots at least) rather than one row per freed
            # slot: fewer write transactions at full speed.
            if free >= max(limit // 4, 1) or not self._tasks:
                try:
                    rows = await self.storage.outbox.claim(
                        channels=channels,
                        limit=free,
                        lease=timedelta(seconds=self.settings.claim_lease),
                        now=utcnow(),
                    )
                except Exception:
                    log.exception("could not claim outbox rows")
                    rows = []
                for row in rows:
                    self._claimed.add(row.id)
                    task = asyncio.get_running_loop().create_task(self._deliver(row))
                    self._tasks[row.id] = task
                    task.add_done_callback(functools.partial(self._done, row.id))
                if rows and len(rows) == free:
                    continue  # there may be more due: claim again as soon as slots free up
            await self._wake.wait()

    def _done(self, row_id: int, _task: asyncio.Task[None]) -> None:
        self._tasks.pop(row_id, None)
        self._on_wire.discard(row_id)
        self._wake.set()

    async def _deliver(self, row: OutboxRow) -> None:
        try:
            record = await self._deliver_one(row)
        except asyncio.CancelledError:
            raise  # stop(): the row stays claimed and is given back there
        except Exception:
            # Not sent (rendering or the limiter failed unexpectedly): stop() gives it back,
            # or the next start-up does.
            log.exception("delivering outbox row %s failed", row.id)
            return
        # What happened on the wire is known now and must reach the database, whatever the
        # database is doing: the recording is retried until it lands, and shielded, so neither
        # stop() nor a cancelled task drops it. A row left `sending` after a send would be sent
        # again by the next start-up (issue 15: a 30 s lock made 14 people get a second copy).
        recorder = asyncio.get_running_loop().create_task(self._record(row, record))
        self._recorders.add(recorder)
        recorder.add_done_callback(self._recorders.discard)
        await asyncio.shield(recorder)

    async def _record(self, row: OutboxRow, record: Record) -> None:
        delay = _RECORD_RETRY_FIRST
        while True:
            try:
                await record()
            except Exception as exc:
                log.warning(
                    "could not record the outcome of outbox row %s (%r); trying again in %.1fs",
                    row.id,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RECORD_RETRY_CAP)
                continue
            self._claimed.discard(row.id)
            return

    async def _deliver_one(self, row: OutboxRow) -> Record:
        """Send one row; returns how to record the outcome (run, and retried, by `_record`)."""
        outbox = self.storage.outbox
        try:
            message = await self._outbound(row)
        except Exception as exc:
            log.exception("could not render outbox row %s (%s)", row.id, row.kind)
            return functools.partial(
                outbox.finish,
                row_id=row.id,
                status="failed",
                reason=f"render: {exc!r}",
                now=utcnow(),
            )
        limiter = self.limiters[row.channel]
        sender = self.senders[row.channel]
        # A reply that could not be delivered when it was made waits in the outbox; the person
        # is still looking at their phone, so it goes ahead of bulk rows.
        priority = INTERACTIVE if row.kind == REPLY_KIND else BULK
        try:
            await limiter.acquire(row.recipient, priority=priority)
        except LimiterClosed:
            return functools.partial(outbox.release, row_ids=[row.id], now=utcnow())
        self._on_wire.add(row.id)
        try:
            external_id = await sender.send(message)
        except RateLimited as exc:
            limiter.pause(exc.retry_after)
            log.warning("%s rate limited for %ss", row.channel, exc.retry_after)
            metrics.rate_limited(row.channel)
            return functools.partial(
                outbox.retry,
                row_id=row.id,
                due_at=utcnow(),
                error=str(exc),
                count_attempt=False,
                now=utcnow(),
            )
        except Unreachable as exc:
            log.info("%s %s unreachable (%s)", row.channel, row.recipient, exc)
            metrics.outbox_row(row.channel, "unreachable")
            return functools.partial(self._unreachable, row)
        except TransientError as exc:
            if row.attempts >= self._max_attempts(row):
                metrics.outbox_row(row.channel, "failed")
                return functools.partial(
                    outbox.finish, row_id=row.id, status="failed", reason=str(exc), now=utcnow()
                )
            delay = self._backoff(row)
            metrics.outbox_row(row.channel, "retry")
            return functools.partial(
                outbox.retry,
                row_id=row.id,
                due_at=utcnow() + timedelta(seconds=delay),
                error=str(exc),
                now=utcnow(),
            )
        except Deferred as exc:
            due = utcnow() + timedelta(seconds=exc.retry_after)
            return functools.partial(
                outbox.retry,
                row_id=row.id,
                due_at=due,
                error=str(exc),
                count_attempt=False,
                now=utcnow(),
            )
        except OutsideWindow as exc:
            metrics.outbox_row(row.channel, "held")
            return functools.partial(
                outbox.finish, row_id=row.id, status="held", reason=str(exc), now=utcnow()
            )
        except (PermanentError, SendError) as exc:
            metrics.outbox_row(row.channel, "failed")
            return functools.partial(
                outbox.finish, row_id=row.id, status="failed", reason=str(exc), now=utcnow()
            )
        finally:
            limiter.sent()  # answered or failed: its share of a rate across instances ends now
        self.sent += 1
        metrics.outbox_sent(row.channel, row.kind, row.due_at)
        return functools.partial(self._record_sent, row.id, external_id)

    def _max_attempts(self, row: OutboxRow) -> int:
        return REPLY_ATTEMPTS if row.kind == REPLY_KIND else self.settings.max_attempts

    def _backoff(self, row: OutboxRow) -> float:
        if row.kind == REPLY_KIND:
            # Someone is waiting: look again soon, for a few minutes in all (see REPLY_ATTEMPTS).
            return float(min(5 * 2 ** max(row.attempts - 1, 0), 30))
        return backoff(row.attempts, self.settings)

    async def _unreachable(self, row: OutboxRow) -> None:
        outbox = self.storage.outbox
        now = utcnow()
        cancelled = await outbox.mark_unreachable(
            channel=row.channel, recipient=row.recipient, resident_id=row.resident_id, now=now
        )
        # Plain "unreachable", the reason the reminder sync revives once they write again.
        await outbox.finish(row_id=row.id, status="cancelled", reason="unreachable", now=now)
        log.info("%s %s: %d rows cancelled", row.channel, row.recipient, cancelled)

    async def _record_sent(self, row_id: int, external_id: str | None) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sent_batch.append((row_id, external_id, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        # Shielded: a stop() that cancels this task must not drop a send that happened.
        await asyncio.shield(future)

    async def _flush(self) -> None:
        # One loop turn lets the other sends that finished together join this transaction.
        await asyncio.sleep(0)
        while self._sent_batch:
            batch, self._sent_batch = self._sent_batch, []
            try:
                await self.storage.outbox.mark_sent_many(
                    sent=[(row_id, external_id) for row_id, external_id, _ in batch], now=utcnow()
                )
            except Exception as exc:
                for *_, future in batch:
                    future.set_exception(exc)
            else:
                for *_, future in batch:
                    future.set_result(None)

    async def _outbound(self, row: OutboxRow) -> Outbound:
        text, choices = row.text, tuple(Choice(label, payload) for label, payload in row.choices)
        params = row.params
        if not text:
            rendered = await render(
                row.kind, row.params, row.language, self.translator, self.storage
            )
            text, choices = rendered.text, rendered.choices
            # The same facts as short texts, for a WhatsApp template outside the window.
            params = {**row.params, **rendered.params}
        document = None
        if row.document is not None:
            document = Document(
                filename=row.document["filename"],
                content=base64.b64decode(row.document["content_b64"]),
                mime_type=row.document.get("mime_type", "application/octet-stream"),
            )
        return Outbound(
            recipient=row.recipient,
            text=text,
            choices=choices,
            document=document,
            photo=row.photo,
            kind=row.kind,
            language=row.language,
            params=params,
        )
