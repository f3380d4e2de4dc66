"""Harvesting INLISLite and SLiMS catalogues from the fake OAI-PMH server: formats, resumption
tokens, incremental and full harvests, deleted records, and every failure leaving yesterday's
catalogue intact."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.catalogue.harvest import harvest_all
from storage import Storage
from tests.catalogue_support import books, load_sample_into, point_catalogues, titles
from tests.fakes.oai_pmh import FakeOAI

INLIS = "perpus-provinsi-ntt"
SLIMS = "perpus-sikka"


@pytest.fixture
async def storage(db_path: Path) -> AsyncIterator[Storage]:
    store = await Storage.open(db_path)
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
