"""WhatsApp messages per journey: how many messages Pustaka sends a resident on WhatsApp for
onboarding, registering for an event (with "add to calendar") and answering a reminder, and
for a librarian's export of an event's list (two files and the Back/Menu buttons).

Every message counts against the number's throughput and the per-person pair limit, and every
template is billed; the fewer messages a journey takes, the cheaper and the calmer the chat on a
cheap phone. Both renderings run in the same process, through signed webhooks to the real server
and a loopback fake Graph API (the same as the tests'):

- before: every reply sent as it comes, a file and its buttons as two messages;
- after: plain replies joined with the next one when they fit one message, a file carried as the
  header of its buttons' message.

    .venv/bin/python bench/bench_whatsapp_messages.py
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bot.notifications.reminders  # noqa: E402, F401  (registers the reminder renderer)
from bot.channels.base import Outbound  # noqa: E402
from bot.channels.whatsapp import WhatsAppChannel  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.content import parse_content  # noqa: E402
from bot.notifications import render  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.web import WebServer, build_app  # noqa: E402
from storage.clock import utcnow  # noqa: E402
from storage.content import ContentRepo  # noqa: E402
from tests.conftest import whatsapp_settings  # noqa: E402
from tests.fakes.whatsapp_api import FakeGraphApi  # noqa: E402
from tests.whatsapp_harness import FakeClock, WhatsAppHarness  # noqa: E402

EVENT = "sampel-komputer-dasar-kupang-1"
Journey = Callable[[WhatsAppHarness, Runtime, str], Awaitable[None]]


async def onboarding(wa: WhatsAppHarness, runtime: Runtime, phone: str) -> None:
    await wa.send(phone, "/start")
    await wa.tap(phone, "lang:id")
    await wa.tap(phone, "consent:yes")
    await wa.tap(phone, "home:kupang")


async def _event(runtime: Runtime) -> int:
    row = await runtime.storage.db.fetchone("SELECT id FROM events WHERE slug = ?", (EVENT,))
    assert row is not None
    return int(row["id"])


async def _registration(runtime: Runtime, phone: str) -> int:
    row = await runtime.storage.db.fetchone(
        "SELECT g.id FROM registrations g JOIN residents r ON r.id = g.resident_id "
        "WHERE r.external_id = ? ORDER BY g.id DESC LIMIT 1",
        ("+" + phone,),
    )
    assert row is not None
    return int(row["id"])


async def registration(wa: WhatsAppHarness, runtime: Runtime, phone: str) -> None:
    event = await _event(runtime)
    await wa.send(phone, "/acara")
    await wa.tap(phone, f"ev:{event}")
    await wa.tap(phone, f"reg:{event}")
    await wa.send(phone, "Maria Goreti")
    await wa.tap(phone, "rq:female")
    await wa.tap(phone, "rq:18_35")
    await wa.send(phone, "Oesapa")
    await wa.tap(phone, f"reg!:{event}")
    await wa.tap(phone, f"ics:{await _registration(runtime, phone)}")


async def reminder_answer(wa: WhatsAppHarness, runtime: Runtime, phone: str) -> None:
    registration_id = await _registration(runtime, phone)
    params = {"event_id": await _event(runtime), "registration_id": registration_id, "ask": True}
    rendered = await render("reminder", params, "id", runtime.translator, runtime.storage)
    await wa.channel.sender.send(
        Outbound("+" + phone, rendered.text, rendered.choices, kind="reminder")
    )
    await wa.tap(phone, f"rmd:ok:{registration_id}")


async def export(wa: WhatsAppHarness, runtime: Runtime, phone: str) -> None:
    """A librarian's export of an event's list: the CSV, and the spreadsheet with its Back and
    Menu buttons."""
    await runtime.storage.staff.seed_admins([("whatsapp", "+" + phone)], now=utcnow())
    await wa.tap(phone, f"sex:e:{await _event(runtime)}")


JOURNEYS: list[tuple[str, Journey]] = [
    ("onboarding", onboarding),
    ("registration + calendar", registration),
    ("reminder answer", reminder_answer),
    ("export (staff)", export),
]


async def measure(combine: bool, workdir: Path) -> dict[str, int]:
    settings = Settings(telegram_token=None, db_path=str(workdir / f"bench-{combine}.db"))
    runtime = await Runtime.open(settings)
    text = resources.files("bot.sample").joinpath("ntt.yaml").read_text("utf-8")
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    content = parse_content(text, timezone=settings.timezone, today=today)
    await ContentRepo(runtime.storage.db).import_content(content, is_sample=True, now=utcnow())
    api = await FakeGraphApi().start()
    clock = FakeClock()
    channel = WhatsAppChannel(
        whatsapp_settings(api),
        runtime.dispatcher,
        runtime.translator,
        runtime.storage.whatsapp,
        clock=clock,
    )
    await channel.start()
    channel.sender.combine = combine
    server = WebServer(build_app(channel.routes(), ["whatsapp"]))
    port = await server.start("127.0.0.1", 0)
    counts: dict[str, int] = {}
    try:
        async with aiohttp.ClientSession() as http:
            wa = WhatsAppHarness(channel, f"http://127.0.0.1:{port}", api, http, clock)
            phone = "6281234599001"
            for name, journey in JOURNEYS:
                before = len(api.sent)
                await journey(wa, runtime, phone)
                counts[name] = len(api.sent) - before
            if api.refused:
                raise SystemExit(f"the fake Graph API refused messages: {api.refused}")
    finally:
        await server.stop()
        await channel.close()
        await api.stop()
        await runtime.close()
    return counts


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        before = await measure(False, Path(tmp))
        after = await measure(True, Path(tmp))
    print("WhatsApp messages per journey (one resident, signed webhooks, fake Graph API)")
    print(f"{'journey':<26}{'before':>8}{'after':>8}{'after/before':>14}")
    for name, _ in JOURNEYS:
        print(f"{name:<26}{before[name]:>8}{after[name]:>8}{after[name] / before[name]:>14.2f}")
    total_before, total_after = sum(before.values()), sum(after.values())
    print(
        f"{'all journeys':<26}{total_before:>8}{total_after:>8}{total_after / total_before:>14.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
