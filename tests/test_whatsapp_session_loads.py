"""The WhatsApp path reads a person's session once per message: the dispatcher loads it, and the
channel learns the language and the choices shown from what `Dispatcher.handle` returns instead
of reloading it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.runtime import Runtime
from storage.sessions import Sessions
from tests.whatsapp_harness import WhatsAppHarness

PHONE = "6281234500042"


@pytest.fixture
def session_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every session read, counted on the real repository (the reads still happen)."""
    loads: list[str] = []
    for name in ("load", "load_with_resident"):
        real = getattr(Sessions, name)

        def spy(self: Sessions, *args: Any, _real: Any = real, _name: str = name, **kw: Any) -> Any:
            loads.append(_name)
            return _real(self, *args, **kw)

        monkeypatch.setattr(Sessions, name, spy)
    return loads


async def test_one_session_load_per_whatsapp_message(
    wa: WhatsAppHarness, runtime: Runtime, session_loads: list[str]
) -> None:
    await wa.onboard(PHONE, language="en")
    for send in (
        lambda: wa.send(PHONE, "/menu"),
        lambda: wa.tap(PHONE, "help"),
        lambda: wa.send(PHONE, "/events"),
        lambda: wa.send(PHONE, "1"),  # a typed choice
        lambda: wa.send(PHONE, "opening hours"),
    ):
        session_loads.clear()
        sent = await send()
        assert sent, "every message is answered"
        assert len(session_loads) == 1, session_loads
    # And the answer is in the language the core chose (English), without a reload.
    assert "Main menu" in (await wa.send(PHONE, "/menu"))[-1].text
