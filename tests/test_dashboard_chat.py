"""/dasbor from each chat: WhatsApp, Telegram (in English too), and the terminal of `pustaka run`
on a fresh database, whose printed link opens the sample data's dashboard."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path

from bot.config import Settings
from bot.runtime import Runtime
from storage.clock import utcnow
from tests.dashboard_support import LINK, browser, sign_in
from tests.dashboard_support import clock as clock  # noqa: F401 - fixtures
from tests.dashboard_support import dashboard as dashboard  # noqa: F401
from tests.dashboard_support import port as port  # noqa: F401
from tests.dashboard_support import settings as settings  # noqa: F401
from tests.pustaka_process import COMMAND, free_port, pustaka_env, run_pustaka
from tests.staff_support import ADMIN
from tests.telegram_harness import TelegramHarness, texts
from tests.whatsapp_harness import WhatsAppHarness
from tests.whatsapp_harness import texts as wa_texts

PHONE = "6281234500009"  # as Meta sends it (wa_id)


async def test_whatsapp_staff_get_a_link_that_signs_them_in(
    wa: WhatsAppHarness, runtime: Runtime, dashboard: str
) -> None:
    by = await runtime.storage.staff.role_of(channel="telegram", external_id=str(ADMIN))
    assert by is not None
    await runtime.storage.staff.grant(
        by=by,
        channel="whatsapp",
        external_id="+" + PHONE,
        role="coordinator",
        regency_code="alor",
        now=utcnow(),
    )
    found = LINK.search(wa_texts(await wa.send(PHONE, "/dasbor")))
    assert found is not None
    async with browser() as http:
        done = await sign_in(http, found.group(1))
        assert done.status == 303
        async with http.get(f"{dashboard}/dasbor/wilayah") as page:
            html = await page.text()
    assert page.status == 200 and ">Alor<" in html and ">Ende<" not in html
    assert f"whatsapp:+{PHONE}" in html


async def test_english_alias_and_the_link_in_the_person_s_language(
    tg: TelegramHarness, runtime: Runtime, dashboard: str
) -> None:
    await tg.send(ADMIN, "/language")
    await tg.tap(ADMIN, "lang:en")
    reply = texts(await tg.send(ADMIN, "/dashboard"))
    assert "Open the dashboard in a browser" in reply and "10 minutes" in reply
    found = LINK.search(reply)
    assert found is not None
    async with browser() as http:
        await sign_in(http, found.group(1))
        async with http.get(f"{dashboard}/dasbor/") as page:
            assert '<html lang="en">' in await page.text()


async def test_without_a_public_address_the_chat_says_so(
    tg: TelegramHarness, runtime: Runtime, settings: Settings
) -> None:
    off = dataclasses.replace(settings, public_url=None)
    other = await Runtime.open(off)
    try:
        from bot.channels.telegram import TelegramChannel
        from tests.fakes.telegram_api import FakeBotApi

        assert isinstance(tg.api, FakeBotApi)
        app = TelegramChannel(off, other.dispatcher, other.translator).build()
        async with app:
            harness = TelegramHarness(app, tg.api)
            reply = texts(await harness.send(ADMIN, "/dasbor"))
    finally:
        await other.close()
    assert reply == runtime.translator.text("id", "dashboard.chat.off")


async def test_make_run_terminal_admin_opens_the_sample_dashboard(tmp_path: Path) -> None:
    """What the README promises a newcomer: `make run`, /dasbor, open the printed link."""
    http_port = free_port()
    env = pustaka_env(PUSTAKA_DB=str(tmp_path / "pustaka.db"), PUSTAKA_HTTP_PORT=str(http_port))
    assert run_pustaka(tmp_path, env, "init", "--sample").returncode == 0
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        "run",
        env=env,
        cwd=tmp_path,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(b"/dasbor\n")
        await process.stdin.drain()
        seen = b""
        while not re.search(rb"/dasbor/masuk/[A-Za-z0-9_-]{20,}\s", seen):
            chunk = await asyncio.wait_for(process.stdout.read(4096), 30)
            assert chunk, seen.decode()
            seen += chunk
        text = seen.decode()
        assert "No channel configured" in text
        link = re.search(r"(http://localhost:\d+/dasbor/masuk/[A-Za-z0-9_-]+)", text)
        assert link is not None and f":{http_port}/" in link.group(1)
        async with browser() as http:
            done = await sign_in(http, link.group(1).replace("localhost", "127.0.0.1"))
            assert done.status == 303
            async with http.get(f"http://127.0.0.1:{http_port}/dasbor/acara") as page:
                html = await page.text()
        assert page.status == 200 and "terminal:local" in html
        # The sample's events (within the next six weeks) are listed as upcoming.
        assert html.count('href="/dasbor/acara/') >= 3
    finally:
        process.stdin.close()
        await asyncio.wait_for(process.wait(), 30)
    assert process.returncode == 0


def test_public_url_setting_is_checked() -> None:
    from bot.config import ConfigError, load_settings

    good = load_settings({"PUSTAKA_PUBLIC_URL": "https://pustaka.example.id/"}, env_file=None)
    assert good.public_url == "https://pustaka.example.id" and good.web_enabled
    assert load_settings({}, env_file=None).public_url is None
    try:
        load_settings({"PUSTAKA_PUBLIC_URL": "pustaka.example.id"}, env_file=None)
    except ConfigError as exc:
        assert exc.variable == "PUSTAKA_PUBLIC_URL"
    else:
        raise AssertionError("a URL without a scheme was accepted")
