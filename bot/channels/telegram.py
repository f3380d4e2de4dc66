"""Telegram: python-telegram-bot updates in, channel-neutral replies out as inline keyboards.

The only module (with the rest of bot/channels/) that imports `telegram`.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    MessageOriginUser,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import metrics
from bot.channels.base import (
    Outbound,
    PermanentError,
    RateLimited,
    TransientError,
    Unreachable,
)
from bot.channels.textsplit import split_text
from bot.config import Settings
from bot.delivery.limits import INTERACTIVE, ChannelLimiter, LimiterClosed
from bot.delivery.replies import ReplyRescue
from handlers.dispatch import Dispatcher, Respond
from handlers.types import Choice, Incoming, Reply, Translator

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_MESSAGE_CHARS = 4096
# Labels this short fit two to a row on a phone screen.
_SHORT_LABEL = 18


def keyboard(choices: Sequence[Choice]) -> InlineKeyboardMarkup | None:
    return _keyboard(tuple(choices)) if choices else None


class _Keyboard(InlineKeyboardMarkup):
    """An inline keyboard that serialises itself once: PTB calls to_dict() on every send, and a
    menu of a dozen buttons costs a hundred microseconds each time."""

    __slots__ = ("_as_dict",)

    def __init__(self, rows: list[list[InlineKeyboardButton]]) -> None:
        super().__init__(rows)
        self._as_dict = super().to_dict()

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        return dict(self._as_dict)


# The same menus are sent over and over and PTB's markup objects are immutable: build each once.
@functools.lru_cache(maxsize=2048)
def _keyboard(choices: tuple[Choice, ...]) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    for choice in choices:
        button = InlineKeyboardButton(choice.label, callback_data=choice.payload)
        last = rows[-1] if rows else None
        if (
            last is not None
            and len(last) == 1
            and len(choice.label) <= _SHORT_LABEL
            and len(last[0].text) <= _SHORT_LABEL
        ):
            last.append(button)
        else:
            rows.append([button])
    return _Keyboard(rows)


class TelegramChannel:
    def __init__(
        self,
        settings: Settings,
        dispatcher: Dispatcher,
        translator: Translator,
        limiter: ChannelLimiter | None = None,
        rescue: ReplyRescue | None = None,
    ) -> None:
        self.settings = settings
        self.dispatcher = dispatcher
        self.translator = translator
        # Shared with the outbox worker: replies take the same tokens, ahead of bulk rows.
        self.limiter = limiter
        # Where a reply the Bot API did not take goes instead of being dropped (the outbox).
        self.rescue = rescue

    def build(
        self,
        *,
        request: BaseRequest | None = None,
        updates_request: BaseRequest | None = None,
    ) -> Application:  # type: ignore[type-arg]
        if self.settings.telegram_token is None:
            raise ValueError("Telegram is not configured")
        api = self.settings.telegram_api_url
        builder = (
            ApplicationBuilder()
            .token(self.settings.telegram_token.get())
            .base_url(f"{api}/bot")
            .base_file_url(f"{api}/file/bot")
            # Different people are served at once; one person's messages stay in order because the
            # dispatcher holds a turn per person.
            .concurrent_updates(256)
            .job_queue(None)
        )
        if request is None:
            # Every concurrent update may be sending while the outbox worker sends too; with
            # PTB's 1 s pool timeout a slow Bot API made "Pool timeout: All connections in the
            # connection pool are occupied" errors. Waiting longer for a connection is right
            # (the limiter already paces sends); what still times out is kept (ReplyRescue).
            builder = builder.connection_pool_size(_POOL_SIZE).pool_timeout(_POOL_TIMEOUT)
        if request is not None:
            builder = builder.request(request)
        if updates_request is not None:
            builder = builder.get_updates_request(updates_request)
        app = builder.build()
        self.register(app)
        return app

    def register(self, app: Application) -> None:  # type: ignore[type-arg]
        # Order matters: buttons first, then text (commands included), then anything else a
        # person can send (stickers, photos, voice notes), which gets a polite "text only".
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.UpdateType.EDITED, self.on_text))
        app.add_handler(
            MessageHandler(
                ~filters.TEXT & ~filters.UpdateType.EDITED & ~filters.StatusUpdate.ALL,
                self.on_other,
            )
        )
        app.add_error_handler(self.on_error)

    async def register_commands(self, app: Application) -> None:  # type: ignore[type-arg]
        """The command menu, Indonesian by default and English for English clients."""
        try:
            await app.bot.set_my_commands(
                [BotCommand(*entry) for entry in self.dispatcher.command_menu("id")]
            )
            await app.bot.set_my_commands(
                [BotCommand(*entry) for entry in self.dispatcher.command_menu("en")],
                language_code="en",
            )
        except TelegramError as exc:
            log.warning("could not register the command menu: %s", exc)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or message.text is None:
            return
        incoming = Incoming.from_text(
            channel=CHANNEL,
            user_id=str(user.id),
            text=message.text,
            language_hint=user.language_code,
        )
        incoming = replace(
            incoming, username=user.username, forwarded_from=_forwarded_from(message)
        )
        await self.dispatcher.handle(incoming, self._responder(context, message.chat_id))

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        # A photo keeps its largest size's file id and caption: the announcement flow accepts one.
        photo = message.photo[-1].file_id if message.photo else None
        incoming = Incoming(
            CHANNEL,
            str(user.id),
            text=(message.caption or "").strip() if photo else "",
            media="photo" if photo else "media",
            photo=photo,
            language_hint=user.language_code,
            username=user.username,
        )
        await self.dispatcher.handle(incoming, self._responder(context, message.chat_id))

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        # Every callback query is answered, or the button keeps spinning on the phone.
        try:
            await query.answer()
        except TelegramError as exc:
            log.info("could not answer callback query: %s", exc)
        chat_id = query.message.chat.id if query.message is not None else user.id
        incoming = Incoming(
            CHANNEL,
            str(user.id),
            payload=query.data or "?",
            language_hint=user.language_code,
            username=user.username,
        )
        tapped = query.message.message_id if query.message is not None else None
        await self.dispatcher.handle(incoming, self._responder(context, chat_id, tapped))

    def _responder(
        self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, tapped: int | None = None
    ) -> Respond:
        started = time.monotonic()

        async def respond(replies: list[Reply]) -> None:
            for index, reply in enumerate(replies):
                try:
                    await self._send_now(context.bot, chat_id, reply, tapped)
                except BadRequest:
                    metrics.reply(CHANNEL, "failed")
                    raise  # the reply itself is wrong: the error handler tells the person
                except (NetworkError, RetryAfter, LimiterClosed) as exc:
                    # The API blinked (5xx, timeout, pool timeout, 429 past its retries) or we
                    # are shutting down: this reply and the ones after it, in order, wait in
                    # the outbox instead of being dropped.
                    if self.rescue is None:
                        metrics.reply(CHANNEL, "failed")
                        raise
                    log.warning("reply to %s kept for later: %r", chat_id, exc)
                    for later in replies[index:]:
                        await self.rescue.keep(
                            channel=CHANNEL, recipient=str(chat_id), reply=later, language="id"
                        )
                        metrics.reply(CHANNEL, "deferred")
                    return
                metrics.reply(CHANNEL, "sent", started)

        return respond

    async def _send_now(
        self, bot: Bot, chat_id: int, reply: Reply, tapped: int | None = None
    ) -> None:
        """A reply to someone chatting now: first in line for the channel's tokens; a 429
        pauses the channel (bulk delivery too) and this reply is tried again after it."""
        if self.limiter is None:
            await send_reply(bot, chat_id, reply, edit_message_id=tapped)
            return
        for attempt in range(_INTERACTIVE_TRIES):
            await self.limiter.acquire(str(chat_id), priority=INTERACTIVE, cost=message_cost(reply))
            try:
                await send_reply(bot, chat_id, reply, edit_message_id=tapped)
                return
            except RetryAfter as exc:
                self.limiter.pause(retry_seconds(exc))
                metrics.rate_limited(CHANNEL)
                if attempt == _INTERACTIVE_TRIES - 1:
                    raise

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling %r", update, exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            user = update.effective_user
            text = self.dispatcher.error_text(user.language_code if user else None)
            try:
                await context.bot.send_message(update.effective_chat.id, text)
            except TelegramError:
                log.warning("could not tell chat %s about the error", update.effective_chat.id)


def _forwarded_from(message: Message) -> str | None:
    """The person behind a forwarded message, or behind the forwarded message this one replies
    to (an admin answers a forward with /beriperan). Hidden when their privacy settings say so."""
    for candidate in (message, message.reply_to_message):
        if candidate is not None and isinstance(candidate.forward_origin, MessageOriginUser):
            return str(candidate.forward_origin.sender_user.id)
    return None


async def send_reply(
    bot: Bot, chat_id: int | str, reply: Reply, *, edit_message_id: int | None = None
) -> int:
    """Render one reply: text split under 4096 characters, choices on the last part. Returns
    the id of the last message sent (or edited)."""
    if reply.edit and edit_message_id is not None and reply.photo is None:
        try:
            await bot.edit_message_text(
                reply.text[:MAX_MESSAGE_CHARS],
                chat_id=chat_id,
                message_id=edit_message_id,
                reply_markup=keyboard(reply.choices),
            )
            return edit_message_id
        except TelegramError as exc:
            # "message is not modified" or a message too old to edit: send it afresh.
            if "not modified" in str(exc):
                return edit_message_id
            log.info("could not edit message %s: %s", edit_message_id, exc)
    if reply.photo is not None:
        sent = await bot.send_photo(
            chat_id,
            reply.photo,
            caption=reply.text[:1024] or None,
            reply_markup=keyboard(reply.choices),
        )
        return sent.message_id
    if reply.document is not None and reply.document.mime_type.startswith("image/"):
        # A generated picture (a statistics chart) is shown inline, not as a file to open.
        sent = await bot.send_photo(
            chat_id,
            InputFile(reply.document.content, filename=reply.document.filename),
            caption=reply.text[:1024] or None,
            reply_markup=keyboard(reply.choices),
        )
        return sent.message_id
    if reply.document is not None:
        sent = await bot.send_document(
            chat_id,
            InputFile(reply.document.content, filename=reply.document.filename),
            caption=reply.text[:1024] or None,
            reply_markup=keyboard(reply.choices),
        )
        return sent.message_id
    parts = split_text(reply.text, MAX_MESSAGE_CHARS)
    message_id = 0
    for index, part in enumerate(parts):
        markup = keyboard(reply.choices) if index == len(parts) - 1 else None
        message_id = (await bot.send_message(chat_id, part, reply_markup=markup)).message_id
    return message_id


# A reply is tried again after a 429 this many times; past that it waits in the outbox.
_INTERACTIVE_TRIES = 3
# The Bot API connection pool: room for every concurrent update and the outbox worker.
_POOL_SIZE = 512
_POOL_TIMEOUT = 20.0


def message_cost(reply: Reply) -> int:
    """How many Telegram messages one reply becomes (a long text is split)."""
    if reply.document is not None:
        return 1
    return len(split_text(reply.text, MAX_MESSAGE_CHARS))


def retry_seconds(exc: RetryAfter) -> float:
    # The public `retry_after` warns about its coming type change (PTB 22.2); the timedelta
    # behind it is what it will become.
    return float(exc._retry_after.total_seconds())


class TelegramSender:
    """The outbox worker's way to Telegram: one `Outbound` in, python-telegram-bot's errors out
    as the channel-neutral ones in bot/channels/base.py."""

    channel = CHANNEL

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, message: Outbound) -> str | None:
        reply = Reply(message.text, message.choices, message.document, photo=message.photo)
        try:
            if message.kind == "staff_menu":
                await self._set_menu(message)
                return None
            return str(await send_reply(self.bot, message.recipient, reply))
        except RetryAfter as exc:
            raise RateLimited(retry_seconds(exc), str(exc)) from exc
        except Forbidden as exc:
            raise Unreachable(str(exc)) from exc
        except BadRequest as exc:  # before NetworkError: BadRequest is one of its subclasses
            if "chat not found" in str(exc).lower():
                raise Unreachable(str(exc)) from exc
            raise PermanentError(str(exc)) from exc
        except NetworkError as exc:  # 5xx, timeouts, connection trouble
            raise TransientError(str(exc)) from exc
        except TelegramError as exc:  # invalid token, chat migrated, conflict
            raise PermanentError(f"{type(exc).__name__}: {exc}") from exc

    async def _set_menu(self, message: Outbound) -> None:
        """Staff see their commands in this chat's menu (BotCommandScopeChat); someone without a
        role any more gets the default menu back."""
        scope = BotCommandScopeChat(int(message.recipient))
        if message.params.get("staff", "0") == "0":
            await self.bot.delete_my_commands(scope=scope)
            return
        commands = json.loads(message.params["commands"])
        await self.bot.set_my_commands(
            [BotCommand(name, description) for name, description in commands], scope=scope
        )

    async def edit(
        self, recipient: str, message_id: str, text: str, choices: tuple[Choice, ...] = ()
    ) -> None:
        """Replace a message's text (an announcement's progress, redrawn in place)."""
        try:
            await self.bot.edit_message_text(
                text[:MAX_MESSAGE_CHARS],
                chat_id=recipient,
                message_id=int(message_id),
                reply_markup=keyboard(choices),
            )
        except RetryAfter as exc:
            raise RateLimited(retry_seconds(exc), str(exc)) from exc
        except BadRequest as exc:
            if "not modified" not in str(exc):
                raise PermanentError(str(exc)) from exc
        except TelegramError as exc:
            raise TransientError(str(exc)) from exc
