"""The dashboard refuses what it must: no session, expired or reused links, guessing, another
library's event or download by id, a revoked role, an expired session; cookie flags; audit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.runtime import Runtime
from storage.clock import utcnow
from storage.dashboard import FAILURE_LIMIT, SESSION_ABSOLUTE, SESSION_IDLE
from tests.dashboard_support import (
    COORDINATOR,
    LIBRARIAN,
    OTHER_LIBRARIAN,
    Clock,
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
from tests.telegram_harness import TelegramHarness, texts

PAGES = ("", "wilayah", "acara", "acara/1", "pengumuman", "pengiriman", "grafik")
DOWNLOADS = (
    "overview.csv",
    "regencies.xlsx",
    "libraries.csv",
    "events.csv",
    "upcoming.xlsx",
    "announcements.csv",
    "delivery.csv",
    "failures.xlsx",
    "event-1.csv",
    "report.xlsx",
)


async def test_nothing_without_a_session(runtime: Runtime, dashboard: str) -> None:
    needed = runtime.translator.text("id", "dashboard.sign.needed")
    async with browser() as http:
        for path in [*PAGES, *(f"unduh/{d}" for d in DOWNLOADS)]:
            async with http.get(f"{dashboard}/dasbor/{path}") as response:
                body = await response.text()
            assert response.status == 401, path
            assert needed in body and "<table" not in body, path
        # A made-up cookie is no session either.
        http.cookie_jar.update_cookies({"pustaka_dasbor": "forged"})
        async with http.get(f"{dashboard}/dasbor/unduh/report.xlsx") as response:
            assert response.status == 401
        async with http.post(f"{dashboard}/dasbor/keluar", data={"csrf": "x"}) as response:
            assert response.status == 200  # signing out with no session is harmless


async def test_a_resident_gets_no_link(tg: TelegramHarness, runtime: Runtime) -> None:
    await tg.onboard(5555)
    reply = texts(await tg.send(5555, "/dasbor"))
    assert "/dasbor/masuk/" not in reply
    rows = await runtime.storage.db.fetchall("SELECT count(*) FROM dashboard_links")
    assert rows[0][0] == 0


async def test_link_is_stored_hashed_works_once_and_cookie_flags(
    tg: TelegramHarness, runtime: Runtime, dashboard: str
) -> None:
    link = await chat_link(tg, ADMIN)
    token = link.rsplit("/", 1)[1]
    stored = await runtime.storage.db.fetchall("SELECT token_hash FROM dashboard_links")
    assert len(stored) == 1 and token not in stored[0][0] and len(stored[0][0]) == 64
    bad = runtime.translator.text("id", "dashboard.sign.bad_link")
    async with browser() as http:
        done = await sign_in(http, link)
        assert done.status == 303
        cookie = done.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/dasbor" in cookie
        assert "Max-Age=" in cookie and "Secure" not in cookie  # served over http here
        assert done.headers["Referrer-Policy"] == "no-referrer"
        assert "default-src 'none'" in done.headers["Content-Security-Policy"]
    async with browser() as other:
        async with other.get(link) as again:
            assert again.status == 403 and bad in await again.text()
        async with other.post(f"{dashboard}/dasbor/masuk", data={"token": token}) as reused:
            assert reused.status == 403 and bad in await reused.text()
    sessions = await runtime.storage.db.fetchall("SELECT token_hash FROM dashboard_sessions")
    assert len(sessions) == 1


async def test_secure_cookie_behind_https(runtime: Runtime, tg: TelegramHarness) -> None:
    from bot.dashboard.web import Dashboard

    board = Dashboard(
        runtime.storage,
        runtime.translator,
        timezone="Asia/Makassar",
        public_url="https://dasbor.example.id",
    )
    assert board.secure
    from aiohttp.test_utils import TestClient, TestServer

    from bot.web import build_app

    link = await chat_link(tg, ADMIN)
    token = link.rsplit("/", 1)[1]
    async with TestClient(TestServer(build_app([], [], {"/dasbor": board.app()}))) as client:
        response = await client.post("/dasbor/masuk", data={"token": token}, allow_redirects=False)
        assert response.status == 303
        assert "Secure" in response.headers["Set-Cookie"]


async def test_expired_link_is_refused(
    tg: TelegramHarness, runtime: Runtime, dashboard: str, clock: Clock
) -> None:
    link = await chat_link(tg, ADMIN)
    clock.offset = timedelta(minutes=10, seconds=1)
    async with browser() as http:
        async with http.get(link) as page:
            assert page.status == 403
        token = link.rsplit("/", 1)[1]
        async with http.post(f"{dashboard}/dasbor/masuk", data={"token": token}) as post:
            assert post.status == 403


async def test_repeated_failures_from_one_address_are_slowed(
    tg: TelegramHarness, runtime: Runtime, dashboard: str
) -> None:
    async with browser() as http:
        for number in range(FAILURE_LIMIT):
            async with http.get(f"{dashboard}/dasbor/masuk/guess{number}") as page:
                assert page.status == 403
        # Even a good link waits now: guessing cannot go on at speed.
        link = await chat_link(tg, ADMIN)
        async with http.get(link) as page:
            assert page.status == 429 and int(page.headers["Retry-After"]) > 0
            assert "15" in await page.text()
        # The good link was not spent by the refusal.
        assert await runtime.storage.dashboard.link_usable(
            token=link.rsplit("/", 1)[1], now=utcnow()
        )


async def test_librarian_sees_only_their_library(
    tg: TelegramHarness, runtime: Runtime, dashboard: str
) -> None:
    data = await dataset(runtime)
    await grant(runtime, LIBRARIAN, "librarian", "perpus-ende")
    async with browser() as http:
        await sign_in(http, await chat_link(tg, LIBRARIAN))
        async with http.get(f"{dashboard}/dasbor/acara/{data.ende_event}") as mine:
            assert mine.status == 200 and "Orang 0" in await mine.text()
        for path in (
            f"acara/{data.alor_event}",
            f"unduh/event-{data.alor_event}.csv",
            f"unduh/event-{data.alor_event}.xlsx",
            "acara/999999",
        ):
            async with http.get(f"{dashboard}/dasbor/{path}") as other:
                body = await other.text()
            assert other.status == 404, path
            assert "Orang 5" not in body and "Tenun Alor" not in body
        async with http.get(f"{dashboard}/dasbor/acara?month={data.month}") as events:
            html = await events.text()
        assert "Kelas &lt;b&gt;komputer&lt;/b&gt; Ende" in html and "Tenun Alor" not in html
        async with http.get(f"{dashboard}/dasbor/unduh/libraries.csv?month={data.month}") as f:
            csv_text = (await f.read()).decode("utf-8-sig")
        assert "Perpustakaan" in csv_text and "Alor" not in csv_text


async def test_coordinator_scope_is_their_regency(
    tg: TelegramHarness, runtime: Runtime, dashboard: str
) -> None:
    data = await dataset(runtime)
    await grant(runtime, COORDINATOR, "coordinator", "ende")
    async with browser() as http:
        await sign_in(http, await chat_link(tg, COORDINATOR))
        async with http.get(f"{dashboard}/dasbor/wilayah?month={data.month}") as page:
            html = await page.text()
        assert ">Ende<" in html and ">Alor<" not in html
        async with http.get(f"{dashboard}/dasbor/acara/{data.alor_event}") as other:
            assert other.status == 404


async def test_revoking_the_role_ends_the_session(
    tg: TelegramHarness, runtime: Runtime, dashboard: str
) -> None:
    await grant(runtime, OTHER_LIBRARIAN, "librarian", "perpus-alor")
    async with browser() as http:
        await sign_in(http, await chat_link(tg, OTHER_LIBRARIAN))
        async with http.get(f"{dashboard}/dasbor/") as page:
            assert page.status == 200
        await tg.send(ADMIN, f"/cabutperan {OTHER_LIBRARIAN}")
        async with http.get(f"{dashboard}/dasbor/") as page:
            assert page.status == 200  # the role stands until the admin confirms
        await tg.tap(ADMIN, "srv:y:librarian")  # revoking is confirmed (issue 11)
        assert (
            await runtime.storage.staff.role_of(
                channel="telegram", external_id=str(OTHER_LIBRARIAN)
            )
            is None
        )
        async with http.get(f"{dashboard}/dasbor/") as page:
            assert page.status == 401
    left = await runtime.storage.db.fetchall(
        "SELECT count(*) FROM dashboard_sessions WHERE external_id = ?", (str(OTHER_LIBRARIAN),)
    )
    assert left[0][0] == 0


@pytest.mark.parametrize("idle", [True, False])
async def test_sessions_expire_when_idle_and_absolutely(
    tg: TelegramHarness, runtime: Runtime, dashboard: str, clock: Clock, idle: bool
) -> None:
    async with browser() as http:
        await sign_in(http, await chat_link(tg, ADMIN))
        if idle:
            clock.offset = SESSION_IDLE + timedelta(seconds=1)
        else:
            # Active every half hour still ends at the absolute limit.
            step = SESSION_IDLE / 2
            while clock.offset + step < SESSION_ABSOLUTE:
                clock.offset += step
                async with http.get(f"{dashboard}/dasbor/pengiriman") as page:
                    assert page.status == 200, clock.offset
            clock.offset = SESSION_ABSOLUTE + timedelta(seconds=1)
        async with http.get(f"{dashboard}/dasbor/") as page:
            assert page.status == 401


async def test_sign_out_needs_the_form_token_and_ends_the_session(
    tg: TelegramHarness, runtime: Runtime, dashboard: str
) -> None:
    async with browser() as http:
        await sign_in(http, await chat_link(tg, ADMIN))
        async with http.post(f"{dashboard}/dasbor/keluar", data={"csrf": "wrong"}) as forged:
            assert forged.status == 400
        async with http.get(f"{dashboard}/dasbor/") as page:
            html = await page.text()
            assert page.status == 200
        csrf = html.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        async with http.post(f"{dashboard}/dasbor/keluar", data={"csrf": csrf}) as out:
            assert out.status == 200
            assert runtime.translator.text("id", "dashboard.sign.signed_out") in await out.text()
        async with http.get(f"{dashboard}/dasbor/") as page:
            assert page.status == 401
    actions = [
        r[0]
        for r in await runtime.storage.db.fetchall(
            "SELECT action FROM audit_log WHERE actor = ? ORDER BY id", (f"telegram:{ADMIN}",)
        )
    ]
    assert actions[-3:] == ["/dasbor", "dashboard.sign_in", "dashboard.sign_out"]


async def test_sign_ins_and_downloads_are_audited(
    tg: TelegramHarness, runtime: Runtime, dashboard: str
) -> None:
    data = await dataset(runtime)
    async with browser() as http:
        await sign_in(http, await chat_link(tg, ADMIN))
        async with http.get(f"{dashboard}/dasbor/unduh/regencies.csv?month={data.month}") as f:
            assert f.status == 200
    rows = await runtime.storage.db.fetchall(
        "SELECT action, target, detail FROM audit_log WHERE action LIKE 'dashboard.%' ORDER BY id"
    )
    assert [tuple(r)[:2] for r in rows] == [
        ("dashboard.sign_in", None),
        ("dashboard.download", "regencies.csv"),
    ]
    assert rows[0][2] == "127.0.0.1"
    assert rows[1][2] == f"{data.month} 22 rows"


async def test_abandoned_sessions_are_cleared_at_the_next_sign_in(
    tg: TelegramHarness, runtime: Runtime, dashboard: str, clock: Clock
) -> None:
    async with browser() as http:
        await sign_in(http, await chat_link(tg, ADMIN))  # then never comes back
    clock.offset = SESSION_IDLE + timedelta(minutes=1)
    token = await runtime.storage.dashboard.create_link(
        channel="telegram", external_id=str(ADMIN), language="id", now=clock()
    )
    async with browser() as http:
        done = await sign_in(http, f"{dashboard}/dasbor/masuk/{token}")
        assert done.status == 303
    rows = await runtime.storage.db.fetchall("SELECT count(*) FROM dashboard_sessions")
    assert rows[0][0] == 1
