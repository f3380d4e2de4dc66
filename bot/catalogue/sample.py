"""The sample catalogue: OAI-PMH responses bundled in bot/sample/catalogue/<system>/ (one
INLISLite library, one SLiMS library), served verbatim by a small server on loopback while a
harvest reads them, so the sample goes through the same harvest as a real library.

The sample libraries' catalogue URLs (bot/sample/ntt.yaml) end in `.invalid`, a name that never
resolves: a sample library is always harvested from these files, never from the network.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources
from importlib.abc import Traversable
from urllib.parse import urlsplit

from aiohttp import web

from storage.catalogue import CatalogueSource

_TOKEN = re.compile(rb"<resumptionToken[^>]*>([^<]+)</resumptionToken>")


def _folder(system: str) -> Traversable:
    return resources.files("bot.sample").joinpath("catalogue").joinpath(system)


class BundledCatalogue:
    """Answers Identify, ListMetadataFormats and ListRecords (following the bundled pages'
    resumption tokens) from the files of one system."""

    def __init__(self, system: str) -> None:
        folder = _folder(system)
        self._identify = folder.joinpath("identify.xml").read_bytes()
        self._formats = folder.joinpath("formats.xml").read_bytes()
        pages = sorted(
            (e for e in folder.iterdir() if e.name.startswith("records-")), key=lambda e: e.name
        )
        self._first = pages[0].read_bytes()
        self._after: dict[str, bytes] = {}
        previous = self._first
        for entry in pages[1:]:
            token = _TOKEN.search(previous)
            assert token is not None, f"{system}: a page before {entry.name} has no token"
            previous = entry.read_bytes()
            self._after[token.group(1).decode()] = previous

    def answer(self, query: dict[str, str]) -> bytes | None:
        verb = query.get("verb")
        if verb == "Identify":
            return self._identify
        if verb == "ListMetadataFormats":
            return self._formats
        if verb == "ListRecords":
            token = query.get("resumptionToken")
            return self._first if token is None else self._after.get(token)
        return None


@asynccontextmanager
async def bundled_server() -> AsyncIterator[Callable[[CatalogueSource], str | None]]:
    """Serve both sample catalogues on loopback; yields the URL to harvest a source from: the
    bundled one for a sample library whose address is the sample's `.invalid` one, None (its
    own address) for every other."""
    catalogues = {system: BundledCatalogue(system) for system in ("inlislite", "slims")}

    async def handle(request: web.Request) -> web.Response:
        body = catalogues[request.match_info["system"]].answer(dict(request.query))
        if body is None:
            return web.Response(status=404)
        return web.Response(body=body, content_type="text/xml", charset="utf-8")

    app = web.Application()
    app.router.add_get("/{system:inlislite|slims}", handle)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]

    def url_for(source: CatalogueSource) -> str | None:
        host = urlsplit(source.url).hostname or ""
        if source.is_sample and host.endswith(".invalid"):
            return f"http://127.0.0.1:{port}/{source.system}"
        return None

    try:
        yield url_for
    finally:
        await runner.cleanup()
