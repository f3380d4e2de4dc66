"""The database file is not silently lost (issue 15): a restart refuses to create an empty
database where one was, or to take another file in its place; a running `pustaka run` notices
its file removed and stops with a clear line."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from storage import Storage
from storage.guard import DatabaseMissing, marker_path
from tests.fakes.telegram_api import FakeBotApi
from tests.pustaka_process import pustaka_env, run_pustaka, start_pustaka_run


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def test_a_removed_database_is_not_replaced_by_an_empty_one(tmp_path: Path) -> None:
    path = tmp_path / "pustaka.db"
    storage = await Storage.open(path)
    await storage.close()
    assert marker_path(path).exists()
    _remove(path)
    with pytest.raises(DatabaseMissing, match="refusing"):
        await Storage.open(path)
    assert not path.exists()
    # Starting afresh on purpose: the marker goes with the file.
    marker_path(path).unlink()
    storage = await Storage.open(path)
    await storage.close()


async def test_another_database_in_its_place_is_refused(tmp_path: Path) -> None:
    path, other = tmp_path / "pustaka.db", tmp_path / "other.db"
    for p in (path, other):
        storage = await Storage.open(p)
        await storage.close()
    _remove(path)
    shutil.copy(other, path)
    with pytest.raises(DatabaseMissing, match="not the database"):
        await Storage.open(path)


async def test_running_bot_stops_when_its_file_is_removed_and_will_not_restart(
    tmp_path: Path, fake_api: FakeBotApi
) -> None:
    db = tmp_path / "pustaka.db"
    env = pustaka_env(
        TELEGRAM_BOT_TOKEN=fake_api.token, TELEGRAM_API_URL=fake_api.url, PUSTAKA_DB=str(db)
    )
    assert run_pustaka(tmp_path, env, "init").returncode == 0
    process = await start_pustaka_run(tmp_path, env)
    try:
        for _ in range(300):  # until it serves (it polls the fake Bot API)
            if any(c.method == "getUpdates" for c in fake_api.calls):
                break
            await asyncio.sleep(0.05)
        _remove(db)
        _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 1
    assert "was removed while the bot was running" in err.decode()
    again = run_pustaka(tmp_path, env, "run")
    assert again.returncode == 1 and "refusing to start" in again.stderr
    assert not db.exists()
