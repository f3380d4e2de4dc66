"""The dashboard's pages through the real HTTP server and a real database, signed in with a
link the bot sent in Telegram: every page, the month picker, sorting, and the figures."""

from __future__ import annotations

import re

from bot.runtime import Runtime
from handlers.staff.stats import month_bounds, parse_month
from storage.clock import utcnow
from tests.dashboard_support import (
    COORDINATOR,
    browser,
    chat_link,
    dataset,
    grant,
    sign_in,
)
from tests.dashboard_support import clock as clock  # noqa: F401 - fixtures
from tests.dashboard_support import dashboard as dashboard  # noqa: F401
from tests.dashboard_support import port as port  # noqa: F401
from tests.dashboard_support import settings as settings  # noqa: F401
from tests.staff_support import ADMIN
from tests.telegram_harness import TelegramHarness

PAGES = ("", "wilayah", "acara", "pengumuman", "pengiriman", "grafik")


def cells(html: str, table: str) -> list[list[str]]:
    """The text of each body row of a table on a page."""
    found = re.search(rf'<table id="table-{table}">(.*?)</table>', html, re.S)
    assert found is not None, f"no table {table}"
    body = found.group(1).split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


async def test_admin_signs_in_from_telegram_and_every_page_is_small_and_self_contained(
    tg: TelegramHarness, runtime: Runtime, dashboard: str
) -> None:
    data = await dataset(runtime)
    link = await chat_link(tg, ADMIN)
    assert link.startswith(runtime.settings.public_url or "-")
    async with browser() as http:
        done = await sign_in(http, link)
        assert done.status == 303 and done.headers["Location"] == "/dasbor/"
        for path in PAGES:
            async with http.get(f"{dashboard}/dasbor/{path}?month={data.month}") as page:
                body = await page.read()
                assert page.status == 200, path
            assert len(body) < 100_000, (path, len(body))
            html = body.decode()
            # Nothing fetched from elsewhere: no scripts, fonts, images or styles off the server.
            assert "<script" not in html and "@import" not in html
            assert not re.search(r'(src|href)="(https?:)?//', html), path
            assert 'href="/dasbor/gaya.css"' in html
        async with http.get(f"{dashboard}/dasbor/acara/{data.ende_event}") as page:
            html = await page.text()
        assert page.status == 200
        code = await runtime.storage.dashboard.checkin_code(event_id=data.ende_event)
        assert f'id="checkin-code">{code}<' in html
        # The title holds markup typed by staff: shown as text, not as HTML.
        assert "Kelas &lt;b&gt;komputer&lt;/b&gt; Ende" in html and "<b>komputer" not in html
        names = [row[0] for row in cells(html, f"event-{data.ende_event}")]
        assert names == ["Orang 0", "Orang 1", "Orang 2", "Orang 3", "Orang 4"]


async def test_overview_figures_match_statistik_and_compare_with_the_month_before(
    tg: TelegramHarness, runtime: Runtime, dashboard: str
) -> None:
    data = await dataset(runtime)
    await grant(runtime, COORDINATOR, "coordinator", "ende")
    parsed = parse_month(data.month)
    assert parsed is not None
    start, end = month_bounds(*parsed, runtime.settings.timezone)
    async with browser() as http:
        await sign_in(http, await chat_link(tg, COORDINATOR))
        async with http.get(f"{dashboard}/dasbor/?month={data.month}") as page:
            html = await page.text()
    stats = await runtime.storage.stats.month(
        start=start, end=end, regency_code="ende", now=utcnow()
    )
    summary = {row[0]: row[1:] for row in cells(html, "overview")}
    assert summary["Acara terlaksana"] == [str(stats.events_held), "1"]
    assert summary["Pendaftar"] == [str(stats.registered), "1"]
    assert summary["Hadir"] == [str(stats.attended), "1"]
    assert summary["Hadir tanpa daftar"] == ["1", "0"]
    assert summary["Daftar tunggu"] == ["1", "0"]
    assert summary["Tingkat kehadiran"] == ["66,7", "100,0"]
    assert summary["Warga baru"] == [str(stats.new_residents), "0"]
    assert stats.events_held == 1 and stats.registered == 3 and stats.new_residents == 2
    gender = {row[0]: row[1] for row in cells(html, "gender")}
    t = runtime.translator.text
    assert gender == {
        t("id", "reg.gender.female"): str(stats.by_gender["female"]),
        t("id", "reg.gender.male"): str(stats.by_gender["male"]),
        t("id", "reg.gender.unsaid"): "0",
        t("id", "dashboard.figure.unknown"): "0",
    }
    age = {row[0]: row[1] for row in cells(html, "age_band")}
    assert age[t("id", "reg.age.u18")] == "1" and age[t("id", "reg.age.55p")] == "1"
    assert 'id="card-events_held">Acara terlaksana<b>1</b>' in html


async def test_month_picker_switches_and_bad_month_is_explained_escaped(
    tg: TelegramHarness, runtime: Runtime, dashboard: str
) -> None:
    data = await dataset(runtime)
    async with browser() as http:
        await sign_in(http, await chat_link(tg, ADMIN))
        async with http.get(f"{dashboard}/dasbor/wilayah?month={data.month}") as page:
            html = await page.text()
        ende = next(r for r in cells(html, "regencies") if r[0] == "Ende")
        assert ende[1:4] == ["1", "3", "3"]
        assert 'value="' + data.month + '"' in html
        async with http.get(f"{dashboard}/dasbor/wilayah?month=2001-01") as page:
            empty = await page.text()
        assert all(r[1] == "0" for r in cells(empty, "regencies"))
        async with http.get(f"{dashboard}/dasbor/?month=%3Cscript%3Ealert(1)%3C/script%3E") as page:
            bad = await page.text()
        assert page.status == 200
        assert "&lt;script&gt;alert(1)" in bad and "<script>" not in bad


async def test_tables_sort_by_a_column_both_ways(
    tg: TelegramHarness, runtime: Runtime, dashboard: str
) -> None:
    data = await dataset(runtime)
    async with browser() as http:
        await sign_in(http, await chat_link(tg, ADMIN))
        url = f"{dashboard}/dasbor/wilayah?month={data.month}&sort=regencies.attended&dir=desc"
        async with http.get(url) as page:
            html = await page.text()
        rows = cells(html, "regencies")
        assert [r[0] for r in rows[:2]] == ["Ende", "Alor"]
        assert "▼" in html
        async with http.get(url.replace("dir=desc", "dir=asc")) as page:
            ascending = cells(await page.text(), "regencies")
        assert [r[0] for r in ascending[-2:]] == ["Alor", "Ende"]
        # An unknown column leaves the order as it was (regencies in their usual order).
        async with http.get(url.replace("regencies.attended", "regencies.nope")) as page:
            plain = cells(await page.text(), "regencies")
        assert plain[0][0] == "Kota Kupang"


async def test_english_pages_and_the_language_sticks(
    tg: TelegramHarness, runtime: Runtime, dashboard: str
) -> None:
    await dataset(runtime)
    async with browser() as http:
        await sign_in(http, await chat_link(tg, ADMIN))
        async with http.get(f"{dashboard}/dasbor/?lang=en") as page:
            html = await page.text()
        assert '<html lang="en">' in html and "Events held" in html
        async with http.get(f"{dashboard}/dasbor/acara") as page:
            assert "Upcoming" in await page.text()


async def test_delivery_page_refreshes_itself_and_counts_failures(
    tg: TelegramHarness, runtime: Runtime, dashboard: str
) -> None:
    async with runtime.storage.db.transaction() as conn:
        for number, status, error in (
            (1, "failed", "Forbidden: bot was blocked"),
            (2, "failed", "Forbidden: bot was blocked"),
            (3, "pending", None),
        ):
            await conn.execute(
                "INSERT INTO outbox (dedupe_key, kind, channel, recipient, body, due_at, status, "
                "last_error, created_at, updated_at) VALUES (?, 'reminder', 'telegram', '1', "
                "'{}', '2026-01-01T00:00:00Z', ?, ?, '2026-01-01T00:00:00Z', "
                "'2026-01-01T00:00:00Z')",
                (f"test:{number}", status, error),
            )
    async with browser() as http:
        await sign_in(http, await chat_link(tg, ADMIN))
        async with http.get(f"{dashboard}/dasbor/pengiriman") as page:
            html = await page.text()
    assert '<meta http-equiv="refresh" content="30">' in html
    assert cells(html, "failures") == [["Forbidden: bot was blocked", "2"]]
    assert ["reminder", "1", "0", "0", "2", "0", "0"] in cells(html, "delivery-kinds")
    assert "reminder" in html and "1 Januari 2026" in html
