"""SMS: for residents with a basic phone and no mobile data (docs/sms.md).

Inbound: the SMS gateway POSTs webhook events to /webhooks/sms, signed with the webhook secret:
X-Signature is hex HMAC-SHA256 of the raw body followed by the X-Timestamp header (Unix
seconds). The envelope is {"id", "webhookId", "event", "deviceId", "payload"}; `sms:received`
carries the text, `sms:sent` / `sms:delivered` / `sms:failed` report on what we sent. The
phone retries a webhook it thinks failed with the same event id, so ids are claimed once.

A text is a keyword (DAFTAR <nomor acara>, BATAL, HADIR <kode>, ACARA, BERHENTI, BANTUAN; the
English STOP, HELP too), a number picking one of the numbered choices of the last reply, or
free text; all go to the core as the same Incoming any channel makes. Replies go back as one
SMS per message: texts joined, choices numbered, in GSM-7, cut to SMS_MAX_SEGMENTS.

Outbound: everything is counted in segments against the daily budget (bot/channels/base
`Deferred` until the next WITA day when it is spent); the ledger is a narrow object the wiring
passes in (storage/sms.py implements it), so this module never imports `storage`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from bot.channels.base import ChannelSender, Deferred, Outbound, PermanentError, SendError
from bot.channels.gsm7 import capacity, clip, fit, segments, septets, to_gsm7
from bot.channels.numbered import numbered
from bot.channels.sms_gateway import AndroidSmsGateway, SmsGateway
from bot.config_sms import SmsSettings
from bot.delivery.limits import INTERACTIVE, ChannelLimiter, LimiterClosed, Limits
from handlers.dispatch import Dispatcher
from handlers.types import Capabilities, Handled, Incoming, Reply, Translator

log = logging.getLogger(__name__)

CHANNEL = "sms"
WEBHOOK_PATH = "/webhooks/sms"
# Gateways re-sign every retry, so an old timestamp is a replay, not a slow retry. Phones keep
# network time; ten minutes leaves room for a clock a little off.
SIGNATURE_TOLERANCE = 600
# Numbered replies are typed on a keypad: 1-9 are one key each. Labels short, nothing to edit.
CAPABILITIES = Capabilities(
    max_choices=9, max_buttons=9, button_label=32, list_label=32, can_edit=False, max_text=459
)
# First word -> the core's command. Indonesian keywords as printed on posters, English aliases.
KEYWORDS = {
    "daftar": "daftar",
    "register": "daftar",
    "batal": "bataldaftar",
    "cancel": "bataldaftar",
    "hadir": "hadir",
    "checkin": "hadir",
    "acara": "acara",
    "events": "acara",
    "berhenti": "berhenti",
    "stop": "berhenti",
    "bantuan": "smsbantuan",
    "help": "smsbantuan",
    "info": "smsbantuan",
    "menu": "menu",
    # The brief privacy notice SMS residents get says to reply these to see or delete their data.
    "datasaya": "datasaya",
    "mydata": "datasaya",
    "hapusdata": "hapusdata",
    "deletemydata": "hapusdata",
}

Clock = Callable[[], datetime]


class SmsLedger(Protocol):
    """What the SMS channel keeps in the database (implemented by storage/sms.py SmsRepo)."""

    async def claim_event(self, *, event_id: str, now: datetime) -> bool: ...

    async def record_report(
        self, *, message_id: str, status: str, error: str | None, now: datetime
    ) -> bool: ...

    async def reserve(
        self,
        *,
        day: str,
        day_ends: datetime,
        kind: str,
        recipient: str,
        segments: int,
        limit: int,
        now: datetime,
    ) -> int | None: ...

    async def queued(self, *, ledger_id: int, message_id: str, now: datetime) -> None: ...

    async def release(self, *, ledger_id: int) -> None: ...

    async def copy_to_sms(
        self, *, kinds: tuple[str, ...], since: datetime, now: datetime
    ) -> int: ...


class BudgetSpent(Deferred):
    """Today's SMS budget is spent (or, for kinds other than reminders, what is left is kept for
    the reminders still due today): this row waits for the next day."""


def signature_valid(
    body: bytes, signature: str | None, timestamp: str | None, secret: str, now: float
) -> bool:
    if not signature or not timestamp or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > SIGNATURE_TOLERANCE:
        return False
    expected = hmac.new(secret.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


def phone_of(raw: str) -> str:
    """+<digits>: the gateway reports numbers as the network gave them (+62…, 62…, 08…)."""
    digits = "".join(c for c in raw if c.isdigit())
    if raw.strip().startswith("0") and not raw.strip().startswith("00"):
        digits = "62" + digits[1:]
    if not 6 <= len(digits) <= 15:
        raise ValueError(f"not a phone number: {raw!r}")
    return "+" + digits


def incoming_from_text(phone: str, text: str) -> Incoming:
    """An SMS as the core's Incoming: a keyword is a command, anything else typed text."""
    stripped = " ".join(text.split())
    head, _, rest = stripped.partition(" ")
    command = KEYWORDS.get(head.casefold().strip(".,!?:"))
    hint = "id" if phone.startswith("+62") else "en"
    if command is not None:
        return Incoming(
            CHANNEL,
            phone,
            text=stripped,
            command=command,
            args=rest.strip(),
            language_hint=hint,
            capabilities=CAPABILITIES,
        )
    return Incoming.from_text(
        channel=CHANNEL, user_id=phone, text=stripped, language_hint=hint, capabilities=CAPABILITIES
    )


def render(replies: Sequence[Reply], hint: str, max_segments: int) -> str:
    """One SMS for one turn: the texts, then every choice numbered in the order the core
    remembers them (so "2" picks the second), then how to answer. When it is too long the
    texts are cut, never the choices: they are what the person can answer with."""
    text = to_gsm7("\n".join(reply.text for reply in replies if reply.text))
    choices = [choice for reply in replies for choice in reply.choices]
    if not choices:
        return fit(text, max_segments)
    lines = numbered(choices, "{number} {label}")  # "1 Daftar": one key less than "1."
    block = to_gsm7("\n".join([*lines, hint]))
    room = capacity(max_segments) - septets(block) - 1
    if septets(text) > room:
        text = clip(text, max(room, 0))
    return fit(f"{text}\n{block}" if text else block, max_segments)


class SmsSender:
    """Implements ChannelSender: counts segments, keeps to the daily budget, hands the text to
    the gateway. Raises BudgetSpent (a Deferred), or the gateway's SendErrors."""

    channel = CHANNEL

    def __init__(
        self,
        settings: SmsSettings,
        gateway: SmsGateway,
        ledger: SmsLedger,
        *,
        timezone: str = "Asia/Makassar",
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.gateway = gateway
        self.ledger = ledger
        self.zone = ZoneInfo(timezone)
        self.clock = clock

    async def send(self, message: Outbound) -> str | None:
        try:
            phone = phone_of(message.recipient)
        except ValueError as exc:
            raise PermanentError(str(exc)) from exc
        text = fit(to_gsm7(message.text), self.settings.max_segments)
        return await self.deliver(phone, text, kind=message.kind)

    async def deliver(self, phone: str, text: str, *, kind: str) -> str:
        now = self.clock()
        local = now.astimezone(self.zone)
        day_ends = datetime.combine(
            local.date() + timedelta(days=1), datetime.min.time(), self.zone
        )
        count = segments(text)
        ledger_id = await self.ledger.reserve(
            day=local.date().isoformat(),
            day_ends=day_ends,
            kind=kind,
            recipient=phone,
            segments=count,
            limit=self.settings.daily_limit,
            now=now,
        )
        if ledger_id is None:
            wait = max((day_ends - now).total_seconds(), 1.0)
            raise BudgetSpent(wait, f"SMS budget of {self.settings.daily_limit} segments spent")
        try:
            message_id = await self.gateway.send(
                phone=phone, text=text, message_id=uuid.uuid4().hex
            )
        except SendError:
            await self.ledger.release(ledger_id=ledger_id)
            raise
        await self.ledger.queued(ledger_id=ledger_id, message_id=message_id, now=self.clock())
        # Segments are what the operator bills: logged for every message.
        log.info("SMS %s to %s…: %d segment(s), id %s", kind, phone[:6], count, message_id)
        return message_id


class SmsChannel:
    """The webhook side and the channel as bot/serve.py runs it."""

    name = CHANNEL
    capabilities = CAPABILITIES

    def __init__(
        self,
        settings: SmsSettings,
        dispatcher: Dispatcher,
        translator: Translator,
        ledger: SmsLedger,
        *,
        timezone: str = "Asia/Makassar",
        clock: Clock,
        gateway: SmsGateway | None = None,
        copy_seconds: float = 5.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.dispatcher = dispatcher
        self.translator = translator
        self.ledger = ledger
        self.timezone = timezone
        self.clock = clock
        self.copy_seconds = copy_seconds
        self.wall_clock = wall_clock
        # The phone's send rate is the only limit; no platform limits a number per recipient.
        self.limiter = ChannelLimiter(
            Limits(
                overall_rate=settings.rate,
                overall_burst=1.0,
                chat_rate=settings.rate,
                chat_burst=2.0,
            )
        )
        self._gateway = gateway
        self._http: aiohttp.ClientSession | None = None
        self._sender: SmsSender | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._copier: asyncio.Task[None] | None = None

    @property
    def sender(self) -> ChannelSender:
        return self.sms_sender

    @property
    def sms_sender(self) -> SmsSender:
        if self._sender is None:
            raise RuntimeError("SmsChannel.start() was not called")
        return self._sender

    def routes(self) -> Sequence[web.RouteDef]:
        return [web.post(WEBHOOK_PATH, self.receive)]

    async def start(self) -> None:
        gateway = self._gateway
        if gateway is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
            gateway = AndroidSmsGateway(
                self.settings.gateway_url,
                self.settings.user,
                self.settings.password.get(),
                self._http,
            )
        self._sender = SmsSender(
            self.settings, gateway, self.ledger, timezone=self.timezone, clock=self.clock
        )
        self._copier = asyncio.get_running_loop().create_task(self._copy_loop(), name="sms-copy")

    async def stop(self) -> None:
        if self._copier is not None:
            self._copier.cancel()
            await asyncio.gather(self._copier, return_exceptions=True)
        await self.drain()
        await self.limiter.close()
        if self._http is not None:
            await self._http.close()

    async def drain(self) -> None:
        """Wait until every acknowledged webhook has been handled (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def copy_now(self, since: datetime) -> int:
        """Write the SMS copies of outbox rows changed since `since` (the loop does this every
        few seconds; tests call it directly)."""
        return await self.ledger.copy_to_sms(
            kinds=self.settings.kinds, since=since, now=self.clock()
        )

    async def _copy_loop(self) -> None:
        # After a restart, look back far enough to catch rows written while we were down.
        since = self.clock() - timedelta(days=2)
        while True:
            started = self.clock()
            try:
                await self.copy_now(since)
                since = started - timedelta(seconds=1)  # rows stamped in the same second
            except Exception:
                log.exception("writing SMS copies failed; the next run tries again")
            await asyncio.sleep(self.copy_seconds)

    # --- webhook ---------------------------------------------------------------------------

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not signature_valid(
            body,
            request.headers.get("X-Signature"),
            request.headers.get("X-Timestamp"),
            self.settings.webhook_secret.get(),
            self.wall_clock(),
        ):
            log.warning("SMS webhook with a missing, wrong or old signature refused")
            return web.Response(status=401, text="bad signature")
        try:
            envelope = json.loads(body)
        except ValueError:
            return web.Response(status=400, text="malformed JSON")
        payload = envelope.get("payload") if isinstance(envelope, dict) else None
        if not isinstance(payload, dict):
            return web.Response(status=400, text="expected an event with a payload")
        event = envelope.get("event")
        if event in ("sms:sent", "sms:delivered", "sms:failed"):
            await self._report(str(event), payload)
            return web.Response(text="ok")
        if event != "sms:received":
            return web.Response(text="ignored")
        sender, text = payload.get("sender") or payload.get("phoneNumber"), payload.get("message")
        if not isinstance(sender, str) or not isinstance(text, str):
            return web.Response(status=400, text="sms:received without sender or message")
        event_id = envelope.get("id")
        if not isinstance(event_id, str) or not event_id:
            # Older app versions send no event id: the same text from the same number at the
            # same moment is the same SMS.
            event_id = hashlib.sha256(
                f"{sender}\x1f{payload.get('receivedAt')}\x1f{text}".encode()
            ).hexdigest()
        # Claimed before answering: a retry that comes while this one is handled is dropped.
        if not await self.ledger.claim_event(event_id=event_id, now=self.clock()):
            log.info("duplicate SMS webhook %s ignored", event_id)
            return web.Response(text="duplicate")
        try:
            phone = phone_of(sender)
        except ValueError:
            return web.Response(text="ignored")  # an operator's alphanumeric sender id
        task = asyncio.create_task(self._handle(phone, text))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(text="ok")

    async def _report(self, event: str, payload: dict[str, Any]) -> None:
        message_id = payload.get("messageId")
        if isinstance(message_id, str):
            reason = payload.get("reason")
            await self.ledger.record_report(
                message_id=message_id,
                status=event.removeprefix("sms:"),
                error=str(reason) if reason else None,
                now=self.clock(),
            )

    async def _handle(self, phone: str, text: str) -> None:
        try:
            await self.dispatcher.handle(incoming_from_text(phone, text), self._responder(phone))
        except Exception:
            log.exception("failed to handle an SMS from %s…", phone[:6])

    def _responder(self, phone: str) -> Callable[[Handled], Any]:
        async def respond(handled: Handled) -> None:
            hint = self.translator.text(handled.language, "sms.reply_hint")
            text = render(handled, hint, self.settings.max_segments)
            try:
                await self.limiter.acquire(phone, priority=INTERACTIVE)
                await self.sms_sender.deliver(phone, text, kind="reply")
            except LimiterClosed:
                log.info("shutting down: SMS answer to %s… not sent", phone[:6])
            except SendError as exc:
                # The budget is a hard cap on spending; the person can text again tomorrow.
                log.warning("could not answer %s… by SMS: %s", phone[:6], exc)

        return respond
