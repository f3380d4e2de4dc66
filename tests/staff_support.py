"""Shared pieces of the staff tests: an admin in the configuration, residents made quickly."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Secret, Settings, StaffId
from bot.runtime import Runtime
from storage.clock import utcnow
from storage.models import Resident
from tests.fakes.telegram_api import FakeBotApi

ADMIN = 9001


@pytest.fixture
def settings(fake_api: FakeBotApi, db_path: Path) -> Settings:
    """The conftest settings plus one admin named in PUSTAKA_ADMINS."""
    return Settings(
        telegram_token=Secret(fake_api.token),
        telegram_api_url=fake_api.url,
        db_path=str(db_path),
        admins=(StaffId("telegram", str(ADMIN)),),
    )


async def resident(
    runtime: Runtime,
    user_id: int,
    regency: str,
    *,
    language: str = "id",
    announcements_off: bool = False,
    consent: bool = True,
) -> Resident:
    """A resident as onboarding leaves them, without going through the chat (fast)."""
    residents = runtime.storage.residents
    made = await residents.ensure(
        channel="telegram", external_id=str(user_id), language=language, now=utcnow()
    )
    if not consent:
        return made
    await residents.give_consent(resident_id=made.id, now=utcnow())
    made = await residents.set_regency(resident_id=made.id, regency_code=regency, now=utcnow())
    if announcements_off:
        made = await residents.set_announcements_off(resident_id=made.id, off=True, now=utcnow())
    return made


async def library_id(runtime: Runtime, slug: str) -> int:
    found = await runtime.storage.staff.library_id(slug=slug)
    assert found is not None
    return found


async def outbox_rows(runtime: Runtime, prefix: str = "broadcast:") -> list[dict[str, object]]:
    return [
        dict(r)
        for r in await runtime.storage.db.reader.fetchall(
            "SELECT * FROM outbox WHERE dedupe_key LIKE ? ORDER BY id", (prefix + "%",)
        )
    ]


async def set_outbox_status(runtime: Runtime, ids: list[int], status: str) -> None:
    """Stand in for the delivery worker: mark rows delivered or failed."""
    async with runtime.storage.db.transaction() as conn:
        await conn.executemany(
            "UPDATE outbox SET status = ? WHERE id = ?", [(status, i) for i in ids]
        )
