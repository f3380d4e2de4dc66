"""Dashboard benchmark (run by `make bench`).

A year of data (the same generator as bench_staff.py: 110,000 residents, 1,000 events,
50,000 registrations) behind the real HTTP server; a signed-in browser session (aiohttp client)
asks for the overview and the regency table of each month, several rounds, as an admin
(province) and as a coordinator (one regency). Printed: p50 / p95 / max page time over HTTP
(target: p95 < 150 ms), the page weight (HTML, and the stylesheet fetched once), and for
comparison in the same process: /statistik's figures for the same months (the chat's version
of the overview) and a /healthz round trip (the HTTP floor).

Figures go to stdout; nothing is asserted on time (machines differ).
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402

from bench.bench_staff import YEAR, _residents, _year_of_events  # noqa: E402
from bot.dashboard.web import PREFIX, Dashboard  # noqa: E402
from bot.i18n import Translator  # noqa: E402
from bot.web import WebServer, build_app  # noqa: E402
from handlers.staff.stats import compute  # noqa: E402
from storage import Storage  # noqa: E402
from storage.clock import to_db, utcnow  # noqa: E402

ROUNDS = 3
TARGET_MS = 150
WEIGHT_LIMIT = 100_000


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _session(storage: Storage, base: str, user: str) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    token = await storage.dashboard.create_link(
        channel="telegram", external_id=user, language="id", now=utcnow()
    )
    async with http.post(
        f"{base}{PREFIX}/masuk", data={"token": token}, allow_redirects=False
    ) as response:
        assert response.status == 303, response.status
    return http


def _summary(label: str, timings: list[float], sizes: list[int]) -> str:
    ordered = sorted(timings)
    p95 = ordered[max(0, round(len(ordered) * 0.95) - 1)]
    verdict = "met" if p95 * 1000 < TARGET_MS else "NOT met"
    return (
        f"{label}: {len(timings)} pages, p50 {statistics.median(ordered) * 1000:.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms (target p95 < {TARGET_MS} ms: "
        f"{verdict}); HTML {min(sizes) / 1024:.1f}-{max(sizes) / 1024:.1f} KiB "
        f"(limit {WEIGHT_LIMIT / 1000:.0f} KB: {'met' if max(sizes) < WEIGHT_LIMIT else 'NOT met'})"
    )


async def _pages(
    http: aiohttp.ClientSession, base: str, path: str
) -> tuple[list[float], list[int]]:
    timings, sizes = [], []
    for _ in range(ROUNDS):
        for month in range(1, 13):
            began = time.perf_counter()
            async with http.get(f"{base}{PREFIX}/{path}?month={YEAR}-{month:02d}") as response:
                body = await response.read()
            timings.append(time.perf_counter() - began)
            assert response.status == 200, (path, response.status)
            sizes.append(len(body))
    return timings, sizes


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        storage = await Storage.open(Path(folder) / "bench.db")
        server = None
        try:
            regencies = [r.code for r in await storage.libraries.regencies()]
            began = time.perf_counter()
            await _residents(storage, regencies)
            await _year_of_events(storage, regencies)
            print(f"setup: a year of data in {time.perf_counter() - began:.1f} s")
            now = to_db(utcnow())
            async with storage.db.transaction() as conn:
                for user, role, regency in (("1", "admin", None), ("2", "coordinator", "ende")):
                    await conn.execute(
                        "INSERT INTO staff_roles (channel, external_id, role, regency_code, "
                        "granted_by, granted_at) VALUES ('telegram', ?, ?, ?, 'bench', ?)",
                        (user, role, regency, now),
                    )
            port = _port()
            base = f"http://127.0.0.1:{port}"
            translator = Translator("Asia/Makassar")
            board = Dashboard(storage, translator, timezone="Asia/Makassar", public_url=base)
            server = WebServer(build_app([], ["bench"], {PREFIX: board.app()}))
            await server.start("127.0.0.1", port)

            for user, scope in (("1", "province (admin)"), ("2", "Ende (coordinator)")):
                http = await _session(storage, base, user)
                try:
                    await _pages(http, base, "")  # warm-up: templates compiled, caches filled
                    for label, path in (
                        ("overview", ""),
                        ("regency table", "wilayah"),
                        ("events (for information)", "acara"),
                        ("charts (for information)", "grafik"),
                    ):
                        timings, sizes = await _pages(http, base, path)
                        print(_summary(f"{label}, {scope}", timings, sizes))
                    async with http.get(f"{base}{PREFIX}/gaya.css") as css:
                        stylesheet = len(await css.read())
                finally:
                    await http.close()
            print(f"stylesheet (fetched once, cached a day): {stylesheet / 1024:.1f} KiB")

            # Baselines in the same process.
            figures = []
            for scope_code in (None, "ende"):
                for month in range(1, 13):
                    began = time.perf_counter()
                    await compute(
                        storage,
                        year=YEAR,
                        month=month,
                        regency_code=scope_code,
                        timezone="Asia/Makassar",
                    )
                    figures.append(time.perf_counter() - began)
            print(
                f"baseline /statistik figures (in process, no HTTP): 24 months, "
                f"mean {statistics.mean(figures) * 1000:.1f} ms, max {max(figures) * 1000:.1f} ms"
            )
            async with aiohttp.ClientSession() as plain:
                floor = []
                for _ in range(50):
                    began = time.perf_counter()
                    async with plain.get(f"{base}/healthz") as response:
                        await response.read()
                    floor.append(time.perf_counter() - began)
            print(f"baseline /healthz round trip: median {statistics.median(floor) * 1000:.2f} ms")
        finally:
            if server is not None:
                await server.stop()
            await storage.close()


if __name__ == "__main__":
    asyncio.run(main())
