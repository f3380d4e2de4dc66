"""Catalogue figures: harvest rate and memory, search latency over a million records, index size,
and whether Indonesian stemming helps recall.

1. Harvest: N records (default 30,000, then 3 x N to show memory stays flat) from the fake
   OAI-PMH server (tests/fakes/oai_pmh.py, pages rendered in advance, served from its own
   process so it does not share this one's CPU time), INLISLite MARCXML and SLiMS Dublin Core,
   through the real harvest (Sickle, pymarc, staging, one-transaction replace, FTS5 index).
   Target: >= 2,000 records/s, peak RSS flat as N grows.
2. Search: M records (default 1,000,000) written straight into the catalogue (the harvest's rows,
   stems included), then 1,000 searches of a realistic mix (one word, two words, typos, old
   spellings, a very common word) through Catalogue.search: p50/p95/max; target p95 < 20 ms.
   Index size: the database file and the FTS5 tables' share of it.
3. Stemming: recall and precision of Indonesian queries with affixes ("bertani", "menenun") on
   the sample catalogue, with and without the stems column.

    .venv/bin/python bench/bench_catalogue.py [N] [M]
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.catalogue.harvest import harvest_source  # noqa: E402
from bot.catalogue.progress import Progress  # noqa: E402
from bot.catalogue.sample import bundled_server  # noqa: E402
from storage import Storage  # noqa: E402
from storage.catalogue import BookRecord, staging_row  # noqa: E402
from storage.catalogue_text import fold  # noqa: E402
from tests.catalogue_support import load_sample_into  # noqa: E402
from tests.fakes.oai_pmh import FakeBook, FakeOAI  # noqa: E402

WORDS = (  # noqa: SIM905 - words read better as words
    "budidaya bertani jagung kelor padi sorgum kacang tanaman pertanian lahan kering panduan "
    "praktis tenun ikat motif sumba flores timor kain warna alami masakan resep kue sambal "
    "ikan daging olahan pangan gizi anak dongeng cerita rakyat legenda danau pulau laut "
    "nelayan sapi babi kambing ayam ternak pupuk organik air bersih desa koperasi usaha kecil "
    "pemasaran digital komputer internet bahasa inggris wisata sejarah budaya adat rumah "
    "perempuan ibu kesehatan sekolah belajar membaca menulis berhitung matematika sains hujan "
    "kebun hutan cendana lontar kopi kakao kelapa pisang vanili rumput bawang cabai tomat "
    "sayuran buah"
).split()
NAMES = (  # noqa: SIM905 - words read better as words
    "yohanes maria petrus agustina fransiskus siti dewi antonius rahmawati sutrisno yosef ina "
    "ndun lende bria kolo bere nope tefa laga hadi ilyas aminah lestari toer pramoedya hamka"
).split()


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _books(n: int) -> list[FakeBook]:
    rng = random.Random(n)
    out = []
    for i in range(1, n + 1):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7))).capitalize()
        author = f"{rng.choice(NAMES).title()} {rng.choice(NAMES).title()}"
        out.append(
            FakeBook(
                id=i,
                title=title,
                authors=(author,),
                subjects=(rng.choice(WORDS).title(), rng.choice(WORDS).title()),
                publisher="Penerbit Contoh",
                year=str(1980 + i % 45),
                call_number=f"{rng.randint(0, 999):03d}.{rng.randint(0, 99)} ABC x",
                isbn=f"978602{i:07d}",
                dewey=f"{rng.randint(0, 999):03d}",
            )
        )
    return out


def _serve(system: str, n: int, ready: multiprocessing.Queue[str]) -> None:  # type: ignore[type-arg]
    """The fake server in its own process, every page rendered before the first request."""
    from aiohttp import web

    async def main() -> None:
        fake = FakeOAI(system, _books(n), page_size=100)
        pages: dict[str, bytes] = {}
        app = web.Application()

        async def handle(request: web.Request) -> web.Response:
            key = request.query_string
            body = pages.get(key)
            if body is None:
                params = dict(request.query)
                verb = params.get("verb")
                text = (
                    fake.list_metadata_formats()
                    if verb == "ListMetadataFormats"
                    else fake.list_records(params)
                )
                body = pages[key] = text.encode("utf-8")
            return web.Response(body=body, content_type="text/xml")

        app.router.add_get("/oai", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}/oai"
        # Warm the cache: walk every page once so the timed harvest measures the client only.
        prefix = "marcxml" if system == "inlislite" else "oai_dc"
        params = {"verb": "ListRecords", "metadataPrefix": prefix}
        while True:
            from urllib.parse import urlencode

            text = fake.list_records(params)
            pages[urlencode(params)] = text.encode("utf-8")
            token = re.search(r"<resumptionToken[^>]*>([^<]+)</resumptionToken>", text)
            if token is None:
                break
            params = {"verb": "ListRecords", "resumptionToken": token.group(1)}
        pages["verb=ListMetadataFormats"] = fake.list_metadata_formats().encode("utf-8")
        ready.put(fake.url)
        await asyncio.Event().wait()

    asyncio.run(main())


async def _harvest_once(system: str, n: int, folder: Path) -> tuple[float, float, float]:
    ctx = multiprocessing.get_context("spawn")
    ready: multiprocessing.Queue[str] = ctx.Queue()  # type: ignore[type-arg]
    server = ctx.Process(target=_serve, args=(system, n, ready), daemon=True)
    server.start()
    url = await asyncio.to_thread(ready.get, True, 600)
    storage = await Storage.open(folder / f"harvest-{system}-{n}.db")
    try:
        await load_sample_into(storage)
        ids = {
            r["slug"]: r["id"] for r in await storage.db.fetchall("SELECT slug, id FROM libraries")
        }
        slug = "perpus-provinsi-ntt" if system == "inlislite" else "perpus-sikka"
        await storage.catalogue.set_source(library_id=ids[slug], system=system, url=url)
        source = (await storage.catalogue.sources(slug=slug))[0]
        peak = [_rss_mb()]
        before = peak[0]

        class Watched(Progress):
            def record(self) -> None:
                super().record()
                if self.read % 2000 == 0:
                    peak[0] = max(peak[0], _rss_mb())

        started = time.perf_counter()
        outcome = await harvest_source(storage, source, progress=Watched(slug, None, bar=False))
        seconds = time.perf_counter() - started
        assert outcome.error is None, outcome.error
        assert outcome.counts is not None and outcome.counts.total == n
        return n / seconds, before, max(peak[0], _rss_mb())
    finally:
        await storage.close()
        server.terminate()
        server.join()


async def bench_harvest(n: int, folder: Path) -> None:
    print(f"Harvest from the fake OAI-PMH server (its own process), {n:,} and {3 * n:,} records:")
    for system in ("inlislite", "slims"):
        for count in (n, 3 * n):
            rate, before, peak = await _harvest_once(system, count, folder)
            verdict = "ok" if rate >= 2000 else "BELOW TARGET"
            print(
                f"  {system:<9} {count:>7,} records: {rate:>6,.0f} records/s "
                f"(target >= 2,000: {verdict}); RSS {before:.0f} MB before, peak {peak:.0f} MB"
            )


def _fill(path: Path, m: int) -> None:
    """M records straight into the catalogue, through the harvest's own row builder."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    library_ids = [r[0] for r in conn.execute("SELECT id FROM libraries ORDER BY id")]
    rng = random.Random(7)
    books = _books(20_000)
    batch: list[tuple[object, ...]] = []
    terms: set[str] = set()
    insert = (
        "INSERT INTO catalogue_records (library_id, identifier, title, authors, subjects, stems, "
        "publisher, year, call_number, isbn, language, work_key, digest) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    conn.execute("BEGIN")
    for i in range(m):
        b = books[i % len(books)]
        # Titles recombined so the index holds M distinct records, not 20,000 repeated.
        words = b.title.split()
        rng.shuffle(words)
        title = " ".join(words) + ("" if i < 20_000 else f" jilid {i // 20_000}")
        record = BookRecord(
            identifier=f"oai:bench:{i}",
            title=title.capitalize(),
            authors=b.authors,
            subjects=b.subjects,
            publisher=b.publisher,
            year=b.year,
            call_number=b.call_number,
            isbn=b.isbn,
            language="ind",
        )
        row = staging_row(library_ids[i % len(library_ids)], record)
        batch.append((row[0], row[1], *row[3:-1]))
        terms.update(json.loads(str(row[-1])))
        if len(batch) >= 20_000:
            conn.executemany(insert, batch)
            batch = []
    if batch:
        conn.executemany(insert, batch)
    conn.executemany("INSERT OR IGNORE INTO catalogue_terms VALUES (?)", [(t,) for t in terms])
    conn.execute("COMMIT")
    conn.execute("INSERT INTO catalogue_fts (catalogue_fts) VALUES ('optimize')")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _queries(count: int) -> list[str]:
    rng = random.Random(11)
    out = []
    for i in range(count):
        kind = i % 10
        if kind in (0, 1, 2):
            out.append(rng.choice(WORDS))
        elif kind in (3, 4, 5):
            out.append(f"{rng.choice(WORDS)} {rng.choice(WORDS)}")
        elif kind == 6:  # a typo
            word = rng.choice([w for w in WORDS if len(w) >= 5])
            cut = rng.randrange(1, len(word) - 1)
            out.append(word[:cut] + word[cut + 1 :])
        elif kind == 7:
            out.append(f"ada buku tentang {rng.choice(WORDS)}?")
        elif kind == 8:
            out.append(rng.choice(["novel pramudya", "buku pertanian", "tenun ikat sumba"]))
        else:
            out.append(f"{rng.choice(NAMES)} {rng.choice(WORDS)}")
    return out


async def bench_search(m: int, folder: Path) -> None:
    path = folder / "search.db"
    storage = await Storage.open(path)
    await load_sample_into(storage)
    await storage.close()
    started = time.perf_counter()
    await asyncio.to_thread(_fill, path, m)
    print(f"\nSearch over {m:,} records (written in {time.perf_counter() - started:.0f} s):")
    storage = await Storage.open(path)
    try:
        queries = _queries(1000)
        for q in queries[:20]:  # warm the page cache and the stemmer
            await storage.catalogue.search(text=q, home_regency="sikka", offset=0, limit=5)
        times = []
        found = 0
        for q in queries:
            t0 = time.perf_counter()
            result = await storage.catalogue.search(text=q, home_regency="sikka", offset=0, limit=5)
            times.append((time.perf_counter() - t0) * 1000)
            found += bool(result.books)
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        verdict = "ok" if p95 < 20 else "ABOVE TARGET"
        print(
            f"  1,000 searches: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms "
            f"(target < 20 ms: {verdict}), max {times[-1]:.1f} ms; {found} found books"
        )
        size = path.stat().st_size / 2**20
        row = await storage.db.fetchone(
            "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'catalogue_fts%'"
        )
        fts = (row[0] or 0) / 2**20 if row else 0
        print(f"  database file {size:,.0f} MB, of which the FTS5 index {fts:,.0f} MB")
    finally:
        await storage.close()


# Queries with Indonesian affixes, and what a librarian would count as relevant: any record
# whose title or subjects carry a word of the same root.
RECALL_QUERIES = {
    "bertani": r"\b(tani|petani|bertani|pertanian)\b",
    "petani": r"\b(tani|petani|bertani|pertanian)\b",
    "menenun": r"\b(tenun|menenun|tenunan|penenun)\b",
    "penenun": r"\b(tenun|menenun|tenunan|penenun)\b",
    "memasak": r"\b(masak|memasak|masakan)\b",
    "masakan": r"\b(masak|memasak|masakan)\b",
    "mengolah": r"\b(olah|olahan|pengolahan|mengolah)\b",
    "olahan": r"\b(olah|olahan|pengolahan|mengolah)\b",
    "beternak": r"\b(ternak|beternak|peternakan)\b",
    "perikanan": r"\b(ikan|perikanan)\b",
    "menanam": r"\b(tanam|menanam|tanaman)\b",
    "pewarna": r"\b(warna|pewarna|pewarnaan)\b",
    "pemasaran": r"\b(pasar|pemasaran)\b",
    "bacaan": r"\b(baca|membaca|bacaan)\b",
    "penjualan": r"\b(jual|menjual|penjualan|jualan)\b",
}


async def bench_stemming(folder: Path) -> None:
    storage = await Storage.open(folder / "recall.db")
    try:
        await load_sample_into(storage)
        ids = {
            r["slug"]: r["id"] for r in await storage.db.fetchall("SELECT slug, id FROM libraries")
        }
        await storage.catalogue.set_source(
            library_id=ids["perpus-provinsi-ntt"],
            system="inlislite",
            url="https://contoh-inlislite.pustaka.invalid/oai-pmh",
        )
        await storage.db.write("UPDATE catalogue_sources SET url = url")
        async with bundled_server() as url_for:
            source = (await storage.catalogue.sources(slug="perpus-provinsi-ntt"))[0]
            await harvest_source(
                storage, source, url=url_for(source), progress=Progress.quiet("sample")
            )
        rows = await storage.db.fetchall("SELECT id, title, subjects FROM catalogue_records")
        print(f"\nStemming (Sastrawi) on the sample catalogue ({len(rows)} records), "
              f"{len(RECALL_QUERIES)} queries with affixes:")  # fmt: skip
        for stemming in (False, True):
            storage.catalogue.stemming = stemming
            recalls, precisions = [], []
            for query, pattern in RECALL_QUERIES.items():
                relevant = {
                    r["id"]
                    for r in rows
                    if re.search(pattern, fold(f"{r['title']} {r['subjects']}"))
                }
                result = await storage.catalogue.search(
                    text=query, home_regency=None, offset=0, limit=1000
                )
                got = {b.record_id for b in result.books}
                recalls.append(len(got & relevant) / len(relevant) if relevant else 1.0)
                precisions.append(len(got & relevant) / len(got) if got else 1.0)
            print(
                f"  stemming {'on ' if stemming else 'off'}: mean recall "
                f"{statistics.mean(recalls):.2f}, mean precision {statistics.mean(precisions):.2f}"
            )
    finally:
        await storage.close()


async def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30_000
    m = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        await bench_stemming(folder)
        await bench_harvest(n, folder)
        await bench_search(m, folder)


if __name__ == "__main__":
    asyncio.run(main())
