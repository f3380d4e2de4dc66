"""Turning an outbox row into words, in the recipient's language, at delivery time.

Producers inside a storage transaction (a promotion from the waitlist, an event cancelled) cannot
reach the catalogs, so they write only `kind` and `params`; the delivery worker renders such rows
here just before sending. Rows produced with a finished text (an announcement) skip this.
Each feature registers its kinds in its own module below.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from handlers.types import Choice, Translator
from storage import Storage


@dataclass(frozen=True, slots=True)
class Rendered:
    """The row in words. `params` are the same facts as short, ready-to-read texts (event, when,
    place) for channels that must send an approved template instead of `text` (WhatsApp outside
    the 24-hour window); the worker passes them on as `Outbound.params`."""

    text: str
    choices: tuple[Choice, ...] = ()
    params: dict[str, str] = field(default_factory=dict)


Renderer = Callable[[dict[str, Any], str, Translator, Storage], Awaitable[Rendered]]
RENDERERS: dict[str, Renderer] = {}


def renderer(kind: str) -> Callable[[Renderer], Renderer]:
    def register(function: Renderer) -> Renderer:
        if kind in RENDERERS:
            raise ValueError(f"two renderers for {kind!r}")
        RENDERERS[kind] = function
        return function

    return register


async def render(
    kind: str, params: dict[str, Any], language: str, translator: Translator, storage: Storage
) -> Rendered:
    """Raises KeyError for a kind nobody registered: a programming error, not bad input. A row
    copied to SMS (params `sms`, see storage/sms.py) gets its short SMS text."""
    if params.get("sms"):
        return await SMS_RENDERERS[kind](params, language, translator, storage)
    return await RENDERERS[kind](params, language, translator, storage)


# Feature modules register their kinds on import; kept at the bottom because they import this one.
from bot.notifications import registration as _registration  # noqa: E402, F401
from bot.notifications import staff as _staff  # noqa: E402, F401
from bot.notifications.sms import SMS_RENDERERS  # noqa: E402
