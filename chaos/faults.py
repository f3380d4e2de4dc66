"""Faults against a real `pustaka run` process (python -m bot run) and a fake Bot API on
loopback that can misbehave: kill -9 in a loop during an announcement, another process holding
the database's write lock for 30 s across a graceful stop, the database file deleted under the
running bot, 60 s of Bot API 500s / timeouts / connection resets while residents write, and 200
residents chatting during a 10,000-recipient announcement against a fake that answers 429 past
30 messages/s. Each returns one row of the table chaos/run.py prints."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import signal
import sqlite3
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web

from storage import Storage
from storage.clock import utcnow
from storage.outbox import OutboxMessage
from tests.fakes.telegram_api import FakeBotApi
from tests.pustaka_process import free_port, pustaka_env

SECRET = "chaos-webhook_1"


@dataclass
class Row:
    scenario: str
    tried: int = 0
    failures: int = 0
    lost: int = 0
    duplicated: int = 0
    latencies: list[float] = field(default_factory=list)
    rss_before: int | None = None  # kB
    rss_after: int | None = None
    notes: list[str] = field(default_factory=list)

    def percentile(self, q: int) -> float | None:
        if not self.latencies:
            return None
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1]


class ChaosApi(FakeBotApi):
    """The fake Bot API, plus outages (500, timeout, reset) and per-chat arrival times."""

    outage: str | None = None
    arrivals: dict[str, list[float]]
    changed: asyncio.Event

    async def start(self) -> ChaosApi:
        self.arrivals = defaultdict(list)
        self.changed = asyncio.Event()
        await super().start()
        return self

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if self.outage and method.startswith(("send", "edit", "answer")):
            await request.read()
            if self.outage == "500":
                return self._error(500, "Internal Server Error")
            if self.outage == "timeout":
                await asyncio.sleep(8)  # past python-telegram-bot's 5 s read timeout
                return self._error(504, "Gateway Timeout")
            if request.transport is not None:  # "reset": the connection just drops
                request.transport.abort()
            return web.Response(status=500)
        before = len(self.calls)
        response = await super()._handle(request)
        if len(self.calls) > before and self.calls[-1].method.startswith("send"):
            self.arrivals[self.calls[-1].chat_id].append(time.monotonic())
            self.changed.set()
        return response


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class BotProcess:
    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self.log = folder / "run.log"

    async def start(self) -> None:
        with open(self.log, "ab") as out:  # noqa: ASYNC230 (a test script)
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                cwd=self.folder,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    async def term(self, limit: float = 180) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), limit)

    async def wait(self, limit: float) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), limit)


async def until(predicate: Any, limit: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return bool(predicate())


def rows(n: int, key: str) -> list[OutboxMessage]:
    return [
        OutboxMessage(
            dedupe_key=f"broadcast:{key}:{i}",
            kind="announcement",
            channel="telegram",
            recipient=str(50_000 + i),
            text=f"Pengumuman {i}: kelas tenun Sabtu ini",
        )
        for i in range(n)
    ]


async def prepared_db(path: Path, messages: list[OutboxMessage]) -> None:
    storage = await Storage.open(path)
    try:
        await storage.outbox.add_many(messages, now=utcnow())
    finally:
        await storage.close()


def bulk_counts(api: ChaosApi, n: int) -> tuple[int, int]:
    """(lost, duplicated) of the announcement rows 50,000 .. 50,000 + n."""
    got = Counter(c.chat_id for c in api.sent() if 50_000 <= int(c.chat_id) < 50_000 + n)
    return n - len(got), sum(got.values()) - len(got)


def env_for(api: ChaosApi, db: Path, **extra: str) -> dict[str, str]:
    return pustaka_env(
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_URL=api.url,
        PUSTAKA_DB=str(db),
        PTB_TIMEDELTA="1",
        **extra,
    )


# --- kill -9 ----------------------------------------------------------------------------------


async def kill_loop(folder: Path, *, kills: int = 20, total: int = 3000) -> Row:
    row = Row(f"kill -9 x{kills} during a {total:,}-row announcement", tried=total)
    api = await ChaosApi().start()
    try:
        db = folder / "kill.db"
        await prepared_db(db, rows(total, "kill"))
        env = env_for(api, db, PUSTAKA_TELEGRAM_RATE="200")
        step = max(total // (kills + 5), 20)
        for _ in range(kills):
            bot = BotProcess(folder, env)
            start = len(api.sent())
            await bot.start()
            await until(lambda s=start: len(api.sent()) >= s + step, 60)
            bot.kill()
            await bot.wait(30)
        bot = BotProcess(folder, env)
        await bot.start()
        await until(lambda: bulk_counts(api, total)[0] == 0, 180)
        if await bot.term() != 0:
            row.failures += 1
        row.lost, row.duplicated = bulk_counts(api, total)
        row.notes.append(f"duplicates allowed: <= {kills} x 16 in flight = {kills * 16}")
    finally:
        await api.stop()
    return row


# --- a 30 s database lock across a graceful stop -------------------------------------------


async def lock_and_stop(folder: Path, *, total: int = 2000, hold: float = 30.0) -> Row:
    row = Row(f"DB write lock {hold:.0f} s + SIGTERM during it", tried=total)
    api = await ChaosApi().start()
    other = None
    try:
        db = folder / "lock.db"
        await prepared_db(db, rows(total, "lock"))
        env = env_for(api, db, PUSTAKA_TELEGRAM_RATE="100")
        bot = BotProcess(folder, env)
        await bot.start()
        await until(lambda: len(api.sent()) >= total // 10, 60)
        other = sqlite3.connect(db, isolation_level=None, check_same_thread=False, timeout=30)
        await asyncio.to_thread(other.execute, "BEGIN IMMEDIATE")
        taken = time.monotonic()
        await asyncio.sleep(5)
        bot.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        await asyncio.sleep(max(hold - (time.monotonic() - taken), 0))
        other.execute("ROLLBACK")
        if await bot.wait(150) != 0:
            row.failures += 1
        stuck = (
            sqlite3.connect(db)
            .execute("SELECT count(*) FROM outbox WHERE status = 'sending'")
            .fetchone()[0]
        )
        if stuck:
            row.notes.append(f"{stuck} rows left 'sending' after the graceful stop")
            row.failures += 1
        bot = BotProcess(folder, env)
        await bot.start()
        await until(lambda: bulk_counts(api, total)[0] == 0, 120)
        if await bot.term() != 0:
            row.failures += 1
        row.lost, row.duplicated = bulk_counts(api, total)
    finally:
        if other is not None:
            other.close()
        await api.stop()
    return row


# --- the database file deleted under the running bot ---------------------------------------


async def deleted_file(folder: Path) -> Row:
    row = Row("DB file deleted while running, then restart", tried=2)
    api = await ChaosApi().start()
    try:
        db = folder / "deleted.db"
        await prepared_db(db, [])
        env = env_for(api, db)
        bot = BotProcess(folder, env)
        await bot.start()
        await until(lambda: any(c.method == "getUpdates" for c in api.calls), 30)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240
        started = time.monotonic()
        code = await bot.wait(60)
        row.latencies.append(time.monotonic() - started)
        text = bot.log.read_text(errors="replace")
        if code != 1 or "was removed while the bot was running" not in text:
            row.failures += 1
            row.notes.append(f"running bot: exit {code}")
        bot = BotProcess(folder, env)
        await bot.start()
        code = await bot.wait(60)
        text = bot.log.read_text(errors="replace")
        if code != 1 or "refusing to start" not in text or db.exists():
            row.failures += 1
            row.notes.append(f"restart: exit {code}, database created: {db.exists()}")
    finally:
        await api.stop()
    return row


# --- residents writing through a 60 s Bot API outage ---------------------------------------


def _update(n: int, user: int, text: str) -> dict[str, Any]:
    entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {
        "update_id": n,
        "message": {
            "message_id": n,
            "date": int(time.time()),
            "chat": {"id": user, "type": "private", "first_name": "Warga"},
            "from": {"id": user, "is_bot": False, "first_name": "Warga", "language_code": "id"},
            "text": text,
            **({"entities": entities} if text.startswith("/") else {}),
        },
    }


_update_ids = itertools.count(1)


async def post_update(http: ClientSession, port: int, user: int, text: str) -> int:
    async with http.post(
        f"http://127.0.0.1:{port}/webhooks/telegram",
        data=json.dumps(_update(next(_update_ids), user, text)),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
    ) as response:
        return response.status


def webhook_env(api: ChaosApi, db: Path, port: int, **extra: str) -> dict[str, str]:
    return env_for(
        api,
        db,
        TELEGRAM_WEBHOOK_URL="https://pustaka.example.id/webhooks/telegram",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        PUSTAKA_HTTP_PORT=str(port),
        **extra,
    )


async def api_outage(folder: Path, *, seconds: float = 60.0, residents: int = 60) -> Row:
    row = Row(f"Bot API down {seconds:.0f} s (500, timeout, reset)", tried=residents)
    api = await ChaosApi().start()
    try:
        db = folder / "outage.db"
        await prepared_db(db, [])
        port = free_port()
        bot = BotProcess(folder, webhook_env(api, db, port))
        await bot.start()
        await until(lambda: any(c.method == "setWebhook" for c in api.calls), 60)
        async with ClientSession() as http:
            users = [600_000 + i for i in range(residents)]
            posted: dict[str, float] = {}
            started = time.monotonic()
            for i, user in enumerate(users):
                phase = (time.monotonic() - started) / seconds
                api.outage = "500" if phase < 1 / 3 else "timeout" if phase < 2 / 3 else "reset"
                if await post_update(http, port, user, "/start") != 200:
                    row.failures += 1
                posted[str(user)] = time.monotonic()
                await asyncio.sleep(
                    max(started + (i + 1) * seconds / residents - time.monotonic(), 0)
                )
            api.outage = None  # the API is back
            await until(lambda: all(api.arrivals.get(u) for u in posted), 300, 0.2)
        for user, at in posted.items():
            got = api.arrivals.get(user, [])
            if not got:
                row.lost += 1
            else:
                row.latencies.append(got[0] - at)
                row.duplicated += len(got) - 1
        row.rss_after = rss_kb(bot.pid)
        if await bot.term() != 0:
            row.failures += 1
        row.notes.append("latency = from writing to the answer, the outage included")
    finally:
        await api.stop()
    return row


# --- load: 200 residents during a 10,000-recipient announcement, 429 past 30/s --------------


async def load_run(
    folder: Path, *, residents: int = 200, total: int = 10_000, each: int = 3
) -> Row:
    row = Row(f"{residents} residents during a {total:,}-recipient announcement, 30/s", tried=total)
    api = await ChaosApi(rate_limit=30, retry_after=1).start()
    try:
        db = folder / "load.db"
        await prepared_db(db, rows(total, "load"))
        port = free_port()
        bot = BotProcess(folder, webhook_env(api, db, port))
        await bot.start()
        await until(lambda: len(api.sent()) >= 50, 60)
        row.rss_before = rss_kb(bot.pid)
        lost_replies = duplicated_replies = 0
        async with ClientSession() as http:

            async def resident(user: int) -> None:
                nonlocal lost_replies, duplicated_replies
                chat = str(user)
                await asyncio.sleep(random.uniform(0, 60))
                for _ in range(each):
                    before = len(api.arrivals.get(chat, []))
                    at = time.monotonic()
                    await post_update(http, port, user, "/menu")
                    ok = await until(
                        lambda b=before: len(api.arrivals.get(chat, [])) > b, 120, 0.02
                    )
                    if not ok:
                        lost_replies += 1
                        continue
                    row.latencies.append(api.arrivals[chat][before] - at)
                    await asyncio.sleep(random.uniform(5, 30))

            await asyncio.gather(*(resident(700_000 + i) for i in range(residents)))
            await until(lambda: bulk_counts(api, total)[0] == 0, 1200, 0.5)
        row.rss_after = rss_kb(bot.pid)
        if await bot.term() != 0:
            row.failures += 1
        row.lost, row.duplicated = bulk_counts(api, total)
        for user in range(700_000, 700_000 + residents):
            extra = len(api.arrivals.get(str(user), [])) - each
            duplicated_replies += max(extra, 0)
        row.lost += lost_replies
        row.duplicated += duplicated_replies
        row.tried = total + residents * each
        row.notes.append(
            f"{residents * each} replies: {lost_replies} unanswered; 429s from the fake: "
            f"{api.too_many}; latency = replies"
        )
    finally:
        await api.stop()
    return row


os.environ.setdefault("PTB_TIMEDELTA", "1")
