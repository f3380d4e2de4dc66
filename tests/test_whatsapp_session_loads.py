"""The WhatsApp path reads a person's session once per message: the dispatcher loads it, and the
channel learns the language and the choices shown from what `Dispatcher.handle` returns instead
of reloading it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.runtime import Runtime
from storage.clock import utcnow
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


async def test_replies_outbox_rows_and_api_calls_share_the_channels_one_limiter(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    from bot.channels.whatsapp_service import WhatsAppService
    from bot.delivery.limits import BULK, INTERACTIVE
    from bot.delivery.worker import DeliveryWorker, WorkerSettings
    from storage.outbox import OutboxMessage
    from tests.delivery_helpers import until

    limiter = wa.channel.limiter
    await wa.onboard(PHONE)
    replies = limiter.granted[INTERACTIVE]
    assert replies > 0  # every reply's Graph API call took a token here
    sent = await wa.send(PHONE, "/menu")
    assert limiter.granted[INTERACTIVE] == replies + len(sent)
    # An outbox row: the worker takes its token from the same limiter, and the sender's one
    # Graph API call for it uses that token instead of taking a second.
    await runtime.storage.outbox.add(
        OutboxMessage("announcement:1:+" + PHONE, "announcement", "whatsapp", "+" + PHONE, "Halo"),
        now=utcnow(),
    )
    worker = DeliveryWorker(
        runtime.storage,
        runtime.translator,
        {"whatsapp": wa.channel.sender},
        {"whatsapp": limiter},
        WorkerSettings(concurrency=2),
    )
    await worker.start()
    try:

        async def delivered() -> bool:
            worker.wake()
            status = await runtime.storage.outbox.status_of(dedupe_key="announcement:1:+" + PHONE)
            return status is not None and status[0] == "sent"

        await until(delivered)
    finally:
        await worker.stop()
    assert limiter.granted[BULK] == 1
    # `pustaka run` hands the delivery worker the channel's own limiter, not a second one.
    service = WhatsAppService(
        wa.channel.settings, runtime.dispatcher, runtime.translator, runtime.storage.whatsapp
    )
    assert service.limiter is service.channel.limiter
    await service.channel.limiter.close()
