"""A database locked by another process past the busy timeout: a clear message, nothing lost."""

from __future__ import annotations

import sqlite3

from bot.i18n import Translator
from handlers.dispatch import Dispatcher
from handlers.types import Incoming
from storage import Storage


async def test_locked_database_gets_a_busy_message_and_the_next_try_works(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "locked.db"
    storage = await Storage.open(path, busy_timeout_ms=100)
    dispatcher = Dispatcher(storage, Translator())
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        replies = await dispatcher.handle(
            Incoming.from_text(channel="t", user_id="1", text="/start")
        )
        assert "sibuk" in replies[0].text
        other.execute("ROLLBACK")
        replies = await dispatcher.handle(
            Incoming.from_text(channel="t", user_id="1", text="/start")
        )
        assert "Selamat datang" in replies[0].text
        session = await storage.sessions.load(channel="t", external_id="1")
        assert session.step == "language"
    finally:
        other.close()
        await storage.close()
