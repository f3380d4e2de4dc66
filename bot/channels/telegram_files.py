"""Files Telegram received, fetched for another channel: an announcement written on Telegram
with a photo reaches WhatsApp residents with that photo (the WhatsApp sender uploads it once)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Bot
from telegram.error import TelegramError

from bot.channels.base import TransientError
from handlers.types import Document


def photo_loader(bot: Bot) -> Callable[[str], Awaitable[Document]]:
    async def load(file_id: str) -> Document:
        try:
            file = await bot.get_file(file_id)
            content = bytes(await file.download_as_bytearray())
        except TelegramError as exc:
            raise TransientError(f"Telegram file {file_id}: {exc}") from exc
        # Telegram re-encodes every photo it stores as JPEG.
        return Document(f"{file_id[:24]}.jpg", content, "image/jpeg")

    return load
