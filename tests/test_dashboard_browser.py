"""The dashboard in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright.
Sign in through a link the bot sent in Telegram, visit every page, switch the month, sort a
table, download a file and open it, sign out. A failing step leaves a screenshot in
PUSTAKA_SCREENSHOTS (default: test-screenshots/); with PUSTAKA_SCREENSHOTS_ALL=1 every page is
kept, for looking at them.

Where no Chromium can be installed the test is skipped with the reason; in CI (.ci/run sets
PUSTAKA_REQUIRE_BROWSER=1) a missing browser fails instead."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.runtime import Runtime
from tests.dashboard_support import browser as http_browser
from tests.dashboard_support import chat_link, dataset
from tests.dashboard_support import clock as clock  # noqa: F401 - fixtures
from tests.dashboard_support import dashboard as dashboard  # noqa: F401
from tests.dashboard_support import port as port  # noqa: F401
from tests.dashboard_support import settings as settings  # noqa: F401
from tests.staff_support import ADMIN
from tests.telegram_harness import TelegramHarness

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SHOTS = Path(os.environ.get("PUSTAKA_SCREENSHOTS", "test-screenshots"))


def _chromium() -> str | None:
    for candidate in (os.environ.get("PUSTAKA_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


def _unavailable() -> str | None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[dev]')"
    if _chromium() is None:
        return "no Chromium on this machine (apt-get install chromium)"
    return None


@pytest.fixture
async def page(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    reason = _unavailable()
    if reason is not None:
        if os.environ.get("PUSTAKA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required here (PUSTAKA_REQUIRE_BROWSER=1): {reason}")
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        chromium = await driver.chromium.launch(executable_path=_chromium(), args=FLAGS)
        context = await chromium.new_context(
            accept_downloads=True, viewport={"width": 412, "height": 900}, locale="id-ID"
        )
        opened = await context.new_page()
        try:
            yield opened
        finally:
            await context.close()
            await chromium.close()


@asynccontextmanager
async def screenshot_on_failure(page: Any, name: str) -> AsyncIterator[None]:
    try:
        yield
    except BaseException:
        shot = SHOTS / f"{name}-failure.png"  # Playwright makes the folder
        await page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failure: {shot} (at {page.url})")
        raise


async def _keep(page: Any, name: str) -> None:
    if os.environ.get("PUSTAKA_SCREENSHOTS_ALL") == "1":
        await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def test_a_coordinator_day_in_the_browser(
    page: Any, tg: TelegramHarness, runtime: Runtime, dashboard: str, tmp_path: Path
) -> None:
    t = runtime.translator.text
    data = await dataset(runtime)
    link = await chat_link(tg, ADMIN)
    async with screenshot_on_failure(page, "coordinator-day"):
        await page.goto(link)
        await _keep(page, "01-sign-in")
        await page.click("#sign-in")
        await page.wait_for_url(f"{dashboard}/dasbor/")
        assert await page.inner_text("header h1") == t("id", "dashboard.page.title")
        await _keep(page, "02-overview-this-month")
        # Readable on a phone: nothing wider than the screen but the tables' own scrolling.
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 412

        # Every page, through its link in the menu.
        for key in ("areas", "events", "announcements", "delivery", "charts", "overview"):
            await page.click(f"#nav-{key}")
            await page.wait_for_load_state()
            assert await page.title() == (
                f"{t('id', f'dashboard.page.{key}')} · {t('id', 'dashboard.page.title')}"
            )
            assert t("id", "dashboard.sign.needed") not in await page.content()
        assert await page.locator("svg.chart").count() == 0  # charts live on their own page

        # Switch the month with the picker: last month's figures appear.
        await page.fill("#month", data.month)
        await page.click("#month-show")
        await page.wait_for_url(f"**month={data.month}**")
        card = await page.inner_text("#card-events_held b")
        assert card == "2"
        await _keep(page, "03-overview-last-month")
        await page.click("#month-prev")
        await page.wait_for_load_state()
        assert await page.inner_text("#card-events_held b") == "1"  # the month before it
        await page.click("#month-next")
        await page.wait_for_load_state()

        # Sort the regencies by attendance, most first, then least first.
        await page.click("#nav-areas")
        await page.wait_for_load_state()
        await page.click("#sort-regencies-attended")
        await page.wait_for_load_state()
        first = page.locator("#table-regencies tbody tr").first.locator("td").first
        assert await first.inner_text() == "Ende"
        await _keep(page, "04-regencies-sorted")
        await page.click("#sort-regencies-attended")
        await page.wait_for_load_state()
        last = page.locator("#table-regencies tbody tr").last.locator("td").first
        assert await last.inner_text() == "Ende"

        # Download the table as XLSX and open it.
        async with page.expect_download() as waiting:
            await page.click("#dl-regencies-xlsx")
        download = await waiting.value
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)
        assert saved.name == f"pustaka-regencies-{data.month}.xlsx"
        sheet = load_workbook(io.BytesIO(saved.read_bytes())).active
        assert sheet is not None
        rows = [[c.value for c in row] for row in sheet.iter_rows()]
        assert rows[0][0] == t("id", "dashboard.col.regency")
        assert rows[-1][:4] == ["Ende", 1, 3, 3]  # sorted as the page showed it

        # An event's page from the events list, with its check-in code.
        await page.click("#nav-events")
        await page.wait_for_load_state()
        await page.click("text=Kelas <b>komputer</b> Ende")
        await page.wait_for_load_state()
        code = await runtime.storage.dashboard.checkin_code(event_id=data.ende_event)
        assert await page.inner_text("#checkin-code") == code
        assert await page.locator(f"#table-event-{data.ende_event} tbody tr").count() == 5
        await _keep(page, "05-event")

        await page.click("#nav-charts")
        await page.wait_for_load_state()
        assert await page.locator("svg.chart").count() == 4
        await _keep(page, "06-charts")

        # English, then sign out: the cookie no longer opens anything.
        await page.click("#lang-en")
        await page.wait_for_load_state()
        assert await page.inner_text("#nav-overview") == t("en", "dashboard.page.overview")
        await page.click("#sign-out")
        await page.wait_for_load_state()
        assert await page.inner_text("#message") == t("en", "dashboard.sign.signed_out")
        response = await page.goto(f"{dashboard}/dasbor/")
        assert response is not None and response.status == 401
        await _keep(page, "07-signed-out")
        # The used link does not sign in again.
        response = await page.goto(link)
        assert response is not None and response.status == 403
        async with http_browser() as http, http.get(f"{dashboard}/dasbor/grafik") as plain:
            assert plain.status == 401
