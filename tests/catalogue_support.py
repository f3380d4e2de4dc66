"""Shared pieces of the catalogue tests: books in the shape the fake OAI server serves, and a
database with two libraries whose catalogues point at fake servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

from bot.content import parse_content
from storage import Storage
from storage.clock import utcnow
from storage.content import ContentRepo
from tests.fakes.oai_pmh import FakeBook

FARMING = [
    ("Budidaya Kelor untuk Pangan dan Kesehatan", "Pertanian; Kelor", "633.8 SUS b"),
    ("Bertani Jagung di Lahan Kering", "Pertanian; Jagung", "633.15 NDU b"),
    ("Tenun Ikat Sumba: Motif dan Makna", "Tenun; Kerajinan tangan", "746.1 LUN t"),
    ("Resep Masakan Khas Nusa Tenggara Timur", "Masakan Indonesia; Resep", "641.59 BAN r"),
    ("Dongeng Anak dari Flores", "Cerita rakyat; Bacaan anak", "398.2 DAL d"),
]


def books(count: int, *, start: int = 1, created: datetime | None = None) -> list[FakeBook]:
    """`count` distinct books; every fifth a known title, the rest numbered variants of them."""
    base = created or datetime(2025, 3, 1, tzinfo=UTC)
    out = []
    for n in range(start, start + count):
        title, subjects, call = FARMING[n % len(FARMING)]
        out.append(
            FakeBook(
                id=n,
                title=title if n < start + len(FARMING) else f"{title} Jilid {n}",
                authors=(f"Penulis {n}", "Maria Ndun"),
                subjects=tuple(subjects.split("; ")),
                publisher="Penebar Swadaya",
                year=str(2000 + n % 25),
                call_number=call,
                isbn=f"978-602-{n:05d}-0",
                dewey=call.split()[0],
                created=base + timedelta(minutes=n),
            )
        )
    return out


async def library_ids(storage: Storage) -> dict[str, int]:
    rows = await storage.db.fetchall("SELECT slug, id FROM libraries")
    return {r["slug"]: r["id"] for r in rows}


async def point_catalogues(storage: Storage, **urls: tuple[str, str]) -> None:
    """slug=(system, url) for each library whose catalogue is harvested in the test."""
    ids = await library_ids(storage)
    for slug, (system, url) in urls.items():
        await storage.catalogue.set_source(library_id=ids[slug], system=system, url=url)


async def titles(storage: Storage, slug: str) -> list[str]:
    rows = await storage.db.fetchall(
        "SELECT r.title FROM catalogue_records r JOIN libraries l ON l.id = r.library_id "
        "WHERE l.slug = ? ORDER BY r.title",
        (slug,),
    )
    return [r[0] for r in rows]


async def load_sample_into(storage: Storage) -> None:
    """The sample libraries and events (not their catalogue: a test harvests its own)."""
    text = resources.files("bot.sample").joinpath("ntt.yaml").read_text("utf-8")
    today = datetime.now(ZoneInfo("Asia/Makassar")).date()
    content = parse_content(text, timezone="Asia/Makassar", today=today)
    await ContentRepo(storage.db).import_content(content, is_sample=True, now=utcnow())
    await storage.db.write("DELETE FROM catalogue_sources")
