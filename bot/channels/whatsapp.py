"""WhatsApp Business Cloud API: signed webhooks in, channel-neutral replies out.

Inbound: Meta POSTs `entry[].changes[].value` with `messages[]` (what people send) and
`statuses[]` (receipts of what we sent), signed with X-Hub-Signature-256. We check the signature
on the raw body, answer 200 at once and handle the payload in a background task, because Meta
retries (and eventually disables) a webhook that answers slowly.

Outbound: POST {api}/{version}/{phone number id}/messages. Within 24 hours of the person's last
message anything goes; outside, only an approved template (`WHATSAPP_TEMPLATES`).

A resident is their phone number, normalised to +<country><number> (channel "whatsapp").
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
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
    Unreachable,
)
from bot.config_whatsapp import WhatsAppSettings
from bot.delivery.replies import ReplyRescue
from handlers.common import words_of
from handlers.dispatch import Dispatcher, KeyedLocks, Respond, choose_language
from handlers.types import Choice, Document, Incoming, Reply, Translator
from storage import Storage
from storage.clock import utcnow
from storage.whatsapp import DailyLimitReached, WhatsAppRepo

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
WEBHOOK_PATH = "/webhooks/whatsapp"
# Message types carrying something the bot can read; every other type (sticker, image, audio,
# video, document, location, contacts, reaction, unsupported...) gets the polite "text only".
_IGNORED_TYPES = {"system", "request_welcome"}  # not something the person said

# Graph API error codes (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes)
# and what the delivery worker should do about them.
_RATE_LIMIT_SECONDS = {
    4: 60.0,  # too many API calls for the app
    80007: 60.0,  # WhatsApp Business Account rate limit
    130429: 1.0,  # throughput of our number exceeded
    131048: 600.0,  # spam rate limit: Meta wants us to slow down markedly
    131056: 6.0,  # too many messages to the same person (about one per 6 s is allowed)
}
_OUTSIDE_WINDOW = {131047}  # re-engagement message: more than 24 h since the person wrote
_UNREACHABLE = {
    131026,  # undeliverable: not on WhatsApp, old app, or the person blocked us
    131050,  # the person stopped marketing messages from us
    131021,  # the recipient is our own number
}
_TRANSIENT = {1, 2, 131000, 131016, 133004}  # unknown / service unavailable / try again

Clock = Callable[[], datetime]


class WhatsAppDailyLimit(Deferred):
    """The business reached its limit of people contacted outside their window (250 per rolling
    24 hours for a new business). Retry this row after `retry_after` seconds, when the oldest
    counted person leaves the period. Rows inside a person's window are not limited, so only this
    row waits; the channel is not paused."""


def normalise_phone(raw: str) -> str:
    """+<digits>, the identity of a WhatsApp resident. Meta sends wa_id without the plus sign;
    people and staff lists write 0812... (Indonesian national form) or +62 812-..."""
    digits = "".join(c for c in raw if c.isdigit())
    if raw.strip().startswith("0") and not raw.strip().startswith("00"):
        digits = "62" + digits[1:]  # a national number: Indonesia is the only country we serve
    elif raw.strip().startswith("00"):
        digits = digits[2:]
    if not 8 <= len(digits) <= 15:
        raise ValueError(f"not a phone number: {raw!r}")
    return "+" + digits


def language_hint(phone: str) -> str:
    """WhatsApp does not tell us the person's language; an Indonesian number most likely reads
    Indonesian, anyone else is greeted in English until they choose."""
    return "id" if phone.startswith("+62") else "en"


def signature_valid(body: bytes, header: str | None, secret: str) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    # Bytes, not str: compare_digest refuses non-ASCII str, and a header can carry anything.
    return hmac.compare_digest(expected, header.removeprefix("sha256=").encode())


class TokenBucket:
    """At most `rate` sends per second from our number, with bursts up to one second's worth.

    Replies to someone chatting now (`urgent`) take a free token before any outbox send does, so
    a large announcement never makes the person using the bot wait behind it. Kept small and
    local on purpose: the delivery branch has its own limiter for the outbox."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = max(rate, 1.0)
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._stamp = clock()
        self._urgent_waiting = 0

    async def acquire(self, *, urgent: bool = False) -> None:
        if urgent:
            self._urgent_waiting += 1
        try:
            while True:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                # The tolerance stops float rounding (0.999...) from asking for ever-tinier sleeps.
                if self._tokens >= 1 - 1e-9 and (urgent or self._urgent_waiting == 0):
                    self._tokens = max(self._tokens - 1, 0.0)
                    return
                # No await between the check above and taking the token, so no other coroutine
                # can take it in between; a bulk sender yielding to replies waits one token's time.
                await self._sleep(max(1 - self._tokens, 1e-3) / self.rate)
        finally:
            if urgent:
                self._urgent_waiting -= 1


class GraphApi:
    """The two Cloud API calls we make: send a message, upload a document."""

    def __init__(self, settings: WhatsAppSettings, session: aiohttp.ClientSession) -> None:
        self._base = f"{settings.api_url}/{settings.api_version}/{settings.phone_number_id}"
        self._headers = {"Authorization": f"Bearer {settings.token.get()}"}
        self._session = session

    async def send(self, to: str, message: dict[str, Any]) -> str:
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to.lstrip("+"),
            **message,
        }
        data = await self._call("messages", json=body)
        try:
            return str(data["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise TransientError(f"unexpected answer from the Graph API: {data!r}") from None

    async def upload(self, document: Document) -> str:
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", document.mime_type)
        form.add_field(
            "file", document.content, filename=document.filename, content_type=document.mime_type
        )
        data = await self._call("media", data=form)
        if not isinstance(data.get("id"), str):
            raise TransientError(f"unexpected answer to a media upload: {data!r}")
        return str(data["id"])

    async def _call(self, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self._session.post(
                f"{self._base}/{path}", headers=self._headers, **kwargs
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
    if code in _RATE_LIMIT_SECONDS or status == 429:
        seconds = _RATE_LIMIT_SECONDS.get(code, 1.0) if code is not None else 1.0
        if retry_after and retry_after.isdigit():
            seconds = float(retry_after)
        return RateLimited(seconds, detail)
    if code in _OUTSIDE_WINDOW:
        return OutsideWindow(detail)
    if code in _UNREACHABLE:
        return Unreachable(detail)
    if code in _TRANSIENT or status >= 500:
        return TransientError(detail)
    if code in (0, 190) or status == 401:
        log.error("the Graph API refused our token; check WHATSAPP_TOKEN (%s)", detail)
    return PermanentError(detail)


class WhatsAppSender:
    """Implements bot.channels.base.ChannelSender for WhatsApp.

    Raises, for the delivery worker: OutsideWindow (window closed and no template for the row's
    kind: hold the row), WhatsAppDailyLimit (a Deferred: retry this row after retry_after),
    RateLimited, Unreachable, TransientError, PermanentError (see graph_error)."""

    channel = CHANNEL

    def __init__(
        self,
        settings: WhatsAppSettings,
        api: GraphApi,
        repo: WhatsAppRepo,
        translator: Translator,
        *,
        clock: Clock = utcnow,
        bucket: TokenBucket | None = None,
    ) -> None:
        self.settings = settings
        self.api = api
        self.repo = repo
        self.translator = translator
        self.clock = clock
        self.bucket = bucket or TokenBucket(settings.throughput)

    async def send(self, message: Outbound) -> str | None:
        try:
            phone = normalise_phone(message.recipient)
        except ValueError as exc:
            raise PermanentError(str(exc)) from exc
        now = self.clock()
        if await self.repo.in_window(phone=phone, now=now):
            return await self.deliver(
                phone, message.text, message.choices, message.document, message.language
            )
        template = self.settings.templates.get(message.kind)
        if template is None:
            raise OutsideWindow(
                f"{phone}: last message over 24 hours ago and no template for {message.kind!r}"
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
        )
        try:
            added = await self.repo.reserve_outside_reach(
                phone=phone, now=now, limit=self.settings.daily_limit
            )
        except DailyLimitReached as exc:
            wait = max((exc.frees_at - now).total_seconds(), 1.0)
            raise WhatsAppDailyLimit(wait, str(exc)) from exc
        try:
            await self.bucket.acquire()
            return await self.api.send(phone, body)
        except SendError:
            if added:  # nobody was reached, so the place goes back to the day's allowance
                await self.repo.release_outside_reach(phone=phone)
            raise

    async def deliver(
        self,
        phone: str,
        text: str,
        choices: tuple[Choice, ...],
        document: Document | None,
        language: str,
        *,
        urgent: bool = False,
    ) -> str | None:
        """Free-form delivery (inside the window); the id of the last message sent. `urgent`:
        an answer to someone chatting now, served before outbox rows."""
        texts = self.list_texts(language, total=len(choices))
        messages: list[dict[str, Any]] = []
        if document is not None:
            await self.bucket.acquire(urgent=urgent)
            media_id = await self.api.upload(document)
            messages.append(render.document_message(media_id, document.filename, text))
            if choices:
                messages.append(render.choices_message(texts.prompt, choices, texts))
        else:
            messages = render.reply_messages(text, choices, texts)
        if len(choices) > render.MAX_ROWS:
            await self.repo.save_pages(
                phone=phone,
                list_key=render.list_key(choices),
                language=language,
                choices=[(c.label, c.payload) for c in choices],
                now=self.clock(),
            )
        last = None
        for message in messages:
            await self.bucket.acquire(urgent=urgent)
            last = await self.api.send(phone, message)
        return last

    async def send_page(
        self, phone: str, choices: tuple[Choice, ...], language: str, page: int
    ) -> None:
        texts = self.list_texts(language, total=len(choices), page=page)
        await self.bucket.acquire(urgent=True)
        await self.api.send(
            phone, render.choices_message(texts.more_body, choices, texts, page=page)
        )
        await self.repo.show_page(
            phone=phone, list_key=render.list_key(choices), page=page, now=self.clock()
        )

    def list_texts(self, language: str, *, total: int, page: int = 0) -> render.ListTexts:
        t = self.translator.text
        first, last = render.page_range(page + 1, total)
        return render.ListTexts(
            button=t(language, "whatsapp.list_button"),
            section=t(language, "whatsapp.section"),
            prompt=t(language, "whatsapp.prompt"),
            more=t(language, "whatsapp.more"),
            more_description=t(
                language, "whatsapp.more_description", first=first, last=last, total=total
            ),
            more_body=t(
                language, "whatsapp.more_body", page=page + 1, pages=render.page_count(total)
            ),
        )


class WhatsAppChannel:
    """The webhook side: verification, signature check, dedupe, receipts, dispatch."""

    def __init__(
        self,
        settings: WhatsAppSettings,
        dispatcher: Dispatcher,
        translator: Translator,
        storage: Storage,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.dispatcher = dispatcher
        self.translator = translator
        self.storage = storage
        self.repo = WhatsAppRepo(storage.db)
        self.clock = clock
        self._http: aiohttp.ClientSession | None = None
        self._sender: WhatsAppSender | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._turns: KeyedLocks[str] = KeyedLocks()
        # Set by `pustaka run`: where replies the Graph API did not take wait (the outbox).
        self.rescue: ReplyRescue | None = None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        api = GraphApi(self.settings, self._http)
        self._sender = WhatsAppSender(
            self.settings, api, self.repo, self.translator, clock=self.clock
        )

    async def close(self) -> None:
        """Finish what was acknowledged to Meta (it will not send it again), then close."""
        await self.drain()
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
        task = asyncio.create_task(self._process(payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(text="ok")

    async def _process(self, payload: dict[str, Any]) -> None:
        for value in _values(payload):
            # One Meta app can serve several numbers; another number's messages are not ours to
            # answer (we would answer from the wrong number).
            number_id = _get(value, "metadata", "phone_number_id")
            if number_id is not None and str(number_id) != self.settings.phone_number_id:
                log.info("webhook for phone number id %s ignored", number_id)
                continue
            # value["contacts"][].profile.name is deliberately not read: a name is personal data
            # and is only stored after consent, through the core's own flow.
            for status in _dicts(value.get("statuses")):
                await self._guarded(self._status(status))
            for message in _dicts(value.get("messages")):
                await self._guarded(self._message(message))
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
        if errors:
            first = errors[0]
            error = f"{first.get('code')} {first.get('title') or first.get('message') or ''}"
        await self.repo.record_status(
            external_id=external_id,
            status=str(state),
            at=_moment(status.get("timestamp"), self.clock()),
            error=error.strip() if error else None,
        )

    async def _message(self, message: dict[str, Any]) -> None:
        message_id, sender, kind = message.get("id"), message.get("from"), message.get("type")
        if not isinstance(message_id, str) or not isinstance(sender, str):
            log.warning("WhatsApp message without id or sender ignored")
            return
        try:
            phone = normalise_phone(sender)
        except ValueError:
            log.warning("WhatsApp message from %r (not a phone number) ignored", sender[:40])
            return
        # Taken before the first await, so one person's messages are handled in arrival order.
        async with self._turns.turn(phone):
            now = self.clock()
            if not await self.repo.claim_message(message_id=message_id, now=now):
                log.info("duplicate WhatsApp message %s ignored", message_id)
                return
            if kind in _IGNORED_TYPES:
                return
            await self.repo.record_inbound(
                phone=phone, at=min(_moment(message.get("timestamp"), now), now)
            )
            await self._dispatch(phone, message)

    async def _dispatch(self, phone: str, message: dict[str, Any]) -> None:
        hint = language_hint(phone)
        kind = message.get("type")
        incoming: Incoming
        if kind == "text":
            text = str(_get(message, "text", "body") or "")
            if await self._typed_in_list(phone, text, hint):
                return
            incoming = Incoming.from_text(
                channel=CHANNEL, user_id=phone, text=text, language_hint=hint
            )
        elif kind == "interactive":
            reply = _get(message, "interactive", "button_reply") or _get(
                message, "interactive", "list_reply"
            )
            payload = reply.get("id") if isinstance(reply, dict) else None
            if not isinstance(payload, str) or not payload:
                incoming = Incoming(CHANNEL, phone, media="interactive", language_hint=hint)
            elif payload.startswith(render.MORE_PREFIX):
                await self._more(phone, payload, hint)
                return
            else:
                incoming = Incoming(CHANNEL, phone, payload=payload, language_hint=hint)
        elif kind == "button":  # a quick-reply button of a template
            payload = _get(message, "button", "payload") or _get(message, "button", "text")
            if isinstance(payload, str) and payload:
                incoming = Incoming(CHANNEL, phone, payload=payload, language_hint=hint)
            else:
                incoming = Incoming(CHANNEL, phone, media="button", language_hint=hint)
        else:
            incoming = Incoming(CHANNEL, phone, media=str(kind or "unknown"), language_hint=hint)
        await self.dispatcher.handle(incoming, self._responder(phone, hint))

    async def _more(self, phone: str, payload: str, hint: str) -> None:
        """The "Lainnya" row of a long list: show its next page, from the stored list."""
        key, _, page_text = payload.removeprefix(render.MORE_PREFIX).partition(":")
        pages = await self.repo.load_pages(phone=phone)
        choices = tuple(Choice(label, p) for label, p in pages.choices) if pages else ()
        page = int(page_text) if page_text.isdigit() else -1
        if (
            pages is None
            or pages.list_key != key
            or render.list_key(choices) != key
            or not 0 < page < render.page_count(len(choices))
        ):
            # An old list: the core gives its usual "this menu has expired" answer.
            stale = Incoming(CHANNEL, phone, payload="~more", language_hint=hint)
            await self.dispatcher.handle(stale, self._responder(phone, hint))
            return
        await self.sender.send_page(phone, choices, pages.language, page)

    async def _typed_in_list(self, phone: str, text: str, hint: str) -> bool:
        """Typing in a paged list acts on what is on the screen, as tapping would: "Lainnya" /
        "More" (or the number of that row) shows the next page, and a row's number counted on
        the page shown picks that row. Only while that list is the last thing the bot offered;
        anything else (and numbers on the first page, which mean the same either way) is left to
        the core's usual matching of typed choices."""
        words = words_of(text)
        if not words or text.lstrip().startswith("/"):
            return False
        pages = await self.repo.load_pages(phone=phone)
        if pages is None:
            return False
        session = await self.storage.sessions.load(channel=CHANNEL, external_id=phone)
        shown = session.state.get("choices")
        if not isinstance(shown, list) or [str(c[1]) for c in shown if c] != [
            payload for _, payload in pages.choices
        ]:
            return False  # another reply has replaced the list since
        choices = tuple(Choice(label, payload) for label, payload in pages.choices)
        start = pages.page * render.PAGE_ROWS
        on_page = choices[start : start + render.PAGE_ROWS]
        more = pages.page + 1 < render.page_count(len(choices))
        more_words = {
            words_of(self.translator.text(lang, "whatsapp.more")) for lang in ("id", "en")
        }
        if more and (words in more_words or words == str(len(on_page) + 1)):
            await self.sender.send_page(phone, choices, pages.language, pages.page + 1)
            return True
        if pages.page > 0 and words.isdigit() and 1 <= int(words) <= len(on_page):
            payload = on_page[int(words) - 1].payload
            tapped = Incoming(CHANNEL, phone, payload=payload, language_hint=hint)
            await self.dispatcher.handle(tapped, self._responder(phone, hint))
            return True
        return False

    def _responder(self, phone: str, hint: str) -> Respond:
        async def respond(replies: list[Reply]) -> None:
            language = await self._language(phone, hint)
            for index, reply in enumerate(replies):
                try:
                    await self.sender.deliver(
                        phone, reply.text, reply.choices, reply.document, language, urgent=True
                    )
                except (TransientError, RateLimited) as exc:
                    # Retrying here would hold up their next message: this reply and the ones
                    # after it wait in the outbox instead (bot/delivery/replies.py).
                    log.warning("could not answer %s on WhatsApp now: %s", phone, exc)
                    if self.rescue is not None:
                        for later in replies[index:]:
                            await self.rescue.keep(
                                channel=CHANNEL, recipient=phone, reply=later, language=language
                            )
                    return
                except SendError as exc:
                    log.warning("could not answer %s on WhatsApp: %s", phone, exc)
                    return

        return respond

    async def _language(self, phone: str, hint: str) -> str:
        """The language the core just answered in, chosen the way the core chooses it."""
        session, resident = await self.storage.sessions.load_with_resident(
            channel=CHANNEL, external_id=phone
        )
        return choose_language(resident.language if resident else None, session.state, hint)


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _values(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The `value` of every change of every entry (field "messages"), skipping anything odd."""
    found = []
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field", "messages") == "messages" and isinstance(value, dict):
                found.append(value)
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
