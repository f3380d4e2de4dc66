"""Renderers for staff rows: the final report of an announcement to its author."""

from __future__ import annotations

from typing import Any

from bot.notifications import Rendered, renderer
from handlers.types import Translator
from storage import Storage


@renderer("broadcast_report")
async def broadcast_report(
    params: dict[str, Any], language: str, translator: Translator, storage: Storage
) -> Rendered:
    def number(key: str) -> str:
        return translator.number(language, int(params.get(key, 0)))

    return Rendered(
        translator.text(
            language,
            "staff.bc.report",
            id=params["broadcast_id"],
            sent=number("sent"),
            failed=number("failed"),
            cancelled=number("cancelled"),
            total=number("recipients"),
        )
    )
