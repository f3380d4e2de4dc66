"""Several real `pustaka run` processes on one PostgreSQL database, in Telegram webhook mode, for
the multi-instance tests and benchmarks. Each instance has its own HTTP port; updates are POSTed
to their webhooks as Telegram would, replies go to one fake Bot API."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.fakes.telegram_api import FakeBotApi
from tests.pustaka_process import free_port, pustaka_env

SECRET = "scaleout-secret"
# Four inputs a new person gets four different one-message answers to: a person's replies,
# in the order received, must follow this cycle.
CYCLE = ("/bantuan", "/menu", "halo", "/privasi")


@dataclass
class Instance:
    port: int
    process: asyncio.subprocess.Process

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    db_url: str
    api: FakeBotApi
    folder: Path
    rate: float
    concurrency: int = 8
    lease: int = 3
    instances: list[Instance] = field(default_factory=list)

    def env(self, port: int) -> dict[str, str]:
        return pustaka_env(
            PUSTAKA_DB=self.db_url,
            TELEGRAM_BOT_TOKEN=self.api.token,
            TELEGRAM_API_URL=self.api.url,
            TELEGRAM_WEBHOOK_URL="https://bot.example.org/webhooks/telegram",
            TELEGRAM_WEBHOOK_SECRET=SECRET,
            PUSTAKA_HTTP_PORT=str(port),
            PUSTAKA_TELEGRAM_RATE=str(self.rate),
            PUSTAKA_DELIVERY_CONCURRENCY=str(self.concurrency),
            PUSTAKA_DELIVERY_LEASE=str(self.lease),
            PTB_TIMEDELTA="1",
        )

    async def start(self, count: int) -> None:
        for _ in range(count):
            port = free_port()
            # The process's output, for a failing test's reader.
            log = open(self.folder / f"run-{port}.log", "ab")  # noqa: SIM115, ASYNC230
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                cwd=self.folder,
                env=self.env(port),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
            log.close()
            self.instances.append(Instance(port, process))
        async with aiohttp.ClientSession() as http:
            for instance in self.instances:
                await wait_healthy(http, instance)

    async def stop(self) -> None:
        for instance in self.instances:
            if instance.process.returncode is None:
                instance.process.send_signal(signal.SIGTERM)
        for instance in self.instances:
            try:
                await asyncio.wait_for(instance.process.wait(), 30)
            except TimeoutError:
                instance.process.kill()
                await instance.process.wait()


async def wait_healthy(http: aiohttp.ClientSession, instance: Instance, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while True:
        if instance.process.returncode is not None:
            raise RuntimeError(f"instance on {instance.port} exited {instance.process.returncode}")
        try:
            async with http.get(instance.url + "/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"instance on {instance.port} never became healthy")
        await asyncio.sleep(0.1)


async def health(http: aiohttp.ClientSession, instance: Instance) -> dict[str, Any]:
    async with http.get(instance.url + "/healthz") as response:
        return dict(await response.json())


def update(update_id: int, chat: int, text: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": chat, "type": "private", "first_name": "Warga"},
        "from": {"id": chat, "is_bot": False, "first_name": "Warga", "language_code": "id"},
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return {"update_id": update_id, "message": message}


async def post(http: aiohttp.ClientSession, instance: Instance, body: dict[str, Any]) -> None:
    """POST one update as Telegram does; Telegram retries anything but a 2xx, so do we (for a
    minute: a loaded machine may keep an instance busy for seconds; the limit only turns a
    hang into a failure)."""
    for _ in range(600):
        try:
            async with http.post(
                instance.url + "/webhooks/telegram",
                json=body,
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            ) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("update never accepted")


def max_in_any_second(times: list[float]) -> int:
    """The most sends inside any one-second window (sliding)."""
    ordered = sorted(times)
    best = start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def per_chat(api: FakeBotApi) -> Counter[str]:
    return Counter(call.chat_id for call in api.sent())


def python_env() -> dict[str, str]:
    return dict(os.environ)
