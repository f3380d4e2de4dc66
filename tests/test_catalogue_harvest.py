"""Harvesting INLISLite and SLiMS catalogues from the fake OAI-PMH server: formats, resumption
tokens, incremental and full harvests, deleted records, and every failure leaving yesterday's
catalogue intact."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.catalogue.harvest import harvest_all
from storage import Storage
from tests.catalogue_support import books, load_sample_into, point_catalogues, titles
from tests.fakes.oai_pmh import FakeOAI

INLIS = "perpus-provinsi-ntt"
SLIMS = "perpus-sikka"


@pytest.fixture
async def storage(db_target: str) -> AsyncIterator[Storage]:
    # Every harvest on SQLite and on PostgreSQL.
    store = await Storage.open(db_target)
    await load_sample_into(store)
    yield store
    await store.close()


@pytest.fixture
async def inlis() -> AsyncIterator[FakeOAI]:
    server = FakeOAI("inlislite", books(250))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def slims() -> AsyncIterator[FakeOAI]:
    server = FakeOAI("slims", books(230, start=1001))
    await server.start()
    yield server
    await server.stop()


async def _status(storage: Storage, slug: str):  # type: ignore[no-untyped-def]
    return (await storage.catalogue.sources(slug=slug))[0]


async def test_both_dialects_are_harvested_across_resumption_tokens(
    storage: Storage, inlis: FakeOAI, slims: FakeOAI
) -> None:
    await point_catalogues(
        storage, **{INLIS: ("inlislite", inlis.url), SLIMS: ("slims", slims.url)}
    )
    outcomes = await harvest_all(storage)
    assert [o.error for o in outcomes] == [None, None]
    assert len(await titles(storage, INLIS)) == 250
    assert len(await titles(storage, SLIMS)) == 230
    # INLISLite in MARCXML, following its base64-JSON tokens; SLiMS in oai_dc with oai_dc/<n>.
    inlis_lists = [r for r in inlis.requests if r.get("verb") == "ListRecords"]
    assert inlis_lists[0]["metadataPrefix"] == "marcxml"
    assert json.loads(base64.b64decode(inlis_lists[1]["resumptionToken"]))["offset"] == 100
    slims_tokens = [
        r.get("resumptionToken") for r in slims.requests if r.get("verb") == "ListRecords"
    ]
    assert slims_tokens == [None, "oai_dc/100", "oai_dc/200"]
    row = await storage.db.fetchone(
        "SELECT title, authors, subjects, publisher, year, call_number, isbn, language "
        "FROM catalogue_records WHERE identifier = ?",
        (f"oai:{inlis.host}:1",),
    )
    assert row is not None
    assert row["title"] == "Bertani Jagung di Lahan Kering"
    assert row["authors"] == "Penulis 1; Maria Ndun"
    assert row["subjects"] == "Pertanian; Jagung"
    assert (row["publisher"], row["year"], row["call_number"]) == (
        "Penebar Swadaya",
        "2001",
        "633.15 NDU b",
    )
    assert (row["isbn"], row["language"]) == ("978-602-00001-0", "ind")
    slims_row = await storage.db.fetchone(
        "SELECT subjects, call_number, isbn, language FROM catalogue_records WHERE identifier = ?",
        ("oai:slims/1001",),
    )
    assert slims_row is not None
    # The classification SLiMS puts last among the subjects is not a topic.
    assert slims_row["subjects"] == "Pertanian; Jagung"
    assert (slims_row["call_number"], slims_row["isbn"]) == ("633.15 NDU b", "978602010010")
    status = await _status(storage, SLIMS)
    assert status.records == 230 and status.last_error is None and status.last_success_at


async def test_inlislite_is_incremental_and_honours_deleted_headers(
    storage: Storage, inlis: FakeOAI
) -> None:
    await point_catalogues(storage, **{INLIS: ("inlislite", inlis.url)})
    await harvest_all(storage)
    first = await _status(storage, INLIS)
    assert first.records == 250 and first.harvested_until is not None
    # Overnight the library edits one record, adds one and deletes one.
    later = datetime.now(UTC) + timedelta(minutes=1)
    inlis.books[0].title, inlis.books[0].updated = "Budidaya Kelor Edisi Revisi", later
    inlis.books[1].deleted, inlis.books[1].updated = True, later
    inlis.books.append(books(1, start=999, created=later)[0])
    inlis.requests.clear()
    outcomes = await harvest_all(storage)
    assert outcomes[0].error is None
    since = [r["from"] for r in inlis.requests if r.get("verb") == "ListRecords"]
    assert since == [first.harvested_until.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert outcomes[0].read == 3  # only what changed was read
    names = await titles(storage, INLIS)
    assert len(names) == 250
    assert "Budidaya Kelor Edisi Revisi" in names  # was "Bertani Jagung di Lahan Kering"
    assert "Bertani Jagung di Lahan Kering" not in names
    assert "Dongeng Anak dari Flores" in names  # the new one
    gone = await storage.db.fetchone(
        "SELECT 1 FROM catalogue_records WHERE identifier = ?", (f"oai:{inlis.host}:2",)
    )
    assert gone is None


async def test_inlislite_v33_marc21_and_an_empty_incremental_list(
    storage: Storage,
) -> None:
    server = FakeOAI("inlislite", books(30), formats=("oai_dc", "marc21"))
    await server.start()
    try:
        await point_catalogues(storage, **{INLIS: ("inlislite", server.url)})
        await harvest_all(storage)
        lists = [r for r in server.requests if r.get("verb") == "ListRecords"]
        assert lists[0]["metadataPrefix"] == "marc21"
        # Nothing changed: INLISLite answers an empty <ListRecords/>; some servers say
        # noRecordsMatch. Both are a success that keeps every record.
        assert (await harvest_all(storage))[0].error is None
        server.arm("noRecordsMatch", on=0)
        assert (await harvest_all(storage))[0].error is None
        assert len(await titles(storage, INLIS)) == 30
    finally:
        await server.stop()


async def test_slims_full_harvest_removes_vanished_records(
    storage: Storage, slims: FakeOAI
) -> None:
    await point_catalogues(storage, **{SLIMS: ("slims", slims.url)})
    await harvest_all(storage)
    # SLiMS filters `from` on the creation date, so an edit is only seen by a full harvest.
    slims.books[5].title = "Tenun Ikat Sikka Edisi Kedua"
    removed = slims.books.pop(0)
    slims.requests.clear()
    outcome = (await harvest_all(storage))[0]
    assert outcome.error is None
    assert all("from" not in r for r in slims.requests)
    assert outcome.counts is not None
    assert (outcome.counts.written, outcome.counts.removed, outcome.counts.total) == (1, 1, 229)
    names = await titles(storage, SLIMS)
    assert removed.title not in names and "Tenun Ikat Sikka Edisi Kedua" in names


FAILURES = {
    "badResumptionToken": "badResumptionToken",
    "malformed": "malformed XML",
    "html": "HTML page",
    "http500": "HTTP 500",
    "timeout": "did not answer within 0.5 s",
    "stop": "stopped sending half way",
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
async def test_a_failed_harvest_keeps_yesterdays_catalogue_and_says_why(
    storage: Storage, inlis: FakeOAI, slims: FakeOAI, failure: str
) -> None:
    await point_catalogues(
        storage, **{INLIS: ("inlislite", inlis.url), SLIMS: ("slims", slims.url)}
    )
    await harvest_all(storage)
    before = await titles(storage, SLIMS)
    # Tonight SLiMS breaks on its second page, after a record was removed from it: a harvest
    # that trusted the partial list would remove 130 books.
    slims.books.pop(0)
    slims.arm(failure, on=1, delay=2.0)
    inlis.books[0].title, inlis.books[0].updated = "Judul Baru", datetime.now(UTC)
    outcomes = {o.slug: o for o in await harvest_all(storage, read_timeout=0.5)}
    assert outcomes[SLIMS].error is not None and FAILURES[failure] in outcomes[SLIMS].error
    assert await titles(storage, SLIMS) == before
    status = await _status(storage, SLIMS)
    assert status.records == 230 and status.last_error == outcomes[SLIMS].error
    staged = await storage.db.fetchone("SELECT count(*) FROM catalogue_staging")
    assert staged is not None and staged[0] == 0
    # The other library was harvested all the same.
    assert outcomes[INLIS].error is None and "Judul Baru" in await titles(storage, INLIS)
    # And the next good night clears the error.
    slims.arm(None)
    assert (await harvest_all(storage, slug=SLIMS))[0].error is None
    assert (await _status(storage, SLIMS)).last_error is None


async def test_no_records_from_a_full_harvest_keeps_the_catalogue(
    storage: Storage, slims: FakeOAI
) -> None:
    await point_catalogues(storage, **{SLIMS: ("slims", slims.url)})
    await harvest_all(storage)
    slims.arm("noRecordsMatch", on=0)
    outcome = (await harvest_all(storage))[0]
    assert outcome.error is not None and "noRecordsMatch" in outcome.error
    assert len(await titles(storage, SLIMS)) == 230
    # A server that lists nothing at all (a wiped database behind it) is not believed either.
    slims.arm(None)
    kept = slims.books
    slims.books = []
    outcome = (await harvest_all(storage))[0]
    assert outcome.error is not None and "no records" in outcome.error
    assert len(await titles(storage, SLIMS)) == 230
    slims.books = kept
