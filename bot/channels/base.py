"""What every channel's sender offers the delivery worker, and the failures it may report.

The outbox worker and the interactive reply path both send through a `ChannelSender`; the errors
tell the worker what to do with the row: pause the channel, stop writing to a person, retry later,
or hold the row (WhatsApp outside the 24-hour window with no template for its kind).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from handlers.types import Choice, Document


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
