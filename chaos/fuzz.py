"""Property-based fuzzing of every way in (issue 15): the dispatcher's typed text and button
payloads, and both webhooks over real HTTP, with hypothesis generating the inputs.

A failure is anything unhandled: an exception logged at ERROR by our code or python-telegram-bot,
a 5xx from a webhook, or a reply that is the generic "something went wrong" (or "busy"). Failures
are collected, not raised, so one run reports how many of N inputs failed and shows a few.

`make chaos` runs 10,000 inputs per surface; tests/test_reliability_fuzz.py a few hundred.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

os.environ.setdefault("PTB_TIMEDELTA", "1")

from bot.channels.telegram import TelegramChannel  # noqa: E402
from bot.channels.telegram_webhook import SECRET_HEADER, TelegramWebhook  # noqa: E402
from bot.channels.whatsapp import WhatsAppChannel  # noqa: E402
from bot.config import Secret, Settings, StaffId  # noqa: E402
from bot.config_whatsapp import WhatsAppSettings  # noqa: E402
from bot.content import parse_content  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.web import WebServer, build_app  # noqa: E402
from handlers.router import COMMAND_HANDLERS, PAYLOADS  # noqa: E402
from handlers.types import Incoming  # noqa: E402
from storage.clock import utcnow
from storage.content import ContentRepo  # noqa: E402
from tests.fakes import whatsapp_api as wa_fake  # noqa: E402
from tests.fakes.telegram_api import FakeBotApi  # noqa: E402
from tests.fakes.whatsapp_api import FakeGraphApi  # noqa: E402
from tests.whatsapp_harness import APP_SECRET, VERIFY_TOKEN, envelope, sign  # noqa: E402

ADMIN = 9001
USERS = [ADMIN, *range(7001, 7013)]  # some onboarded, some mid-flow, some new
SECRET = "chaos-secret_1"


@dataclass
class Surface:
    name: str
    tried: int = 0
    failures: int = 0
    examples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def fail(self, what: str) -> None:
        self.failures += 1
        if len(self.examples) < 5:
            self.examples.append(what[:300])


class ErrorLog(logging.Handler):
    """ERROR records (with or without a traceback) from the code under test."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("bot", "handlers", "storage", "telegram", "aiohttp")):
            self.records.append(record)

    def __enter__(self) -> ErrorLog:
        root = logging.getLogger()
        self._level = root.level
        # ERROR records must reach this handler, whatever the caller configured.
        root.setLevel(min(self._level or logging.WARNING, logging.ERROR))
        root.addHandler(self)
        return self

    def __exit__(self, *_: object) -> None:
        root = logging.getLogger()
        root.removeHandler(self)
        root.setLevel(self._level)

    def take(self) -> list[str]:
        found = [
            f"{r.name}: {r.getMessage()[:200]} {r.exc_info[1]!r}"
            if r.exc_info
            else f"{r.name}: {r.getMessage()[:200]}"
            for r in self.records
        ]
        self.records.clear()
        return found


# --- strategies ---------------------------------------------------------------------------------

_WORDS = [
    "halo",
    "P",
    "iya",
    "sonde",
    "beta",
    "su",
    "jam buka",
    "acara minggu ini",
    "tenun",
    "komputer",
    "help",
    "menu",
    "1",
    "2",
    "10",
    "0",
    "-1",
    "²",
    "①",
    "１２",
    "٣",
    "Ende",
    "Kupang",
    "yg",
    "dgn",
    "ABCDEF",
    "ZZZZZZ",
    "99999999999999999999999",
    "Ana\x01Budi",
    "\u202eabc",
    "\ud800",
    "a\u200bb",
]
_COMMANDS = sorted(COMMAND_HANDLERS) + ["unknown", "start@pustaka_bot", ""]
_PREFIXES = sorted(PAYLOADS) + ["~more", "x", ""]

text_inputs = st.one_of(
    st.text(max_size=200),
    st.sampled_from(_WORDS),
    st.builds(lambda a, b: f"{a} {b}", st.sampled_from(_WORDS), st.text(max_size=30)),
    st.builds(lambda c, a: f"/{c} {a}".rstrip(), st.sampled_from(_COMMANDS), st.text(max_size=60)),
    st.text(alphabet=st.characters(categories=["Nd", "No", "Cc", "Cf", "Cs"]), max_size=12),
    st.integers().map(str),
    st.text(min_size=990, max_size=1100),
)
_ARG_PIECES = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["*", "h", "ende", "kupang", "30", "0", "yes", "no", "-", "female", "18_35"]),
    st.text(max_size=20),
)
payload_inputs = st.one_of(
    st.builds(
        lambda p, parts: ":".join([p, *parts]),
        st.sampled_from(_PREFIXES),
        st.lists(_ARG_PIECES, max_size=5),
    ),
    st.text(max_size=80),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


# --- the system under test ------------------------------------------------------------------------


async def _runtime(folder: Path, api: FakeBotApi) -> Runtime:
    settings_ = Settings(
        telegram_token=Secret(api.token),
        telegram_api_url=api.url,
        db_path=str(folder / "fuzz.db"),
        admins=(StaffId("telegram", str(ADMIN)),),
    )
    runtime = await Runtime.open(settings_)
    text = resources.files("bot.sample").joinpath("ntt.yaml").read_text("utf-8")
    today = datetime.now(ZoneInfo(settings_.timezone)).date()
    content = parse_content(text, timezone=settings_.timezone, today=today)
    await ContentRepo(runtime.storage.db).import_content(content, is_sample=True, now=utcnow())
    # Onboard most users, and leave a few in the middle of a flow.
    for user in USERS[:8]:
        for step in ("/start",):
            await runtime.dispatcher.handle(
                Incoming.from_text(channel="telegram", user_id=str(user), text=step)
            )
        for payload in ("lang:id", "consent:yes", "home:ende"):
            await runtime.dispatcher.handle(Incoming("telegram", str(user), payload=payload))
    for user, flow in ((7003, "/hadir"), (7004, "/acarabaru"), (ADMIN, "/siaran")):
        await runtime.dispatcher.handle(
            Incoming.from_text(channel="telegram", user_id=str(user), text=flow)
        )
    return runtime


def _check_replies(surface: Surface, runtime: Runtime, replies: list[Any], what: str) -> None:
    bad = {
        runtime.translator.text(lang, key)
        for lang in ("id", "en")
        for key in ("common.error", "common.busy")
    }
    for reply in replies:
        if reply.text in bad:
            surface.fail(f"error reply to {what!r}")


def _run_hypothesis(
    loop: asyncio.AbstractEventLoop,
    strategy: st.SearchStrategy[Any],
    count: int,
    body: Callable[[Any], Awaitable[None]],
) -> None:
    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(value: Any) -> None:
        loop.run_until_complete(body(value))

    run()


def fuzz_dispatcher(count: int, folder: Path) -> list[Surface]:
    with ErrorLog() as errors:
        return _fuzz_dispatcher(count, folder, errors)


def _fuzz_dispatcher(count: int, folder: Path, errors: ErrorLog) -> list[Surface]:
    loop = asyncio.new_event_loop()
    api = loop.run_until_complete(FakeBotApi().start())
    runtime = loop.run_until_complete(_runtime(folder, api))
    texts, payloads = Surface("fuzz: dispatcher text"), Surface("fuzz: button payloads")
    users = st.sampled_from(USERS)

    async def one(surface: Surface, incoming: Incoming) -> None:
        surface.tried += 1
        started = time.perf_counter()
        try:
            replies = await runtime.dispatcher.handle(incoming)
        except Exception as exc:  # the dispatcher must never raise
            surface.fail(f"{incoming!r}: {exc!r}")
            return
        surface.latencies.append(time.perf_counter() - started)
        _check_replies(surface, runtime, replies, incoming.text or str(incoming.payload))
        for found in errors.take():
            surface.fail(f"{incoming!r}: {found}")

    try:
        _run_hypothesis(
            loop,
            st.tuples(users, text_inputs),
            count,
            lambda v: one(
                texts, Incoming.from_text(channel="telegram", user_id=str(v[0]), text=v[1])
            ),
        )
        _run_hypothesis(
            loop,
            st.tuples(users, payload_inputs),
            count,
            lambda v: one(payloads, Incoming("telegram", str(v[0]), payload=v[1] or "?")),
        )
    finally:
        loop.run_until_complete(runtime.close())
        loop.run_until_complete(api.stop())
        loop.close()
    return [texts, payloads]


def _telegram_update(value: Any, kind: str, user: int, n: int) -> Any:
    sender = {"id": user, "is_bot": False, "first_name": "Warga", "language_code": "id"}
    if kind == "message":
        text = value if isinstance(value, str) else json.dumps(value)[:300]
        message: dict[str, Any] = {
            "message_id": n,
            "date": int(time.time()),
            "chat": {"id": user, "type": "private"},
            "from": sender,
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split(" ")[0])}
            ]
        return {"update_id": n, "message": message}
    if kind == "callback":
        data = value if isinstance(value, str) else json.dumps(value)[:64]
        return {
            "update_id": n,
            "callback_query": {
                "id": str(n),
                "from": sender,
                "chat_instance": "ci",
                "data": data,
                "message": {
                    "message_id": n,
                    "date": int(time.time()),
                    "chat": {"id": user, "type": "private"},
                    "text": "…",
                },
            },
        }
    if kind == "field":
        return {"update_id": n, "message": value}
    if kind == "deep":
        return [value] * 3 if not isinstance(value, dict) else {"update_id": n, **value}
    return value


def fuzz_webhooks(count: int, folder: Path) -> list[Surface]:
    loop = asyncio.new_event_loop()
    try:
        with ErrorLog() as errors:
            return loop.run_until_complete(_fuzz_webhooks(loop, count, folder, errors))
    finally:
        loop.close()


async def _fuzz_webhooks(
    loop: asyncio.AbstractEventLoop, count: int, folder: Path, errors: ErrorLog
) -> list[Surface]:
    api = await FakeBotApi().start()
    graph = await FakeGraphApi().start()
    runtime = await _runtime(folder, api)
    app = TelegramChannel(runtime.settings, runtime.dispatcher, runtime.translator).build()
    webhook = TelegramWebhook(app, SECRET)
    wa = WhatsAppChannel(
        WhatsAppSettings(
            token=Secret(wa_fake.TOKEN),
            phone_number_id=wa_fake.PHONE_NUMBER_ID,
            app_secret=Secret(APP_SECRET),
            verify_token=Secret(VERIFY_TOKEN),
            api_url=graph.url,
            api_version=wa_fake.VERSION,
        ),
        runtime.dispatcher,
        runtime.translator,
        runtime.storage.whatsapp,
    )
    await wa.start()
    server = WebServer(build_app([*webhook.routes(), *wa.routes()], ["telegram", "whatsapp"]))
    port = await server.start("127.0.0.1", 0)
    base = f"http://127.0.0.1:{port}"
    telegram, whatsapp = Surface("fuzz: Telegram webhook"), Surface("fuzz: WhatsApp webhook")
    bad = {
        runtime.translator.text(lang, key)
        for lang in ("id", "en")
        for key in ("common.error", "common.busy")
    }
    counter = iter(range(1, 10**9))
    await app.initialize()
    await app.start()
    http = aiohttp.ClientSession()

    async def post_telegram(value: Any) -> None:
        kind, payload, user = value
        telegram.tried += 1
        n = next(counter)
        if kind == "raw":
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        elif kind == "nest":
            body = b"[" * payload + b"]" * payload
        else:
            body = json.dumps(_telegram_update(payload, kind, user, n)).encode()
        before = len(api.calls)
        started = time.perf_counter()
        async with http.post(
            f"{base}/webhooks/telegram", data=body, headers={SECRET_HEADER: SECRET}
        ) as response:
            status = response.status
        if status >= 500:
            telegram.fail(f"HTTP {status} for {body[:200]!r}")
        # The update is handled from the application's queue: wait for it to be taken.
        for _ in range(500):
            if app.update_queue.empty() and not app._update_processor.current_concurrent_updates:
                break
            await asyncio.sleep(0.002)
        telegram.latencies.append(time.perf_counter() - started)
        for call in api.calls[before:]:
            if call.text in bad:
                telegram.fail(f"error reply to {body[:200]!r}")
        for found in errors.take():
            telegram.fail(f"{body[:200]!r}: {found}")

    async def post_whatsapp(value: Any) -> None:
        kind, payload, phone = value
        whatsapp.tried += 1
        n = next(counter)
        if kind == "raw":
            data: Any = payload
        elif kind == "nest":
            data = None
            body = b'{"entry":' + b"[" * payload + b"]" * payload + b"}"
        elif kind == "text":
            data = envelope(
                {
                    "messages": [
                        {
                            "from": phone,
                            "id": f"wamid.F{n}",
                            "timestamp": str(int(time.time())),
                            "type": "text",
                            "text": {
                                "body": payload if isinstance(payload, str) else json.dumps(payload)
                            },
                        }
                    ]
                }
            )
        elif kind == "button":
            data = envelope(
                {
                    "messages": [
                        {
                            "from": phone,
                            "id": f"wamid.F{n}",
                            "timestamp": str(int(time.time())),
                            "type": "interactive",
                            "interactive": {
                                "type": "button_reply",
                                "button_reply": {
                                    "id": payload
                                    if isinstance(payload, str)
                                    else json.dumps(payload),
                                    "title": "x",
                                },
                            },
                        }
                    ]
                }
            )
        else:  # a message or status with random fields
            data = envelope({kind: [payload] if not isinstance(payload, list) else payload})
        if kind != "nest":
            body = json.dumps(data).encode()
        before = len(graph.sent)
        started = time.perf_counter()
        async with http.post(
            f"{base}/webhooks/whatsapp",
            data=body,
            headers={"X-Hub-Signature-256": sign(body), "Content-Type": "application/json"},
        ) as response:
            status = response.status
        if status >= 500:
            whatsapp.fail(f"HTTP {status} for {body[:200]!r}")
        await wa.drain()
        whatsapp.latencies.append(time.perf_counter() - started)
        for sent in graph.sent[before:]:
            if sent.text in bad:
                whatsapp.fail(f"error reply to {body[:200]!r}")
        for found in errors.take():
            whatsapp.fail(f"{body[:200]!r}: {found}")

    telegram_inputs = st.one_of(
        st.tuples(st.just("message"), text_inputs | json_values, st.sampled_from(USERS)),
        st.tuples(st.just("callback"), payload_inputs | json_values, st.sampled_from(USERS)),
        st.tuples(st.just("field"), json_values, st.just(0)),
        st.tuples(st.just("deep"), json_values, st.just(0)),
        st.tuples(st.just("raw"), json_values | st.binary(max_size=50), st.just(0)),
        st.tuples(st.just("nest"), st.integers(min_value=1, max_value=3000), st.just(0)),
    )
    phones = st.sampled_from(
        ["6281200000001", "6281200000002", "+62 812-0000-0003", "0812000004", "x", "1" * 40]
    )
    whatsapp_inputs = st.one_of(
        st.tuples(st.just("text"), text_inputs | json_values, phones),
        st.tuples(st.just("button"), payload_inputs | json_values, phones),
        st.tuples(
            st.sampled_from(["messages", "statuses", "errors", "contacts"]), json_values, phones
        ),
        st.tuples(st.just("raw"), json_values, phones),
        st.tuples(st.just("nest"), st.integers(min_value=1, max_value=3000), phones),
    )

    def run(strategy: st.SearchStrategy[Any], body: Callable[[Any], Awaitable[None]]) -> None:
        @settings(
            max_examples=count,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def inner(value: Any) -> None:
            future = asyncio.run_coroutine_threadsafe(body(value), loop)
            future.result()

        inner()

    try:
        # Hypothesis drives synchronously from a thread while the server runs on this loop.
        await asyncio.to_thread(run, telegram_inputs, post_telegram)
        await asyncio.to_thread(run, whatsapp_inputs, post_whatsapp)
    finally:
        await http.close()
        await app.stop()
        await app.shutdown()
        await server.stop()
        await wa.close()
        await runtime.close()
        await api.stop()
        await graph.stop()
    return [telegram, whatsapp]


def fuzz_all(count: int) -> list[Surface]:
    with tempfile.TemporaryDirectory() as folder:
        first, second = Path(folder) / "dispatcher", Path(folder) / "webhooks"
        first.mkdir()
        second.mkdir()
        return fuzz_dispatcher(count, first) + fuzz_webhooks(count, second)
