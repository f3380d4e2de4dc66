"""WhatsApp through the durable inbox (several instances, bot/scaleout.py): each message of a
Meta payload is stored by its id before the 200, handled from the inbox in order, and a
re-delivered payload is answered once."""

from __future__ import annotations

from bot.inbox import InboxRunner
from bot.runtime import Runtime
from handlers.types import Translator
from storage.inbox import Inbox
from tests.whatsapp_harness import WhatsAppHarness, envelope


async def test_messages_are_stored_then_answered_once_in_order(
    runtime: Runtime, wa: WhatsAppHarness
) -> None:
    inbox = Inbox(runtime.storage.db)
    runner = InboxRunner(inbox, owner="instance-a")
    wa.channel.accept = runner.accept
    runner.register("whatsapp", wa.channel.handle_stored)
    translator: Translator = runtime.translator
    phone = "6281234500077"

    first = wa.message(phone, "text", {"body": "/bantuan"})
    second = wa.message(phone, "text", {"body": "halo"})
    # Meta batches: two messages of one person in one payload.
    both = envelope(
        {
            "contacts": first["entry"][0]["changes"][0]["value"]["contacts"],
            "messages": [
                first["entry"][0]["changes"][0]["value"]["messages"][0],
                second["entry"][0]["changes"][0]["value"]["messages"][0],
            ],
        }
    )
    assert (await wa.post(both)).status == 200
    assert (await wa.post(both)).status == 200  # Meta thought it failed and sent it again
    await runner.drain()

    assert await inbox.counts() == {"done": 2}
    texts = [s.text for s in wa.api.sent if s.to.lstrip("+") == phone]
    assert len(texts) == 2, texts
    assert texts[0].startswith(translator.text("id", "help.text")[:40]), texts
    assert texts[1].startswith("Halo"), texts
