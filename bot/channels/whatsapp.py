"""WhatsApp Business Cloud API: signed webhooks in, channel-neutral replies out.

Inbound: Meta POSTs `entry[].changes[].value` with `messages[]` (what people send) and
`statuses[]` (receipts of what we sent), signed with X-Hub-Signature-256. We check the signature
on the raw body, answer 200 at once and handle the payload in a background task, because Meta
retries (and eventually disables) a webhook that answers slowly.

Outbound: POST {api}/{version}/{phone number id}/messages. Within 24 hours of the person's last
message anything goes; outside, only an approved template (`WHATSAPP_TEMPLATES`).

A person is known to the core by one identity (channel "whatsapp"): their phone number,
+<country><number>, when their first message carried one, else their business-scoped user id
(BSUID, `from_user_id`, sent by Meta since 2026 and the only identifier of people who adopted a
username). The channel's state (bot/channels/whatsapp_state.py) keeps both identifiers for each
identity; messages go `to` the phone
number when known, else to the `recipient` user id. Errors mean the same whether the send call or
a later status webhook reports them (bot/channels/whatsapp_errors.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from bot.channels import jsonbody
from bot.channels import whatsapp_render as render
from bot.channels.base import (
    Deferred,
    Outbound,
    OutsideWindow,
    PermanentError,
    RateLimited,
    SendError,
    TransientError,
)
from bot.channels.whatsapp_errors import (
    AccountProblem,
    Action,
    MarketingStopped,
    classify,
    send_error,
)
from bot.channels.whatsapp_inbox import split_messages
from bot.channels.whatsapp_state import Address, WhatsAppState
from bot.config_whatsapp import MARKETING_KINDS, WhatsAppSettings, WhatsAppTemplate
from bot.delivery.limits import BULK, INTERACTIVE, ChannelLimiter, Limits
from bot.delivery.replies import ReplyRescue
from handlers.dispatch import Dispatcher, Respond
from handlers.types import Capabilities, Choice, Document, Handled, Incoming, Reply, Translator

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
WEBHOOK_PATH = "/webhooks/whatsapp"
# Message types that are not something the person said to the bot: no answer. A reaction (👍, or
# a removed one) is not a question either.
_IGNORED_TYPES = {"system", "request_welcome", "reaction"}
# Business-scoped user ids: two-letter country code, a dot, up to 128 letters and digits (a
# parent id has "ENT." after the country: US.ENT.1181…).
_USER_ID = re.compile(r"[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}")
# wa_id: country code and number, digits only (ITU E.164 allows 8 to 15 digits).
_WA_ID = re.compile(r"\+?\d{8,15}")
# What a WhatsApp message can show; the core pages longer lists and fits labels to these. Up
# to three choices are reply buttons, up to ten list rows. Labels may be longer than a title:
# the rendering cuts a row's title on a word and shows the rest as its description, and turns
# buttons whose cut titles would clash into a list (bot/channels/whatsapp_render.py).
CAPABILITIES = Capabilities(
    max_choices=render.MAX_ROWS,
    max_buttons=render.MAX_BUTTONS,
    button_label=render.MAX_ROW_TITLE + render.MAX_ROW_DESCRIPTION,
    list_label=render.MAX_ROW_TITLE + render.MAX_ROW_DESCRIPTION,
    can_edit=False,
    max_text=render.MAX_TEXT,
)
# Retries of a failure reported later by a status webhook (the worker's own backoff, as the
# worker would have done had the send call said so).
_LATE_BACKOFF_BASE = 10.0
_LATE_BACKOFF_CAP = 3600.0
_LATE_MAX_ATTEMPTS = 6

Clock = Callable[[], datetime]
# A photo received on WhatsApp, as flows store it: "wa:" and Meta's media id.
PHOTO_PREFIX = "wa:"
# Fetches a photo received on another channel (its file id) for sending on WhatsApp.
PhotoLoader = Callable[[str], Awaitable[Document]]


class WhatsAppDailyLimit(Deferred):
    """The business reached its limit of people contacted outside their window (250 per rolling
    24 hours for a new business). Retry this row after `retry_after` seconds, when the oldest
    counted person leaves the period. Rows inside a person's window are not limited, so only this
    row waits; the channel is not paused."""


def phone_of(wa_id: str) -> str | None:
    """+<digits> of a number as Meta sends it (already international: no local guessing)."""
    wa_id = wa_id.strip()
    return "+" + wa_id.lstrip("+") if _WA_ID.fullmatch(wa_id) else None


def is_user_id(identity: str) -> bool:
    return _USER_ID.fullmatch(identity) is not None


def language_hint(identity: str) -> str:
    """WhatsApp does not tell us the person's language; an Indonesian number (or a user id
    issued in Indonesia, "ID.…") most likely reads Indonesian, anyone else is greeted in English
    until they choose."""
    return "id" if identity.startswith(("+62", "ID.")) else "en"


def signature_valid(body: bytes, header: str | None, secret: str) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    # Bytes, not str: compare_digest refuses non-ASCII str, and a header can carry anything.
    return hmac.compare_digest(expected, header.removeprefix("sha256=").encode())


# Who the sender is writing to, and whether the delivery worker already took this row's first
# token: set by WhatsAppSender around a delivery, read by LimiterPacer (same task, no argument
# threading through every upload and send).
_PACED_CHAT: ContextVar[str] = ContextVar("whatsapp_paced_chat", default="")
_PREPAID: ContextVar[int] = ContextVar("whatsapp_prepaid", default=0)


def channel_limiter(settings: WhatsAppSettings) -> ChannelLimiter:
    """Meta limits our number's throughput, not each recipient: one rate for everything."""
    rate = settings.throughput
    return ChannelLimiter(Limits(overall_rate=rate, chat_rate=rate, chat_burst=max(rate, 1.0)))


class LimiterPacer:
    """The channel's one limiter, shared with the delivery worker, as the sender's pacer: every
    Graph API call takes a token, replies to someone chatting now first. The first call of an
    outbox row uses the token the worker already took for that row."""

    def __init__(self, limiter: ChannelLimiter) -> None:
        self.limiter = limiter

    async def acquire(self, *, urgent: bool = False) -> None:
        prepaid = _PREPAID.get()
        if prepaid and not urgent:
            _PREPAID.set(prepaid - 1)
            return
        await self.limiter.acquire(
            _PACED_CHAT.get() or CHANNEL, priority=INTERACTIVE if urgent else BULK
        )


class GraphApi:
    """The Cloud API calls we make: send a message, upload a file, fetch a received file."""

    def __init__(self, settings: WhatsAppSettings, session: aiohttp.ClientSession) -> None:
        self._root = f"{settings.api_url}/{settings.api_version}"
        self._base = f"{self._root}/{settings.phone_number_id}"
        self._headers = {"Authorization": f"Bearer {settings.token.get()}"}
        self._session = session

    async def send(self, to: Address, message: dict[str, Any]) -> str:
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
        # `to` takes a phone number; a person known only by their business-scoped user id is
        # addressed with `recipient` (Meta reads `to` first when both are given).
        if to.phone is not None:
            body["to"] = to.phone.lstrip("+")
        elif to.user_id is not None:
            body["recipient"] = to.user_id
        else:
            raise PermanentError(f"{to.identity}: neither a phone number nor a user id")
        data = await self._call("POST", f"{self._base}/messages", json={**body, **message})
        try:
            return str(data["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise TransientError(f"unexpected answer from the Graph API: {data!r}") from None

    async def upload(self, document: Document, mime_type: str) -> str:
        """Upload `document` as `mime_type` (one Meta accepts); the media id."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", mime_type)
        form.add_field("file", document.content, filename=document.filename, content_type=mime_type)
        data = await self._call("POST", f"{self._base}/media", data=form)
        if not isinstance(data.get("id"), str):
            raise TransientError(f"unexpected answer to a media upload: {data!r}")
        return str(data["id"])

    async def download(self, media_id: str) -> Document:
        """A file someone sent us (a photo for an announcement): its URL, then its bytes."""
        info = await self._call("GET", f"{self._root}/{media_id}")
        url, mime = info.get("url"), info.get("mime_type")
        if not isinstance(url, str) or not isinstance(mime, str):
            raise PermanentError(f"media {media_id}: no URL in {info!r}")
        try:
            async with self._session.get(url, headers=self._headers) as response:
                content = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"network error fetching media {media_id}: {exc!r}") from exc
        if status != 200:
            raise send_error(None, f"HTTP {status} fetching media {media_id}", http_status=status)
        return Document(f"{media_id}.{mime.rpartition('/')[2]}", content, mime)

    async def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self._session.request(
                method, url, headers=self._headers, **kwargs
            ) as response:
                status = response.status
                text = await response.text()
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"network error talking to the Graph API: {exc!r}") from exc
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        if 200 <= status < 300:
            return data
        raise graph_error(status, data, retry_after)


def graph_error(status: int, data: dict[str, Any], retry_after: str | None = None) -> SendError:
    """The SendError that tells the delivery worker what to do with a refused message."""
    error = data.get("error")
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    error_data = error.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else None
    detail = f"HTTP {status}, code {code}: {error.get('message') or ''} {details or ''}".strip()
    return send_error(code, detail, http_status=status, retry_after=retry_after)


@dataclass
class Delivered:
    """What `deliver` managed: the last message id, and the files that could not be sent."""

    last_id: str | None = None
    failed_files: list[str] = field(default_factory=list)
    messages: int = 0


class WhatsAppSender:
    """Implements bot.channels.base.ChannelSender for WhatsApp.

    Raises, for the delivery worker: OutsideWindow (window closed and no template for the row's
    kind: hold the row), WhatsAppDailyLimit (a Deferred: retry this row after retry_after),
    RateLimited (AccountProblem when the whole account is refused), Unreachable, TransientError,
    PermanentError (MarketingStopped for an announcement to someone who stopped marketing)."""

    channel = CHANNEL

    def __init__(
        self,
        settings: WhatsAppSettings,
        api: GraphApi,
        repo: WhatsAppState,
        translator: Translator,
        *,
        clock: Clock,
        bucket: LimiterPacer | None = None,
        photo_loader: PhotoLoader | None = None,
        combine: bool = True,
    ) -> None:
        self.settings = settings
        self.api = api
        self.repo = repo
        self.translator = translator
        self.clock = clock
        # A sender built alone (tests, benchmarks) gets a limiter of its own; the channel hands
        # in the one its delivery worker shares.
        self.bucket = bucket or LimiterPacer(channel_limiter(settings))
        # Fetches a photo another channel received (a Telegram file id) for an announcement.
        self.photo_loader = photo_loader
        # False: the rendering before billed messages were counted (bench baseline): a file
        # and its buttons as two messages, each reply as its own messages.
        self.combine = combine
        self.messages_sent = 0

    async def send(self, message: Outbound) -> str | None:
        identity = message.recipient
        if not (identity.startswith("+") and identity[1:].isdigit()) and not is_user_id(identity):
            raise PermanentError(f"not a WhatsApp identity: {identity!r}")
        chat, prepaid = _PACED_CHAT.set(identity), _PREPAID.set(1)  # the worker took one token
        try:
            return await self._send_row(identity, message)
        finally:
            _PACED_CHAT.reset(chat)
            _PREPAID.reset(prepaid)

    async def _send_row(self, identity: str, message: Outbound) -> str | None:
        now = self.clock()
        await self.check_account(now)
        address = await self.repo.address(identity=identity)
        template = self.settings.templates.get(message.kind)
        if _is_marketing(message.kind, template) and address.marketing_stopped:
            raise MarketingStopped(f"{identity} stopped marketing messages from us in WhatsApp")
        if await self.repo.in_window(phone=identity, now=now):
            done = await self.deliver(
                address,
                message.text,
                message.choices,
                message.document,
                message.language,
                photo=message.photo,
            )
            return done.last_id
        if template is None:
            raise OutsideWindow(
                f"{identity}: last message over 24 hours ago and no template for {message.kind!r}"
            )
        missing = [name for name in template.params if name not in message.params]
        if missing:
            raise PermanentError(f"template {template.name} needs params {missing}")
        code = template.languages.get(message.language) or next(iter(template.languages.values()))
        body = render.template_message(
            template.name,
            code,
            [str(message.params[name]) for name in template.params],
            [c.payload for c in message.choices[: template.buttons]],
            template.limits,
        )
        reach = await self.repo.reserve_outside_reach(
            phone=identity, now=now, limit=self.settings.daily_limit
        )
        if reach.full_until is not None:
            wait = max((reach.full_until - now).total_seconds(), 1.0)
            limit = self.settings.daily_limit
            raise WhatsAppDailyLimit(wait, f"{limit} people reached outside their window in 24 h")
        try:
            await self.bucket.acquire()
            return await self._send(address, body)
        except SendError:
            if reach.added:  # nobody was reached, so the place goes back to the day's allowance
                await self.repo.release_outside_reach(phone=identity)
            raise

    async def check_account(self, now: datetime) -> None:
        """Raise AccountProblem while the account is paused: nothing would go through."""
        pause = await self.repo.account_pause(now=now)
        if pause is not None:
            remaining = max((pause.until - now).total_seconds(), 1.0)
            raise AccountProblem(remaining, pause.code, f"WhatsApp paused: {pause.reason}")

    async def _send(self, address: Address, body: dict[str, Any]) -> str:
        try:
            message_id = await self.api.send(address, body)
        except SendError as exc:
            await self.learn(exc, address.identity)
            raise
        self.messages_sent += 1
        return message_id

    async def learn(self, exc: SendError, identity: str | None) -> None:
        """What an error tells us beyond this message: the account is refused (pause it,
        alert the operators), the person stopped marketing messages."""
        now = self.clock()
        if isinstance(exc, AccountProblem):
            await self.pause_account(exc.code, str(exc), exc.retry_after)
        elif isinstance(exc, MarketingStopped) and identity is not None:
            await self.repo.set_marketing(identity=identity, stopped=True, at=now)

    async def pause_account(self, code: int | None, reason: str, seconds: float) -> None:
        now = self.clock()
        until = now + timedelta(seconds=seconds)
        if await self.repo.pause_account(until=until, code=code, reason=reason, now=now):
            await self.alert_operators(code, reason, until)

    async def alert_operators(self, code: int | None, reason: str, until: datetime) -> None:
        """Tell the operators WhatsApp stopped. Logged, and queued to every admin on another
        channel (the paused one would not carry it). A general operators' chat
        (PUSTAKA_OPS_CHAT) can take this over when it exists: this is the one place to point."""
        log.error("WhatsApp paused until %s: %s", until.isoformat(), reason)
        texts = {
            language: self.translator.text(
                language,
                "whatsapp.account_alert",
                code=code if code is not None else "-",
                reason=reason,
                when=self.translator.when(language, until),
            )
            for language in ("id", "en")
        }
        await self.repo.alert_admins(
            key=f"whatsapp-paused:{code}:{until.isoformat()}",
            texts=texts,
            now=self.clock(),
            skip_channel=CHANNEL,
        )

    async def deliver(
        self,
        address: Address,
        text: str,
        choices: tuple[Choice, ...],
        document: Document | None,
        language: str,
        *,
        photo: str | None = None,
        urgent: bool = False,
    ) -> Delivered:
        """Free-form delivery (inside the window). `urgent`: an answer to someone chatting
        now, served before outbox rows. A file Meta would refuse, or whose upload fails, is
        left out and named in `failed_files`; the text and choices still go."""
        chat = _PACED_CHAT.set(address.identity)
        try:
            return await self._deliver(
                address, text, choices, document, language, photo=photo, urgent=urgent
            )
        finally:
            _PACED_CHAT.reset(chat)

    async def _deliver(
        self,
        address: Address,
        text: str,
        choices: tuple[Choice, ...],
        document: Document | None,
        language: str,
        *,
        photo: str | None,
        urgent: bool,
    ) -> Delivered:
        texts = self.list_texts(language)
        done = Delivered()
        media: tuple[str, str, str] | None = None  # (message type, media id, file name)
        if document is not None:
            caption = text
            if document.mime_type.startswith("text/calendar"):
                caption = self._calendar_text(text, document, language)
            try:
                media = await self._upload(document, urgent=urgent)
            except SendError as exc:
                if isinstance(exc, RateLimited):
                    raise
                log.warning("file %s not sent on WhatsApp: %s", document.filename, exc)
                done.failed_files.append(document.filename)
            text = caption
        elif photo is not None:
            media = await self._photo(photo, urgent=urgent)
        messages = self._messages(text, choices, media, texts)
        for message in messages:
            await self.bucket.acquire(urgent=urgent)
            done.last_id = await self._send(address, message)
            done.messages += 1
        return done

    def _messages(
        self,
        text: str,
        choices: tuple[Choice, ...],
        media: tuple[str, str, str] | None,
        texts: render.ListTexts,
    ) -> list[dict[str, Any]]:
        if media is None:
            return render.reply_messages(text, choices, texts)
        kind, media_id, filename = media
        if self.combine and choices:
            # The file as the header of the buttons' message: one billed message, not two.
            both = render.media_with_buttons(kind, media_id, filename, text, choices)
            if both is not None:
                return [both]
        caption = text if render.width(text) <= render.MAX_CAPTION else ""
        messages = [render.media_message(kind, media_id, filename, caption)]
        if not caption and text:
            messages += render.reply_messages(text, choices, texts)
        elif choices:
            messages.append(render.choices_message(texts.prompt, choices, texts))
        return messages

    async def _upload(self, document: Document, *, urgent: bool) -> tuple[str, str, str]:
        plan = render.media_plan(document.mime_type)
        if plan is None:
            raise PermanentError(f"Meta takes no {document.mime_type} files")
        upload_type, kind = plan
        await self.bucket.acquire(urgent=urgent)
        try:
            media_id = await self.api.upload(document, upload_type)
        except SendError as exc:
            await self.learn(exc, None)
            raise
        return kind, media_id, document.filename

    async def _photo(self, photo: str, *, urgent: bool) -> tuple[str, str, str] | None:
        """An announcement's photo, uploaded once and then sent to everyone by its media id.
        `wa:<id>`: a photo a librarian sent us on WhatsApp; anything else a file id of another
        channel, fetched with photo_loader. None (the text goes alone) when it cannot be had."""
        now = self.clock()
        known = await self.repo.uploaded(source=photo, now=now)
        if known is not None:
            return "image", known, ""
        try:
            if photo.startswith(PHOTO_PREFIX):
                image = await self.api.download(photo.removeprefix(PHOTO_PREFIX))
            elif self.photo_loader is not None:
                image = await self.photo_loader(photo)
            else:
                log.warning("photo %s cannot be fetched for WhatsApp; text sent alone", photo)
                return None
            kind, media_id, _ = await self._upload(image, urgent=urgent)
        except (PermanentError, TransientError) as exc:
            log.warning("photo %s not sent on WhatsApp: %s", photo, exc)
            return None
        await self.repo.remember_upload(source=photo, media_id=media_id, now=now)
        return kind, media_id, ""

    def _calendar_text(self, text: str, document: Document, language: str) -> str:
        """A calendar file's caption also says what it holds, in words: a phone without a
        calendar app that opens .ics files still shows the person what to note down."""
        fields = _ics_fields(document.content)
        start = fields.get("DTSTART")
        if not fields.get("SUMMARY") or start is None:
            return text
        try:
            moment = datetime.strptime(start, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return text
        summary = self.translator.text(
            language,
            "whatsapp.calendar_summary",
            title=fields["SUMMARY"],
            when=self.translator.when(language, moment),
            place=fields.get("LOCATION", ""),
        )
        return f"{text}\n\n{summary}" if text else summary

    def list_texts(self, language: str) -> render.ListTexts:
        t = self.translator.text
        return render.ListTexts(
            button=t(language, "whatsapp.list_button"),
            section=t(language, "whatsapp.section"),
            prompt=t(language, "whatsapp.prompt"),
        )


def _is_marketing(kind: str, template: WhatsAppTemplate | None) -> bool:
    return template.marketing if template is not None else kind in MARKETING_KINDS


def _ics_fields(content: bytes) -> dict[str, str]:
    """SUMMARY, DTSTART, LOCATION… of a one-event calendar file (folded lines joined,
    escapes undone)."""
    text = content.decode("utf-8", "replace").replace("\r\n ", "").replace("\n ", "")
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.isupper() and name not in fields:
            fields[name] = (
                value.replace("\\n", "\n").replace("\\,", ",").replace("\\;", ";")
            ).replace("\\\\", "\\")
    return fields


class WhatsAppChannel:
    """The webhook side: verification, signature check, dedupe, receipts, dispatch."""

    def __init__(
        self,
        settings: WhatsAppSettings,
        dispatcher: Dispatcher,
        translator: Translator,
        state: WhatsAppState,
        *,
        clock: Clock | None = None,
        photo_loader: PhotoLoader | None = None,
    ) -> None:
        self.settings = settings
        self.photo_loader = photo_loader
        self.dispatcher = dispatcher
        self.translator = translator
        self.repo = state
        self.clock = clock or dispatcher.clock  # the core's clock unless a test sets one
        self._http: aiohttp.ClientSession | None = None
        self._sender: WhatsAppSender | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Set when several instances serve the number: messages are stored in the inbox before
        # the webhook is acknowledged and handled from there (bot/inbox.py).
        self.accept: Callable[..., Awaitable[bool]] | None = None
        # Set by `pustaka run`: where replies the Graph API did not take wait (the outbox).
        self.rescue: ReplyRescue | None = None
        # The channel's one limiter: replies, outbox rows (the worker) and every Graph API call
        # take their tokens here.
        self.limiter = channel_limiter(settings)

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        api = GraphApi(self.settings, self._http)
        self._sender = WhatsAppSender(
            self.settings,
            api,
            self.repo,
            self.translator,
            clock=self.clock,
            bucket=LimiterPacer(self.limiter),
            photo_loader=self.photo_loader,
        )

    async def close(self) -> None:
        """Finish what was acknowledged to Meta (it will not send it again), then close."""
        await self.drain()
        await self.limiter.close()
        if self._http is not None:
            await self._http.close()

    @property
    def sender(self) -> WhatsAppSender:
        if self._sender is None:
            raise RuntimeError("WhatsAppChannel.start() was not called")
        return self._sender

    def routes(self) -> list[web.RouteDef]:
        return [web.get(WEBHOOK_PATH, self.verify), web.post(WEBHOOK_PATH, self.receive)]

    async def drain(self) -> None:
        """Wait until every acknowledged payload has been handled (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- webhook ---------------------------------------------------------------------------

    async def verify(self, request: web.Request) -> web.Response:
        """The subscription handshake Meta makes when the webhook URL is saved."""
        query = request.query
        token = query.get("hub.verify_token", "")
        if query.get("hub.mode") == "subscribe" and hmac.compare_digest(
            token.encode(), self.settings.verify_token.get().encode()
        ):
            return web.Response(text=query.get("hub.challenge", ""))
        log.warning("WhatsApp webhook verification refused (wrong verify token)")
        return web.Response(status=403, text="forbidden")

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not signature_valid(
            body, request.headers.get("X-Hub-Signature-256"), self.settings.app_secret.get()
        ):
            log.warning("WhatsApp webhook with a missing or wrong signature refused")
            return web.Response(status=403, text="bad signature")
        try:
            payload = jsonbody.load(body)  # bounded nesting: 1,000 levels was a RecursionError
        except jsonbody.MalformedBody:
            return web.Response(status=400, text="malformed JSON")
        if not isinstance(payload, dict):
            return web.Response(status=400, text="expected a JSON object")
        if self.accept is not None:
            rest, messages = split_messages(payload)
            for message_id, phone, single in messages:
                await self.accept(
                    channel=CHANNEL,
                    platform_id=message_id,
                    person=phone,
                    payload=json.dumps(single),
                )
            if rest is None:
                return web.Response(text="ok")
            payload = rest
        task = asyncio.create_task(self._process(payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(text="ok")

    async def handle_stored(self, payload: str) -> None:
        """A message from the inbox, handled to the end before this returns."""
        await self._process(json.loads(payload))

    async def _process(self, payload: dict[str, Any]) -> None:
        for field_name, value in _values(payload):
            # One Meta app can serve several numbers; another number's messages are not ours to
            # answer (we would answer from the wrong number).
            number_id = _get(value, "metadata", "phone_number_id")
            if number_id is not None and str(number_id) != self.settings.phone_number_id:
                log.info("webhook for phone number id %s ignored", number_id)
                continue
            if field_name == "user_preferences":
                for preference in _dicts(value.get("user_preferences")):
                    await self._guarded(self._preference(preference))
                continue
            # value["contacts"][].profile.name is deliberately not read: a name is personal data
            # and is only stored after consent, through the core's own flow.
            user_ids = _contact_user_ids(value)
            for status in _dicts(value.get("statuses")):
                await self._guarded(self._status(status))
            for message in _dicts(value.get("messages")):
                await self._guarded(self._message(message, user_ids))
            for error in _dicts(value.get("errors")):
                log.warning("WhatsApp reported an error: %s", error)

    async def _guarded(self, work: Awaitable[None]) -> None:
        """One bad item never stops the others, nor the server."""
        try:
            await work
        except Exception:
            log.exception("failed to handle a WhatsApp webhook item")

    async def _status(self, status: dict[str, Any]) -> None:
        external_id, state = status.get("id"), status.get("status")
        if not isinstance(external_id, str) or state not in ("sent", "delivered", "read", "failed"):
            return
        errors = _dicts(status.get("errors"))
        error = None
        code: int | None = None
        if errors:
            first = errors[0]
            code = first.get("code") if isinstance(first.get("code"), int) else None
            error = f"{first.get('code')} {first.get('title') or first.get('message') or ''}"
        now = self.clock()
        failed = await self.repo.record_status(
            external_id=external_id,
            status=str(state),
            at=_moment(status.get("timestamp"), now),
            error=error.strip() if error else None,
        )
        if state != "failed":
            return
        # The same error, reported after the send: the same treatment as if the send call had
        # answered with it (see whatsapp_errors).
        exc = send_error(code, f"failed after sending: {error or 'no reason given'}")
        await self.sender.learn(exc, failed.recipient if failed else None)
        if failed is None:
            return  # a reply, not an outbox row: nothing waits to be sent again
        rule = classify(code)
        reason = str(exc)
        if rule.action in (Action.RATE_LIMIT, Action.DEFER, Action.ACCOUNT):
            due = now + timedelta(seconds=rule.seconds)
            await self.repo.late_failure(
                outbox_id=failed.id,
                status="pending",
                reason=reason,
                at=now,
                due_at=due,
                count_attempt=False,
            )
        elif rule.action is Action.HOLD:
            await self.repo.late_failure(outbox_id=failed.id, status="held", reason=reason, at=now)
        elif rule.action is Action.UNREACHABLE:
            await self.repo.late_unreachable(
                outbox_id=failed.id,
                recipient=failed.recipient,
                resident_id=failed.resident_id,
                at=now,
            )
        elif rule.action is Action.TRANSIENT and failed.attempts < _LATE_MAX_ATTEMPTS:
            delay = min(_LATE_BACKOFF_BASE * 2 ** max(failed.attempts - 1, 0), _LATE_BACKOFF_CAP)
            await self.repo.late_failure(
                outbox_id=failed.id,
                status="pending",
                reason=reason,
                at=now,
                due_at=now + timedelta(seconds=delay),
            )
        else:
            await self.repo.late_failure(
                outbox_id=failed.id, status="failed", reason=reason, at=now
            )

    async def _preference(self, preference: dict[str, Any]) -> None:
        """user_preferences: the person stopped or resumed marketing messages in WhatsApp.
        Only announcements stop; reminders and answers to them go on."""
        if preference.get("category") != "marketing_messages":
            return
        value = preference.get("value")
        if value not in ("stop", "resume"):
            return
        identity = await self._identity(preference.get("wa_id"), preference.get("user_id"))
        if identity is None:
            return
        await self.repo.set_marketing(
            identity=identity,
            stopped=value == "stop",
            at=_moment(preference.get("timestamp"), self.clock()),
        )

    async def _identity(self, wa_id: object, user_id: object) -> str | None:
        phone = None
        if isinstance(wa_id, str) and wa_id:
            phone = phone_of(wa_id)
            if phone is None:
                log.warning("WhatsApp sender with an odd number %r", wa_id)
        uid = user_id if isinstance(user_id, str) and is_user_id(user_id) else None
        if phone is None and uid is None:
            return None
        return await self.repo.resolve_identity(phone=phone, user_id=uid, now=self.clock())

    async def _message(self, message: dict[str, Any], user_ids: dict[str, str]) -> None:
        message_id, sender, kind = message.get("id"), message.get("from"), message.get("type")
        user_id = message.get("from_user_id")
        if not isinstance(user_id, str) and isinstance(sender, str):
            user_id = user_ids.get(sender)
        if not isinstance(message_id, str) or not (
            isinstance(sender, str) or isinstance(user_id, str)
        ):
            log.warning("WhatsApp message without id or sender ignored")
            return
        # Taken before the first await, so one person's messages are handled in arrival order.
        sender_key = str(sender if isinstance(sender, str) else user_id)
        async with self.dispatcher.arrival_turn(CHANNEL, sender_key):
            now = self.clock()
            if not await self.repo.claim_message(message_id=message_id, now=now):
                log.info("duplicate WhatsApp message %s ignored", message_id)
                return
            if kind == "system":
                await self._system(message, sender, user_id)
                return
            identity = await self._identity(sender, user_id)
            if identity is None:
                log.warning("WhatsApp message %s with no usable sender ignored", message_id)
                return
            await self.repo.record_inbound(
                phone=identity, at=min(_moment(message.get("timestamp"), now), now)
            )
            if kind in _IGNORED_TYPES:
                return
            await self._dispatch(identity, message)

    async def _system(self, message: dict[str, Any], sender: object, user_id: object) -> None:
        """user_changed_number / user_changed_user_id: the same person, new identifiers. Their
        identity (and so their registrations, reminders and roles) stays the same."""
        system = message.get("system")
        if not isinstance(system, dict) or system.get("type") not in (
            "user_changed_number",
            "customer_changed_number",
            "user_changed_user_id",
        ):
            return
        old_phone = phone_of(sender) if isinstance(sender, str) else None
        new_wa_id = system.get("wa_id") or system.get("new_wa_id")
        new_phone = phone_of(str(new_wa_id)) if isinstance(new_wa_id, str | int) else None
        previous = system.get("previous_user_id")
        old_user_id = previous if isinstance(previous, str) else user_id
        new_user_id = system.get("user_id")
        identity = await self.repo.change_number(
            old_phone=old_phone,
            old_user_id=old_user_id if isinstance(old_user_id, str) else None,
            new_phone=new_phone,
            new_user_id=new_user_id if isinstance(new_user_id, str) else None,
            now=self.clock(),
        )
        log.info(
            "WhatsApp %s: identity %s now reached at %s", system.get("type"), identity, new_phone
        )

    async def _dispatch(self, identity: str, message: dict[str, Any]) -> None:
        said, hint = _said(message), language_hint(identity)
        if said.payload is None and said.media is None:
            incoming = Incoming.from_text(
                channel=CHANNEL,
                user_id=identity,
                text=said.text,
                language_hint=hint,
                capabilities=CAPABILITIES,
            )
        else:  # a tap, or a photo whose caption is not a command
            incoming = Incoming(
                CHANNEL,
                identity,
                text=said.text,
                payload=said.payload,
                media=said.media,
                photo=said.photo,
                language_hint=hint,
                capabilities=CAPABILITIES,
            )
        await self.dispatcher.handle(incoming, self._responder(identity))

    def _responder(self, identity: str) -> Respond:
        async def respond(handled: Handled) -> None:
            language = handled.language  # the core says which: no second session load
            replies: list[Reply] = handled
            address = await self.repo.address(identity=identity)
            if self.sender.combine:
                replies = combine_replies(replies)
            failed: list[str] = []
            for index, reply in enumerate(replies):
                try:
                    done = await self.sender.deliver(
                        address,
                        reply.text,
                        reply.choices,
                        reply.document,
                        language,
                        photo=reply.photo,
                        urgent=True,
                    )
                except SendError as exc:
                    if self.rescue is not None and isinstance(exc, TransientError | RateLimited):
                        # The platform blinked: this reply and the ones after it wait in the
                        # outbox instead of being lost (bot/delivery/replies.py).
                        log.warning("could not answer %s on WhatsApp now: %s", identity, exc)
                        for later in replies[index:]:
                            await self.rescue.keep(
                                channel=CHANNEL, recipient=identity, reply=later, language=language
                            )
                        return
                    # The person is waiting, but retrying here would hold up their next message;
                    # the rest of the answer still goes, and the error is in the log.
                    log.warning("could not answer %s on WhatsApp: %s", identity, exc)
                    if isinstance(exc, RateLimited):
                        return  # nothing else would go through either
                    failed.append(reply.document.filename if reply.document else "")
                    continue
                failed += done.failed_files
            if failed:
                files = ", ".join(name for name in failed if name)
                key = "whatsapp.part_failed_files" if files else "whatsapp.part_failed"
                try:
                    await self.sender.deliver(
                        address,
                        self.translator.text(language, key, files=files),
                        (),
                        None,
                        language,
                        urgent=True,
                    )
                except SendError as exc:
                    log.warning("could not tell %s what failed: %s", identity, exc)

        return respond


def combine_replies(replies: list[Reply]) -> list[Reply]:
    """Fewer messages: a plain text reply joins the reply after it when the two fit in one
    WhatsApp message (4,096 characters, 1,024 when the next carries buttons or a file); and a
    file sent after a reply with up to three buttons becomes that message's header (a chart
    above its month buttons), one interactive message instead of two."""
    combined: list[Reply] = []
    for reply in replies:
        last = combined[-1] if combined else None
        merged = _joined(last, reply) if last is not None else None
        if merged is not None:
            combined[-1] = merged
        else:
            combined.append(reply)
    return combined


def _joined(first: Reply, then: Reply) -> Reply | None:
    if not first.text or not then.text or first.document or first.photo:
        return None
    text = f"{first.text}\n\n{then.text}"
    if not first.choices:
        rich = bool(then.choices or then.document or then.photo)
        limit = render.MAX_INTERACTIVE_BODY if rich else render.MAX_TEXT
        if render.width(text) > limit:
            return None
        return Reply(text, then.choices, then.document, photo=then.photo, edit=then.edit)
    # Buttons, then a file alone: the file rides as the header of the buttons' message. Only
    # files that go as a header (images and documents Meta takes) and only for reply buttons.
    if (
        then.choices
        or then.photo
        or then.document is None
        or len(first.choices) > render.MAX_BUTTONS
        or render.media_plan(then.document.mime_type) is None
        or render.width(text) > render.MAX_INTERACTIVE_BODY
    ):
        return None
    return Reply(text, first.choices, then.document)


@dataclass(frozen=True, slots=True)
class _Said:
    """What a message says, as the core takes it: typed text, a tapped payload, or something
    the bot cannot read (media) — with a photo's id and caption for the flows that take one."""

    text: str = ""
    payload: str | None = None
    media: str | None = None
    photo: str | None = None


def _said(message: dict[str, Any]) -> _Said:
    kind = message.get("type")
    if kind == "text":
        return _Said(str(_get(message, "text", "body") or ""))
    if kind == "interactive":
        reply = _get(message, "interactive", "button_reply") or _get(
            message, "interactive", "list_reply"
        )
        payload = reply.get("id") if isinstance(reply, dict) else None
        return _Said(payload=payload) if isinstance(payload, str) and payload else _Said(media=kind)
    if kind == "button":  # a quick-reply button of a template
        payload = _get(message, "button", "payload") or _get(message, "button", "text")
        return _Said(payload=payload) if isinstance(payload, str) and payload else _Said(media=kind)
    if kind == "image" and isinstance(_get(message, "image", "id"), str):
        # A photo (a librarian's, for an announcement): the flows that take one get it as
        # `wa:<media id>`; the sender fetches and re-uploads it when it goes out.
        return _Said(
            str(_get(message, "image", "caption") or "").strip(),
            media="photo",
            photo=PHOTO_PREFIX + str(_get(message, "image", "id")),
        )
    return _Said(media=str(kind or "unknown"))


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _values(payload: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(field, value) of every change of every entry we subscribe to ("messages",
    "user_preferences"), skipping anything odd."""
    found = []
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            field_name = change.get("field", "messages")
            if field_name in ("messages", "user_preferences") and isinstance(value, dict):
                found.append((str(field_name), value))
    return found


def _contact_user_ids(value: dict[str, Any]) -> dict[str, str]:
    """wa_id -> business-scoped user id, from the `contacts` beside the messages."""
    found = {}
    for contact in _dicts(value.get("contacts")):
        wa_id, user_id = contact.get("wa_id"), contact.get("user_id")
        if isinstance(wa_id, str) and isinstance(user_id, str):
            found[wa_id] = user_id
    return found


def _get(data: dict[str, Any], *path: str) -> Any:
    current: Any = data
    for key in path:
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current


def _moment(timestamp: object, default: datetime) -> datetime:
    """Meta's timestamps are Unix seconds as strings."""
    try:
        return datetime.fromtimestamp(int(str(timestamp)), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return default
