"""Operating a deployment from the command line: `pustaka migrate`, `backup`, `restore` (SQLite)
and `copy --from pustaka.db --to postgresql://...`, which must not lose a row."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import Storage
from storage.clock import to_db, utcnow
from storage.models import Session
from storage.transfer import tables_in_order
from tests import pg_support
from tests.delivery_helpers import message
from tests.pustaka_process import pustaka_env, run_pustaka


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    url = await pg_support.create_database("pg_copy")
    yield url
    await pg_support.drop_database(url)


async def _fill(path: Path) -> None:
    """A deployment with people, sessions, registrations, outbox and audit rows."""
    storage = await Storage.open(path)
    try:
        now = utcnow()
        event = await storage.db.fetchone("SELECT id FROM events ORDER BY id LIMIT 1")
        assert event is not None
        for n in range(30):
            resident = await storage.residents.ensure(
                channel="telegram", external_id=str(9000 + n), language="id", now=utcnow()
            )
            await storage.residents.give_consent(resident_id=resident.id, now=now)
            await storage.sessions.save(
                Session("telegram", str(9000 + n), {"flow": "menu"}), now=utcnow()
            )
            await storage.registrations.register(
                event_id=event["id"], resident_id=resident.id, name=f"Warga {n}", now=now
            )
        await storage.outbox.add_many([message(n) for n in range(50)], now=utcnow())
        await storage.db.write(
            "INSERT INTO audit_log (at, actor, role, action, target) VALUES (?, ?, ?, ?, ?)",
            (to_db(now), "telegram:1", "admin", "grant", "telegram:77"),
        )
    finally:
        await storage.close()


def _counts(path: Path) -> dict[str, int]:
    """Rows per table that the copy carries (SQLite's own full-text index tables excluded)."""
    conn = sqlite3.connect(path)
    try:
        return {
            n: conn.execute(f"SELECT count(*) FROM {n}").fetchone()[0]
            for n in tables_in_order(conn)
        }
    finally:
        conn.close()


async def test_copy_to_postgresql_keeps_every_row_and_the_bot_works_there(
    tmp_path: Path, pg_url: str
) -> None:
    db = tmp_path / "pustaka.db"
    env = pustaka_env(PUSTAKA_DB=str(db))
    assert (await asyncio.to_thread(run_pustaka, tmp_path, env, "init", "--sample")).returncode == 0
    await _fill(db)
    before = _counts(db)
    assert before["sessions"] == 30 and before["outbox"] >= 50 and before["audit_log"] >= 1

    done = await asyncio.to_thread(
        run_pustaka, tmp_path, env, "copy", "--from", str(db), "--to", pg_url
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "counts match" in done.stdout

    target = await Storage.open(pg_url)
    try:
        for table, count in before.items():
            row = await target.db.fetchone(f"SELECT count(*) FROM {table}")
            assert row is not None and row[0] == count, table
        # New rows continue after the copied ids, and the data reads back through the repos.
        resident = await target.residents.ensure(
            channel="telegram", external_id="new-person", language="en", now=utcnow()
        )
        assert resident.id > max(before["residents"], 0)
        session = await target.sessions.load(channel="telegram", external_id="9003")
        assert session.state.get("flow") == "menu"
    finally:
        await target.close()

    again = await asyncio.to_thread(
        run_pustaka, tmp_path, env, "copy", "--from", str(db), "--to", pg_url
    )
    assert again.returncode == 1 and "not empty" in again.stdout


async def test_backup_while_open_and_restore(tmp_path: Path) -> None:
    db = tmp_path / "pustaka.db"
    env = pustaka_env(PUSTAKA_DB=str(db))
    assert (await asyncio.to_thread(run_pustaka, tmp_path, env, "init", "--sample")).returncode == 0
    storage = await Storage.open(db)  # the bot is running: the backup must still be whole
    try:
        await storage.outbox.add_many([message(n) for n in range(20)], now=utcnow())
        done = await asyncio.to_thread(run_pustaka, tmp_path, env, "backup", "copy.db")
        assert done.returncode == 0, done.stderr
        await storage.outbox.add_many([message(n) for n in range(20, 40)], now=utcnow())
    finally:
        await storage.close()
    assert _counts(tmp_path / "copy.db")["outbox"] == 20
    assert _counts(db)["outbox"] == 40

    done = await asyncio.to_thread(run_pustaka, tmp_path, env, "restore", "copy.db")
    assert done.returncode == 0, done.stderr
    assert _counts(db)["outbox"] == 20

    (tmp_path / "junk.db").write_text("not a database")
    refused = await asyncio.to_thread(run_pustaka, tmp_path, env, "restore", "junk.db")
    assert refused.returncode == 1 and "not a Pustaka database" in refused.stdout
    assert _counts(db)["outbox"] == 20


async def test_migrate_on_both_engines(tmp_path: Path, pg_url: str) -> None:
    from storage.db import _migrations

    latest = max(number for number, _ in _migrations())
    for target in (str(tmp_path / "m.db"), pg_url):
        done = await asyncio.to_thread(
            run_pustaka, tmp_path, pustaka_env(PUSTAKA_DB=target), "migrate"
        )
        assert done.returncode == 0, done.stderr
        assert f"schema version {latest}" in done.stdout
