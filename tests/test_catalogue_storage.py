"""The catalogue index on its own: ranking (title, then subjects, then authors), accents, one
typo per word, old spellings, stems, the resident's regency first."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage import Storage
from storage.catalogue import BookRecord, staging_row
from storage.clock import utcnow
from tests.catalogue_support import library_ids, load_sample_into


@pytest.fixture
async def storage(db_target: str) -> AsyncIterator[Storage]:
    # Each test on SQLite (FTS5) and on PostgreSQL (tsvector): one search, two engines.
    store = await Storage.open(db_target)
    await load_sample_into(store)
    yield store
    await store.close()


async def _put(storage: Storage, slug: str, *records: BookRecord) -> None:
    library = (await library_ids(storage))[slug]
    await storage.catalogue.set_source(library_id=library, system="slims", url="http://x/oai.php")
    await storage.catalogue.start_harvest(library_id=library, now=utcnow())
    await storage.catalogue.stage([staging_row(library, r) for r in records])
    await storage.catalogue.finish_harvest(
        library_id=library, full=True, started_at=utcnow(), now=utcnow(), is_sample=False
    )


async def _titles(storage: Storage, text: str, home: str | None = None) -> list[str]:
    result = await storage.catalogue.search(text=text, home_regency=home, offset=0, limit=20)
    return [b.title for b in result.books]


async def test_title_outranks_subject_outranks_author(storage: Storage) -> None:
    await _put(
        storage,
        "perpus-sikka",
        BookRecord("a", title="Cerita Rakyat Flores", authors=("Maria Kelor",)),
        BookRecord("s", title="Tanaman Obat Keluarga", subjects=("Kelor", "Herbal")),
        BookRecord("t", title="Budidaya Kelor", authors=("Yohanes Ndun",)),
    )
    assert await _titles(storage, "kelor") == [
        "Budidaya Kelor",
        "Tanaman Obat Keluarga",
        "Cerita Rakyat Flores",
    ]


async def test_accents_typos_old_spelling_and_stems(storage: Storage) -> None:
    await _put(
        storage,
        "perpus-sikka",
        BookRecord("1", title="Bumi Manusia", authors=("Pramoedya Ananta Toer",)),
        BookRecord("2", title="Café dan Kopi Flores", subjects=("Minuman",)),
        BookRecord("3", title="Panduan Pertanian Lahan Kering"),
        BookRecord("4", title="Teknik Menenun Kain Ikat"),
    )
    assert await _titles(storage, "cafe") == ["Café dan Kopi Flores"]
    assert await _titles(storage, "kpoi") == ["Café dan Kopi Flores"]  # a transposition
    assert await _titles(storage, "pramudya") == ["Bumi Manusia"]  # today's spelling
    assert await _titles(storage, "tenun") == ["Teknik Menenun Kain Ikat"]  # menenun -> tenun
    assert await _titles(storage, "petani") == ["Panduan Pertanian Lahan Kering"]
    storage.catalogue.stemming = False
    assert await _titles(storage, "petani") == []


async def test_own_regency_first_then_rank(storage: Storage) -> None:
    await _put(storage, "perpus-sikka", BookRecord("1", title="Tenun Ikat Sikka"))
    await _put(storage, "perpus-sumba-timur", BookRecord("1", title="Tenun Ikat Sumba"))
    assert (await _titles(storage, "tenun", "sumba-timur"))[0] == "Tenun Ikat Sumba"
    assert (await _titles(storage, "tenun", "sikka"))[0] == "Tenun Ikat Sikka"


async def test_holdings_find_the_same_book_in_other_libraries(storage: Storage) -> None:
    novel = BookRecord("9", title="Bumi manusia", authors=("Toer, Pramoedya Ananta",))
    await _put(storage, "perpus-sikka", novel)
    await _put(
        storage,
        "perpus-ende",
        BookRecord("1", title="Bumi Manusia", authors=("Pramoedya Ananta Toer",)),
        BookRecord("2", title="Bumi Manusia dan Lingkungannya", authors=("Lain",)),
    )
    result = await storage.catalogue.search(
        text="bumi manusia", home_regency="ende", offset=0, limit=5
    )
    held = await storage.catalogue.holdings(
        record_id=result.books[0].record_id, home_regency="ende"
    )
    assert [b.library_name for b in held] == [
        "Perpustakaan Daerah Kabupaten Ende",
        "Perpustakaan Daerah Kabupaten Sikka",
    ]
