"""Outbox rows as SMS: the same kinds, in short GSM-7 texts that fit one 160-character segment
where possible (each segment is paid for), with keywords instead of buttons.

A row is an SMS copy when its params carry `sms` ("self": the resident's own verified number;
"neighbour": a number a kader gave for someone they registered). bot/notifications/render picks
these renderers for such rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.channels.gsm7 import segments, to_gsm7
from bot.notifications import Rendered, Renderer
from handlers.common import clip
from handlers.types import Translator
from storage import Storage
from storage.models import Event

SMS_RENDERERS: dict[str, Renderer] = {}


def _sms(kind: str) -> Callable[[Renderer], Renderer]:
    def register(function: Renderer) -> Renderer:
        SMS_RENDERERS[kind] = function
        return function

    return register


def one_segment(
    translator: Translator, language: str, key: str, shrink: dict[str, str], **fixed: str
) -> str:
    """The catalog text with `shrink` values cut (longest first) until it fits one segment, or
    nothing is left worth cutting."""
    values = dict(shrink)
    while True:
        text = to_gsm7(translator.text(language, key, **fixed, **values))
        if segments(text) <= 1:
            return text
        longest = max(values, key=lambda name: len(values[name]), default=None)
        if longest is None or len(values[longest]) <= 12:
            return text
        value = values[longest]
        values[longest] = clip(value, max(len(value) - max(len(value) // 5, 4), 12))


def _place(event: Event) -> str:
    return f"{event.place}, {event.library_name}" if event.place else event.library_name


async def _name(storage: Storage, params: dict[str, Any]) -> str:
    registration_id = params.get("registration_id")
    if registration_id is None:
        return "-"
    registration = await storage.registrations.get(registration_id=int(registration_id))
    return registration.name or "-"


async def _event_text(
    key: str, params: dict[str, Any], language: str, translator: Translator, storage: Storage
) -> Rendered:
    event = await storage.events.get(event_id=int(params["event_id"]))
    neighbour = params.get("sms") == "neighbour"
    fixed = {"name": await _name(storage, params)} if neighbour else {}
    if neighbour and f"{key}_neighbour" in _KEYS_WITH_NEIGHBOUR:
        key = f"{key}_neighbour"
    text = one_segment(
        translator,
        language,
        f"sms.{key}",
        {"title": event.title, "place": _place(event)},
        when=translator.when(language, event.starts_at),
        **fixed,
    )
    return Rendered(text)


_KEYS_WITH_NEIGHBOUR = {"reminder_neighbour", "promotion_neighbour"}


@_sms("reminder")
async def reminder(
    params: dict[str, Any], language: str, translator: Translator, storage: Storage
) -> Rendered:
    return await _event_text("reminder", params, language, translator, storage)


@_sms("promotion")
async def promotion(
    params: dict[str, Any], language: str, translator: Translator, storage: Storage
) -> Rendered:
    if "event_id" not in params:
        registration = await storage.registrations.get(
            registration_id=int(params["registration_id"])
        )
        params = {**params, "event_id": registration.event_id}
    return await _event_text("promotion", params, language, translator, storage)


@_sms("event_changed")
async def event_changed(
    params: dict[str, Any], language: str, translator: Translator, storage: Storage
) -> Rendered:
    return await _event_text("event_changed", params, language, translator, storage)


@_sms("event_cancelled")
async def event_cancelled(
    params: dict[str, Any], language: str, translator: Translator, storage: Storage
) -> Rendered:
    return await _event_text("event_cancelled", params, language, translator, storage)


@_sms("sms_code")
async def code(
    params: dict[str, Any], language: str, translator: Translator, storage: Storage
) -> Rendered:
    return Rendered(to_gsm7(translator.text(language, "sms.code", code=str(params["code"]))))
