"""What every channel's sender offers the delivery worker, and the failures it may report.

The outbox worker and the interactive reply path both send through a `ChannelSender`; the errors
tell the worker what to do with the row: pause the channel, stop writing to a person, retry later,
or hold the row (WhatsApp outside the 24-hour window with no template for its kind).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.delivery.limits import ChannelLimiter
from handlers.types import Capabilities, Choice, Document

if TYPE_CHECKING:
    from aiohttp import web


class SendError(Exception):
    """Base of the failures a sender reports."""


class RateLimited(SendError):
    """The platform asked us to slow down: pause this channel for `retry_after` seconds."""

    def __init__(self, retry_after: float, detail: str = "") -> None:
        super().__init__(detail or f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after


class Deferred(SendError):
    """This message cannot go yet, though the channel can (WhatsApp's daily limit of people
    reached outside their window): retry this row after `retry_after` seconds, pause nothing."""

    def __init__(self, retry_after: float, detail: str = "") -> None:
        super().__init__(detail or f"deferred for {retry_after}s")
        self.retry_after = retry_after


class Unreachable(SendError):
    """The person blocked the bot or deleted their account: stop sending until they write."""


class TransientError(SendError):
    """Network trouble or a 5xx: retry with backoff."""


class PermanentError(SendError):
    """The platform refused this message for good (bad request): fail the row with the reason."""


class OutsideWindow(SendError):
    """WhatsApp: the person's 24-hour window is closed and no template serves this kind."""


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message to one recipient on one channel."""

    recipient: str
    text: str
    choices: tuple[Choice, ...] = ()
    document: Document | None = None
    photo: str | None = None  # a channel file id; the text is its caption
    # reply (interactive) | reminder | promotion | event_changed | event_cancelled | announcement
    kind: str = "reply"
    language: str = "id"
    params: dict[str, Any] = field(default_factory=dict)  # template parameters (WhatsApp)


class ChannelSender(Protocol):
    channel: str

    async def send(self, message: Outbound) -> str | None:
        """Deliver one message; return the platform's message id if it gives one."""
        ...


class Channel(Protocol):
    """One messaging platform, as `pustaka run` starts it (bot/serve.py, bot/wiring.py).

    `capabilities` travel on every Incoming the channel makes, so the core fits its replies to
    them; `limiter` is the channel's one limiter, shared by its replies (first) and everything
    else sent on it (outbox rows, progress messages); `sender` delivers one message; `routes` are
    its webhooks on the shared HTTP server (none for a channel that polls)."""

    name: str
    capabilities: Capabilities
    limiter: ChannelLimiter

    @property
    def sender(self) -> ChannelSender: ...

    def routes(self) -> Sequence[web.RouteDef]: ...

    async def start(self) -> None:
        """Ready to receive and send (called before the HTTP server listens)."""
        ...

    async def stop(self) -> None:
        """Finish what was received and release connections (after delivery stopped)."""
        ...
