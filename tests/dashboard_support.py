"""Shared pieces of the dashboard tests: the real HTTP server with the dashboard mounted, a
known month of data, and signing in through a link the chat sent."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.config import Secret, Settings, StaffId
from bot.dashboard.web import PREFIX, Dashboard
from bot.runtime import Runtime
from bot.web import WebServer, build_app
from handlers.staff.stats import month_bounds
from storage.clock import to_db, utcnow
from storage.staff_events import NewEvent
from tests.fakes.telegram_api import FakeBotApi
from tests.pustaka_process import free_port
from tests.staff_support import ADMIN, library_id
from tests.telegram_harness import TelegramHarness, texts

COORDINATOR = 7602  # Ende
LIBRARIAN = 7603  # perpus-ende
OTHER_LIBRARIAN = 7604  # perpus-alor
LINK = re.compile(r"(http://\S+/dasbor/masuk/[A-Za-z0-9_-]+)")


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(fake_api: FakeBotApi, app_db: str, port: int) -> Settings:
    return Settings(
        telegram_token=Secret(fake_api.token),
        telegram_api_url=fake_api.url,
        db_path=app_db,
        admins=(StaffId("telegram", str(ADMIN)),),
        public_url=f"http://127.0.0.1:{port}",
    )


@dataclass
class Clock:
    """The dashboard's clock; tests move it to expire links and sessions."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return utcnow() + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def dashboard(runtime: Runtime, port: int, clock: Clock) -> AsyncIterator[str]:
    """The base URL of the real server (aiohttp, the same build_app as `pustaka run`)."""
    assert runtime.settings.public_url is not None
    board = Dashboard(
        runtime.storage,
        runtime.translator,
        timezone=runtime.settings.timezone,
        public_url=runtime.settings.public_url,
        clock=clock,
    )
    server = WebServer(build_app([], ["telegram"], {PREFIX: board.app()}))
    await server.start("127.0.0.1", port)
    yield f"http://127.0.0.1:{port}"
    await server.stop()


def browser() -> aiohttp.ClientSession:
    # unsafe: keep cookies of an IP-address host (127.0.0.1), as browsers do.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def chat_link(tg: TelegramHarness, user_id: int, command: str = "/dasbor") -> str:
    """The sign-in link the bot sends in Telegram."""
    found = LINK.search(texts(await tg.send(user_id, command)))
    assert found is not None, "no dashboard link in the reply"
    return found.group(1)


async def sign_in(http: aiohttp.ClientSession, link: str) -> aiohttp.ClientResponse:
    """Open the link, then press the sign-in button, as a person does."""
    async with http.get(link) as page:
        body = await page.text()
        assert page.status == 200, body
    token = re.search(r'name="token" value="([^"]+)"', body)
    assert token is not None
    base = link.split("/dasbor/", 1)[0]
    async with http.post(
        f"{base}/dasbor/masuk", data={"token": token.group(1)}, allow_redirects=False
    ) as done:
        await done.read()
        return done


async def grant(runtime: Runtime, user_id: int, role: str, scope: str | None = None) -> None:
    by = await runtime.storage.staff.role_of(channel="telegram", external_id=str(ADMIN))
    assert by is not None
    if role == "librarian":
        assert scope is not None
        await runtime.storage.staff.grant(
            by=by,
            channel="telegram",
            external_id=str(user_id),
            role=role,
            library_id=await library_id(runtime, scope),
            now=utcnow(),
        )
    else:
        await runtime.storage.staff.grant(
            by=by,
            channel="telegram",
            external_id=str(user_id),
            role=role,
            regency_code=scope,
            now=utcnow(),
        )


@dataclass
class Dataset:
    month: str
    ende_event: int
    alor_event: int
    names: list[str]


async def dataset(runtime: Runtime, *, odd_name: str = "Orang 0") -> Dataset:
    """Last month (WITA): an Ende event (3 seats: 2 present, 1 no-show; 1 walk-in; 1 waiting)
    and an Alor event (2 seats, 1 present); 2 new residents in Ende, 1 in Alor. The month
    before: one Ende event with 1 seat, present."""
    now = utcnow()
    local = now.astimezone(ZoneInfo(runtime.settings.timezone))
    year, month = (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
    start, _ = month_bounds(year, month, runtime.settings.timezone)
    day = start + timedelta(days=9, hours=2)
    before = start - timedelta(days=10)

    async def event(slug: str, when: datetime, title: str) -> int:
        return await runtime.storage.staff_events.create(
            NewEvent(
                library_id=await library_id(runtime, slug),
                title=title,
                category="computer",
                description="",
                place=None,
                starts_at=when,
                ends_at=when + timedelta(hours=2),
                capacity=3,
                registration_closes_at=None,
                questions=("gender", "age_band", "village"),
                status="finished",
            ),
            actor="test",
            role="admin",
            now=now,
        )

    ende = await event("perpus-ende", day, "Kelas <b>komputer</b> Ende")
    alor = await event("perpus-alor", day, "Tenun Alor")
    older = await event("perpus-ende", before, "Kelas lama")
    people = {}
    for ext, regency, created in (
        ("9201", "ende", day),
        ("9202", "ende", day),
        ("9203", "alor", day),
    ):
        made = await runtime.storage.residents.ensure(
            channel="telegram", external_id=ext, language="id", now=created
        )
        await runtime.storage.residents.give_consent(resident_id=made.id, now=created)
        await runtime.storage.residents.set_regency(
            resident_id=made.id, regency_code=regency, now=utcnow()
        )
        people[ext] = made.id
    present = to_db(day + timedelta(minutes=30))
    rows = [
        (ende, "9201", 0, odd_name, "confirmed", "female", "u18", present, None),
        (ende, "9202", 0, "Orang 1", "confirmed", "male", "18_35", present, None),
        (ende, "9201", 1, "Orang 2", "confirmed", "female", "36_55", None, None),
        (ende, "9202", 1, "Orang 3", "walk_in", "female", "55p", present, None),
        (ende, "9203", 0, "Orang 4", "waitlisted", None, None, None, 1),
        (alor, "9203", 0, "Orang 5", "confirmed", "female", "18_35", present, None),
        (alor, "9201", 1, "Orang 6", "confirmed", "male", "18_35", None, None),
        (older, "9201", 1, "Orang 7", "confirmed", "female", "u18", to_db(before), None),
    ]
    async with runtime.storage.db.transaction() as conn:
        for event_id, ext, proxy, name, status, gender, age, attended, seq in rows:
            await conn.execute(
                "INSERT INTO registrations (event_id, resident_id, is_proxy, name, gender, "
                "age_band, village, status, waitlist_seq, attended_at, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, 'Oebobo', ?, ?, ?, ?)",
                (
                    event_id,
                    people[ext],
                    proxy,
                    name,
                    gender,
                    age,
                    status,
                    seq,
                    attended,
                    to_db(day - timedelta(days=3)),
                ),
            )
    return Dataset(f"{year}-{month:02d}", ende, alor, [r[3] for r in rows])
