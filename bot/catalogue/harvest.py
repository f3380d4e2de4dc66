"""Harvesting the libraries' catalogues over OAI-PMH with Sickle, into the staging area, then into
the catalogue in one transaction (storage/catalogue.py).

- INLISLite: incremental, `from` the start of the last successful harvest, in MARCXML (the
  format named `marcxml` or `marc21`, whichever the server lists) parsed with pymarc. INLISLite
  3 says `deletedRecord: no`, yet deleted headers are honoured when a server sends them.
- SLiMS: always a full harvest in `oai_dc`, because its `from`/`until` filter on the creation
  date only (an edited record would be missed); records it no longer lists are removed.

Whatever goes wrong (an OAI error such as badResumptionToken, malformed XML, an HTML error page,
a timeout, a server that stops half way) abandons that library's harvest and leaves its catalogue
as it was; the reason is kept for `pustaka harvest --status`, and the next library is harvested.

Sickle is synchronous (requests), so the reading runs on a thread; every page of records is
handed to the event loop to be staged, and the thread waits for that, so memory stays flat
whatever the catalogue's size.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import requests
from lxml import etree
from sickle import Sickle, oaiexceptions
from sickle.models import Header
from sickle.response import OAIResponse

from bot.catalogue.progress import Progress
from bot.catalogue.records import from_dc, from_marc
from storage import Storage
from storage.catalogue import BookRecord, CatalogueSource, HarvestCounts, staging_row
from storage.clock import utcnow

log = logging.getLogger(__name__)

OAI_NS: Final = "{http://www.openarchives.org/OAI/2.0/}"
# Records handed to the database at a time: one short transaction each.
STAGE_BATCH: Final = 500
TIMEOUT_SECONDS: Final = 60.0
# A harvest started at 02:00:00 asks next time for records changed from 02:00:00 minus this, so a
# server clock a little behind ours loses nothing (a record read twice is simply upserted).
_CLOCK_MARGIN: Final = timedelta(minutes=5)
# Strict: Sickle's own parser "recovers" broken XML, which would turn a page cut off half way into
# a shorter, seemingly complete list, and a full harvest would then remove the rest.
_STRICT = etree.XMLParser(remove_blank_text=True, recover=False, resolve_entities=False)


class HarvestError(Exception):
    """The harvest was abandoned; the message says why, for the librarian reading --status."""


@dataclass(frozen=True, slots=True)
class HarvestOutcome:
    slug: str
    counts: HarvestCounts | None  # None: failed
    error: str | None
    read: int  # records (and deleted headers) read
    pages: int
    seconds: float


class _Response(OAIResponse):  # type: ignore[misc]
    """Parsed once, strictly, and refused unless it is an OAI-PMH document."""

    def __init__(self, http_response: requests.Response, params: dict[str, str]) -> None:
        super().__init__(http_response, params)
        content = http_response.content
        try:
            root = etree.XML(content, parser=_STRICT)
        except etree.XMLSyntaxError as exc:
            kind = "an HTML page" if b"<html" in content[:500].lower() else "malformed XML"
            raise HarvestError(f"the server sent {kind} instead of OAI-PMH ({exc})") from exc
        if root.tag != OAI_NS + "OAI-PMH":
            raise HarvestError(f"the server sent <{etree.QName(root).localname}>, not OAI-PMH")
        self._xml = root

    @property
    def xml(self) -> etree._Element:
        return self._xml


class _Record:
    """A ListRecords item: its header and its element. Sickle's own Record also turns the
    metadata into a dict, which MARC does not need and which costs a third of the time."""

    def __init__(self, element: etree._Element) -> None:
        self.xml = element
        self.header = Header(element.find(OAI_NS + "header"))
        self.deleted: bool = self.header.deleted


class _Client(Sickle):  # type: ignore[misc]
    def __init__(self, endpoint: str, *, timeout: float, on_page: Callable[[], None]) -> None:
        super().__init__(
            endpoint,
            max_retries=2,
            default_retry_after=5,
            class_mapping={**_class_mapping(), "ListRecords": _Record, "GetRecord": _Record},
            timeout=timeout,
        )
        self._on_page = on_page

    def harvest(self, **kwargs: str) -> _Response:
        http_response = self._request(kwargs)
        for _ in range(self.max_retries):
            if http_response.status_code not in self.retry_status_codes:
                break
            time.sleep(min(self.get_retry_after(http_response), 30))
            http_response = self._request(kwargs)
        http_response.raise_for_status()
        response = _Response(http_response, kwargs)
        self._on_page()
        return response


def _class_mapping() -> dict[str, Any]:
    from sickle.app import DEFAULT_CLASS_MAP

    return dict(DEFAULT_CLASS_MAP)


_CAMEL = re.compile(r"^([A-Z])")


def describe(exc: BaseException, timeout: float = TIMEOUT_SECONDS) -> str:
    """What went wrong, in one line a librarian can act on."""
    if isinstance(exc, HarvestError):
        return str(exc)
    if type(exc).__module__ == oaiexceptions.__name__:
        code = _CAMEL.sub(lambda m: m.group(1).lower(), type(exc).__name__)
        return f"OAI-PMH error {code}: {exc}".rstrip(": ")
    if isinstance(exc, requests.Timeout):
        return f"the server did not answer within {timeout:g} s"
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"the server answered HTTP {exc.response.status_code}"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the server stopped sending half way through a page"
    if isinstance(exc, requests.ConnectionError):
        return f"could not reach the server ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


def _metadata_prefix(client: _Client, system: str) -> str:
    if system == "slims":
        return "oai_dc"
    offered = {fmt.metadataPrefix for fmt in client.ListMetadataFormats()}
    for prefix in ("marcxml", "marc21", "oai_dc"):
        if prefix in offered:
            return prefix
    raise HarvestError(f"the server offers none of marcxml, marc21, oai_dc ({sorted(offered)})")


def _records(
    client: _Client, system: str, since: datetime | None, progress: Progress
) -> Iterator[BookRecord]:
    prefix = _metadata_prefix(client, system)
    params = {"metadataPrefix": prefix}
    if since is not None:
        params["from"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    parse = from_dc if prefix == "oai_dc" else from_marc
    try:
        for item in client.ListRecords(**params):
            identifier = item.header.identifier
            if not identifier:
                progress.skipped()
                continue
            if item.deleted:
                yield BookRecord(identifier=identifier, deleted=True)
                continue
            metadata = item.xml.find(OAI_NS + "metadata")
            body = next(iter(metadata), None) if metadata is not None else None
            book = parse(identifier, body) if body is not None else None
            if book is None:
                progress.skipped()  # no title: nothing a resident could find it by
                continue
            yield book
    except oaiexceptions.NoRecordsMatch:
        if since is None:
            raise
        # Nothing changed since the last harvest: a success with nothing to write.


def _read(
    source: CatalogueSource,
    url: str,
    since: datetime | None,
    progress: Progress,
    stage: Callable[[list[tuple[object, ...]]], None],
    timeout: float,
) -> None:
    """On the harvest's thread: read every page, stage rows a batch at a time."""
    client = _Client(url, timeout=timeout, on_page=progress.page)
    batch: list[tuple[object, ...]] = []
    for record in _records(client, source.system, since, progress):
        batch.append(staging_row(source.library_id, record))
        progress.record()
        if len(batch) >= STAGE_BATCH:
            stage(batch)
            batch = []
    if batch:
        stage(batch)


async def harvest_source(
    storage: Storage,
    source: CatalogueSource,
    *,
    url: str | None = None,
    progress: Progress | None = None,
    read_timeout: float = TIMEOUT_SECONDS,
) -> HarvestOutcome:
    """Harvest one library; never raises for the server's faults (they are the outcome)."""
    progress = progress or Progress.for_stream(source.library_slug)
    started = utcnow()
    catalogue = storage.catalogue
    full = source.system == "slims" or source.harvested_until is None
    since = None if full or source.harvested_until is None else source.harvested_until
    await catalogue.start_harvest(library_id=source.library_id, now=started)
    loop = asyncio.get_running_loop()

    def stage(rows: list[tuple[object, ...]]) -> None:
        asyncio.run_coroutine_threadsafe(catalogue.stage(rows), loop).result()

    clock = time.perf_counter()
    try:
        await asyncio.to_thread(
            _read, source, url or source.url, since, progress, stage, read_timeout
        )
        if (
            full
            and source.records > 0
            and await catalogue.staged(library_id=source.library_id) == 0
        ):
            raise HarvestError(
                f"the server listed no records (it had {source.records}); catalogue kept"
            )
        counts = await catalogue.finish_harvest(
            library_id=source.library_id,
            full=full,
            started_at=started - _CLOCK_MARGIN,
            now=utcnow(),
            is_sample=source.is_sample,
        )
    except Exception as exc:  # noqa: BLE001 - every failure is reported per library
        reason = describe(exc, read_timeout)
        await catalogue.fail_harvest(library_id=source.library_id, error=reason, now=utcnow())
        progress.finish(f"failed: {reason}; the previous catalogue is kept")
        return HarvestOutcome(
            source.library_slug, None, reason, progress.read, progress.pages,
            time.perf_counter() - clock,
        )  # fmt: skip
    progress.finish(
        f"{counts.written} written, {counts.removed} removed, {counts.total} in the catalogue"
    )
    return HarvestOutcome(
        source.library_slug, counts, None, progress.read, progress.pages,
        time.perf_counter() - clock,
    )  # fmt: skip


async def harvest_all(
    storage: Storage,
    *,
    slug: str | None = None,
    progress_for: Callable[[str], Progress] | None = None,
    url_for: Callable[[CatalogueSource], str | None] | None = None,
    read_timeout: float = TIMEOUT_SECONDS,
) -> list[HarvestOutcome]:
    """Every library with a catalogue (or one), one after the other; one library's failure does
    not stop the next."""
    outcomes = []
    for source in await storage.catalogue.sources(slug=slug):
        outcomes.append(
            await harvest_source(
                storage,
                source,
                url=url_for(source) if url_for else None,
                progress=progress_for(source.library_slug) if progress_for else None,
                read_timeout=read_timeout,
            )
        )
    return outcomes
