"""The core's single entry point: one incoming message in, replies out.

Messages from one person are handled strictly in order (a lock per chat identity); different
people are served concurrently. State is loaded from and saved to the database on every message,
so nothing of a conversation lives only in this process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Generic, TypeVar

from handlers import paging
from handlers.router import COMMANDS, route
from handlers.textnorm import clean_incoming
from handlers.types import Context, CoreSettings, Handled, Incoming, Reply, Translator
from storage import Storage
from storage.clock import utcnow
from storage.errors import DatabaseBusy

log = logging.getLogger(__name__)

LANGUAGES = ("id", "en")
Respond = Callable[[Handled], Awaitable[None]]
K = TypeVar("K")


class KeyedLocks(Generic[K]):
    """Turns per key (a person): an asyncio.Lock each, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[K, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def turn(self, key: K) -> AsyncIterator[None]:
        """Hold `key`'s turn. The place in line is taken when this is entered, before anything
        awaits, so turns are given in the order they were asked for."""
        held = self._locks.get(key)
        lock, users = held if held is not None else (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class Dispatcher:
    def __init__(
        self,
        storage: Storage,
        translator: Translator,
        settings: CoreSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.storage = storage
        self.translator = translator
        self.settings = settings or CoreSettings()
        self.clock = clock
        self._turns: KeyedLocks[tuple[str, str]] = KeyedLocks()
        self._arrivals: KeyedLocks[tuple[str, str]] = KeyedLocks()
        # Told (channel, outcome: ok | busy | error) after every message; the bot layer counts.
        self.on_handled: Callable[[str, str], None] | None = None

    async def handle(self, incoming: Incoming, respond: Respond | None = None) -> Handled:
        """Handle one message; `respond` sends the replies while this person's turn is still held,
        so two quick taps are answered in the order they were made. The replies come back with
        the language they are in and the choices they show, fitted to the channel's
        capabilities (long lists paged, labels shortened)."""
        incoming = clean_incoming(incoming)  # the one place text is normalised (textnorm.py)
        async with self._turns.turn(incoming.key):
            replies = await self._handle(incoming)
            if respond is not None and replies:
                await respond(replies)
            return replies

    def arrival_turn(self, channel: str, sender: str) -> AbstractAsyncContextManager[None]:
        """For a channel with work of its own before `handle` (dropping a re-delivery, finding
        who wrote): entered the moment a message arrives, before anything awaits, it keeps one
        sender's messages in arrival order up to and through `handle`. A line of its own, so
        `handle`'s turn inside it cannot deadlock."""
        return self._arrivals.turn((channel, sender))

    def command_menu(self, language: str) -> list[tuple[str, str]]:
        """(command, description) of the commands a platform's menu lists, in `language`."""
        english = language == "en"
        return [
            (en if english else ind, self.translator.text(language, key))
            for ind, en, _, key in COMMANDS
        ]

    def error_text(self, language_hint: str | None) -> str:
        """What to say when the channel itself failed before the core could answer."""
        return self.translator.text(choose_language(None, {}, language_hint), "common.error")

    async def _handle(self, incoming: Incoming) -> Handled:
        """The one error handler of the core: whatever fails, the person hears it in their
        language and nothing half-done is kept (state is saved only after the handler ran)."""
        language = choose_language(None, {}, incoming.language_hint)
        try:
            session, resident = await self.storage.sessions.load_with_resident(
                channel=incoming.channel, external_id=incoming.user_id
            )
            if resident is not None and resident.unreachable:
                # Someone the platform reported as unreachable (blocked the bot) wrote again.
                await self.storage.outbox.reachable_again(
                    channel=incoming.channel, external_id=incoming.user_id, now=self.clock()
                )
            language = choose_language(
                resident.language if resident else None, session.state, incoming.language_hint
            )
            if (
                incoming.username
                and resident is not None
                and resident.has_consent
                and session.state.get("username") != incoming.username.casefold()
            ):
                # Admins name people by @username when granting roles; it is kept here, saved
                # only when it changes, and only for people who agreed to the privacy notice:
                # before that nothing beyond the chat id is stored (UU PDP).
                session.state["username"] = incoming.username.casefold()
            ctx = Context(
                incoming=incoming,
                storage=self.storage,
                translator=self.translator,
                settings=self.settings,
                session=session,
                resident=resident,
                language=language,
                now=self.clock(),
            )
            if paging.is_page_turn(ctx.incoming.payload):
                paging.show_page(ctx)
            else:
                await route(ctx)  # typed "Lainnya" or its number turns the page there
            turned = paging.is_page_turn(ctx.incoming.payload)
            language = ctx.language
            replies = paging.fit(ctx, turned=turned)
            # Remember the last choices so "2", a button's words or what it means ("iya",
            # "cewek", "40") pick one on every channel (handlers/understand.py).
            shown = tuple(c for reply in replies for c in reply.choices)
            if shown:
                session.state["choices"] = [
                    [c.label, c.payload, c.means] if c.means else [c.label, c.payload]
                    for c in shown
                ]
            else:
                session.state.pop("choices", None)
            await self.storage.sessions.save(session, now=ctx.now)  # only if it changed
            self._handled(incoming, "ok")
            return Handled(replies, language=language, shown=shown)
        except DatabaseBusy:
            log.warning("database busy while handling %s", incoming)
            self._handled(incoming, "busy")
            return Handled(
                [Reply(self.translator.text(language, "common.busy"))], language=language
            )
        except Exception:
            log.exception("handler failed for %s", incoming)
            self._handled(incoming, "error")
            return Handled(
                [Reply(self.translator.text(language, "common.error"))], language=language
            )

    def _handled(self, incoming: Incoming, outcome: str) -> None:
        if self.on_handled is not None:
            self.on_handled(incoming.channel, outcome)


def choose_language(stored: str | None, state: dict[str, object], hint: str | None) -> str:
    """The language to answer in: the resident's stored choice, else the one picked during
    onboarding (kept in the session), else the client's, else Indonesian."""
    for candidate in (stored, state.get("lang"), (hint or "")[:2]):
        if candidate in LANGUAGES:
            return str(candidate)
    return "id"
