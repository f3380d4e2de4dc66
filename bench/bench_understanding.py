"""How much of what residents type is understood, and how long a free-text message takes.

1. The phrasebook (tests/data/phrasebook.yaml: free text and typed answers at every step) said
   through the dispatcher, each with its expected outcome: the share understood (target >= 97 %).
2. Every free-text phrase of the phrasebook through `Dispatcher.handle` (session load, routing,
   understanding, the answer's queries, session save), timed one by one: p50 / p95 per message
   over the sample content and over a large content file (3,000 libraries, 20,000 events),
   target p95 < 5 ms; `/menu` timed the same way as the baseline (a message with nothing to
   understand).

    .venv/bin/python bench/bench_understanding.py
"""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import Settings  # noqa: E402
from bot.content import REGENCY_CODES, parse_content  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from handlers.types import Incoming, Reply  # noqa: E402
from storage.clock import utcnow
from storage.content import ContentRepo, EventRecord, LibraryRecord  # noqa: E402
from tests import phrasebook  # noqa: E402

LIBRARIES = 3000
EVENTS = 20000
CHANNEL = "bench"


@dataclass
class Shown:
    """A reply as the phrasebook's runner reads it (text and buttons), from a core Reply."""

    text: str
    buttons: list[tuple[str, str]]


class DispatcherHarness:
    """The phrasebook's harness without a channel: messages straight to the dispatcher."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.timings: list[float] | None = None

    async def _handle(self, incoming: Incoming) -> list[Shown]:
        started = time.perf_counter()
        replies: list[Reply] = await self.runtime.dispatcher.handle(incoming)
        if self.timings is not None:
            self.timings.append(time.perf_counter() - started)
        return [Shown(r.text, [(c.label, c.payload) for c in r.choices]) for r in replies]

    async def send(self, user: Any, text: str) -> list[Shown]:
        return await self._handle(Incoming.from_text(channel=CHANNEL, user_id=str(user), text=text))

    async def tap(self, user: Any, payload: str) -> list[Shown]:
        return await self._handle(Incoming(CHANNEL, str(user), payload=payload))

    async def onboard(self, user: Any, *, language: str = "id", regency: str = "ende") -> None:
        await self.send(user, "/start")
        await self.tap(user, f"lang:{language}")
        await self.tap(user, "consent:yes")
        await self.tap(user, f"home:{regency}")


async def _open(db: Path, large: bool) -> Runtime:
    runtime = await Runtime.open(Settings(db_path=str(db)))
    text = resources.files("bot.sample").joinpath("ntt.yaml").read_text("utf-8")
    today = datetime.now(ZoneInfo(runtime.settings.timezone)).date()
    content = parse_content(text, timezone=runtime.settings.timezone, today=today)
    repo = ContentRepo(runtime.storage.db)
    await repo.import_content(content, is_sample=True, now=utcnow())
    if large:
        await repo.import_content(_large(content.events[0].starts_at), is_sample=True, now=utcnow())
    return runtime


@dataclass
class _Large:
    libraries: tuple[LibraryRecord, ...]
    events: tuple[EventRecord, ...]
    aliases: tuple[Any, ...] = ()


_WORDS = [
    "Pelatihan Komputer Dasar",
    "Olahan Pangan Lokal",
    "Tenun Ikat",
    "Bahasa Inggris",
    "Jualan Online",
    "Mendongeng",
    "Foto Produk",
    "Literasi Digital",
    "Kerajinan Anyaman",
    "Budidaya Sayur",
    "Menjahit",
]
_CATEGORIES = ("computer", "food", "weaving", "english", "marketing", "children", "other")


def _large(start: datetime) -> _Large:
    """3,000 village libraries across the regencies and 20,000 events over the next 60 days."""
    rng = random.Random(10)
    codes = sorted(REGENCY_CODES)
    libraries = tuple(
        LibraryRecord(
            slug=f"bench-lib-{n}",
            name=f"Perpustakaan Desa {rng.choice(['Oe', 'Wai', 'Nua', 'Lewo', 'Ka'])}{n}",
            level="village",
            regency_code=codes[n % len(codes)],
            village=f"Desa{n}",
            address=f"Jalan Desa {n}",
            opening_hours="Senin–Sabtu 14.00–17.00",
            contact=None,
            services=("Peminjaman buku",),
        )
        for n in range(LIBRARIES)
    )
    events = []
    for n in range(EVENTS):
        begins = start + timedelta(hours=rng.randrange(60 * 24))
        events.append(
            EventRecord(
                slug=f"bench-ev-{n}",
                library_slug=f"bench-lib-{rng.randrange(LIBRARIES)}",
                title=f"{rng.choice(_WORDS)} {n}",
                category=rng.choice(_CATEGORIES),
                description="Kegiatan contoh untuk pengukuran.",
                place=None,
                starts_at=begins,
                ends_at=begins + timedelta(hours=2),
                capacity=30,
                waitlist_limit=None,
                questions=("gender", "age_band"),
                status="open",
                registration_opens_at=None,
                registration_closes_at=None,
            )
        )
    return _Large(libraries, tuple(events))


async def _share(runtime: Runtime) -> tuple[int, int, list[tuple[phrasebook.Phrase, str]]]:
    harness = DispatcherHarness(runtime)
    runner = phrasebook.Runner(
        harness, runtime, phrasebook.counter(1), lambda user: (CHANNEL, str(user))
    )
    phrases = phrasebook.load()
    missed = await phrasebook.run_all(runner, phrases)
    return len(phrases) - len(missed), len(phrases), missed


async def _timings(runtime: Runtime, rounds: int = 5) -> tuple[list[float], list[float]]:
    """Free-text phrases and /menu, each message timed on its own (a resident of Sikka)."""
    harness = DispatcherHarness(runtime)
    said = [p.say for p in phrasebook.load() if p.at == "free"]
    user = "timed"
    await harness.onboard(user, regency="sikka")
    free: list[float] = []
    menu: list[float] = []
    for _ in range(rounds):
        for text in said:
            await harness.send(user, "/batal")  # no flow a phrase started carries over
            harness.timings = menu
            await harness.send(user, "/menu")
            harness.timings = free
            await harness.send(user, text)
            harness.timings = None
    return free, menu


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(int(q * len(ordered)), len(ordered) - 1)]


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runtime = await _open(Path(tmp) / "sample.db", large=False)
        try:
            understood, total, missed = await _share(runtime)
            gc.collect()
            sample_free, sample_menu = await _timings(runtime)
        finally:
            await runtime.close()
        runtime = await _open(Path(tmp) / "large.db", large=True)
        try:
            large_free, large_menu = await _timings(runtime)
        finally:
            await runtime.close()
    share = understood / total
    print(f"phrasebook  : {understood}/{total} understood = {share:.1%}  (target >= 97 %)")
    for phrase, text in missed[:20]:
        print(f"   missed {phrase.at} {phrase.say!r} (expected {phrase.expect}): {text[:80]!r}")
    for name, free, menu in (
        ("sample", sample_free, sample_menu),
        (f"{LIBRARIES} libraries / {EVENTS} events", large_free, large_menu),
    ):
        p95 = _ms(free, 0.95)
        print(
            f"free text, {name}: {len(free)} messages, p50 {_ms(free, 0.5):.2f} ms, "
            f"p95 {p95:.2f} ms, max {1000 * max(free):.1f} ms  (target p95 < 5 ms: "
            f"{'met' if p95 < 5 else 'NOT met'}); /menu p50 {_ms(menu, 0.5):.2f} ms, "
            f"p95 {_ms(menu, 0.95):.2f} ms; free/menu p95 ratio "
            f"{p95 / _ms(menu, 0.95):.1f}; mean {1000 * statistics.mean(free):.2f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
