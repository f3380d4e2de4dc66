"""A fake OAI-PMH server on loopback that answers as INLISLite or SLiMS do, with every failure a
harvest must survive.

Shaped after the real sources:
- INLISLite 3 (INLISLite-Perpusnas/INLISLIteV33, app/Modules/SubModule/Oai/Controllers/Oai.php):
  base URL `…/oai-pmh`; identifiers `oai:<host>:<ID>`; datestamp = UpdateDate (else CreateDate);
  setSpec `dewey:<n>00`; 100 records a page ordered by UpdateDate descending; the resumption token
  is base64 of JSON {offset, metadataPrefix, from, until, set}; `from`/`until` filter UpdateDate;
  an empty list is an empty <ListRecords/> (not noRecordsMatch); MARC as
  <marc:record xmlns:marc="http://www.loc.gov/MARC21/slim">. Formats are configurable: the v3.3
  source lists oai_dc and marc21; the OPAC module of v3 lists oai_dc, oai_marc and marcxml.
- SLiMS 9 (slims/slims9_bulian, oai.php and lib/oai-pmh.inc.php): base URL `…/oai.php`;
  identifiers `oai:slims/<biblio_id>`; headers without a datestamp; RecordPerSet 100 ordered by
  biblio_id descending; resumption token `oai_dc/<offset>`; `from` and `until` only filter (on
  input_date, the creation date) when both are given; Dublin Core with dc:identifier written as
  permalink, ISBN without dashes, call number, and the classification as the last dc:subject.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from aiohttp import web

OAI_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ '
    'http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">'
    "<responseDate>2026-12-01T02:00:00Z</responseDate>"
)
HTML_ERROR_PAGE = (
    "<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head><body>"
    "<h1>Whoops!</h1><br><b>Fatal error</b>: Allowed memory size exhausted in "
    "<b>/var/www/inlislite/app/Modules/SubModule/Oai/Controllers/Oai.php</b><br></body></html>"
)


@dataclass
class FakeBook:
    id: int
    title: str
    authors: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    publisher: str = ""
    place: str = "Jakarta"
    year: str = ""
    call_number: str = ""
    isbn: str = ""
    language: str = "ind"
    dewey: str = ""
    created: datetime = field(default_factory=lambda: datetime(2024, 1, 1, tzinfo=UTC))
    updated: datetime | None = None
    deleted: bool = False

    @property
    def changed(self) -> datetime:
        return self.updated or self.created


def _x(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def marc_xml(book: FakeBook, host: str) -> str:
    """INLISLite's generateMARC21, with the fields a catalogued record carries (700, 041, 090)."""
    parts = [
        f'<marc:record xmlns:marc="http://www.loc.gov/MARC21/slim">'
        f"<marc:leader>00000nam a2200000 a 4500</marc:leader>"
        f'<marc:controlfield tag="001">INLIS{book.id:012d}</marc:controlfield>'
        f'<marc:controlfield tag="003">{_x(host)}</marc:controlfield>'
    ]

    def field(tag: str, subfields: list[tuple[str, str]], ind1: str = " ", ind2: str = " ") -> None:
        subs = "".join(
            f'<marc:subfield code="{c}">{_x(v)}</marc:subfield>' for c, v in subfields if v
        )
        if subs:
            parts.append(
                f'<marc:datafield tag="{tag}" ind1="{ind1}" ind2="{ind2}">{subs}</marc:datafield>'
            )

    field("020", [("a", book.isbn)])
    field("041", [("a", book.language)])
    field("090", [("a", book.call_number)])
    if book.authors:
        field("100", [("a", book.authors[0])], "1")
    title, _, rest = book.title.partition(": ")
    field("245", [("a", title + (" :" if rest else " /")), ("b", rest)], "1", "0")
    field("260", [("a", book.place + " :"), ("b", book.publisher + ","), ("c", book.year)])
    for subject in book.subjects:
        field("650", [("a", subject)], " ", "4")
    for author in book.authors[1:]:
        field("700", [("a", author)], "1")
    parts.append("</marc:record>")
    return "".join(parts)


def dublin_core(book: FakeBook, base_url: str) -> str:
    """SLiMS's DublinCoreOutput: the same elements in the same order, empty ones included."""
    dc = [f"<dc:title>{_x(book.title)}</dc:title>"]
    dc += [f"<dc:creator>{_x(a)}</dc:creator>" for a in book.authors]
    dc += [
        f"<dc:publisher>{_x(book.publisher)}</dc:publisher>",
        f"<dc:date>{_x(book.year)}</dc:date>",
        "<dc:hasVersion></dc:hasVersion>",
        f"<dc:language>{'Indonesia' if book.language == 'ind' else _x(book.language)}"
        "</dc:language>",
        "<dc:medium>Text</dc:medium><dc:format>Text</dc:format>",
        "<dc:extent>xii, 120 hlm.</dc:extent>",
        "<dc:description></dc:description><dc:abstract></dc:abstract>",
    ]
    dc += [f"<dc:subject>{_x(s)}</dc:subject>" for s in book.subjects]
    dc.append(f"<dc:subject>{_x(book.dewey)}</dc:subject>")
    permalink = base_url.replace("oai.php", f"index.php?p=show_detail&amp;id={book.id}")
    dc += [
        f"<dc:identifier>{permalink}</dc:identifier>",
        f"<dc:identifier>{_x(book.isbn.replace('-', ''))}</dc:identifier>",
        f"<dc:identifier>{_x(book.call_number)}</dc:identifier>",
    ]
    return (
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc/ '
        'http://www.openarchives.org/OAI/2.0/oai_dc.xsd" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' + "".join(dc) + "</oai_dc:dc>"
    )


def inlislite_dc(book: FakeBook) -> str:
    """INLISLite's generateDublinCore: 'ISBN:' and 'Call Number:' prefixes on identifiers."""
    dc = [f"<dc:title>{_x(book.title)}</dc:title>"]
    dc += [f"<dc:creator>{_x(a)}</dc:creator>" for a in book.authors]
    dc += [f"<dc:subject>{_x(s)}</dc:subject>" for s in book.subjects]
    dc += [f"<dc:publisher>{_x(book.publisher)}</dc:publisher>", f"<dc:date>{book.year}</dc:date>"]
    if book.isbn:
        dc.append(f"<dc:identifier>ISBN:{_x(book.isbn)}</dc:identifier>")
    if book.call_number:
        dc.append(f"<dc:identifier>Call Number:{_x(book.call_number)}</dc:identifier>")
    return (
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">' + "".join(dc) + "</oai_dc:dc>"
    )


class FakeOAI:
    """One library's catalogue server. `fail` names a failure and `fail_on` the ListRecords
    request (0 = the first) that meets it."""

    def __init__(
        self,
        system: str,
        books: list[FakeBook] | None = None,
        *,
        page_size: int = 100,
        formats: tuple[str, ...] = ("oai_dc", "oai_marc", "marcxml"),
        host: str = "inlislite.perpus.example",
    ) -> None:
        assert system in ("inlislite", "slims")
        self.system = system
        self.books: list[FakeBook] = list(books or [])
        self.page_size = page_size
        self.formats = formats if system == "inlislite" else ("oai_dc",)
        self.host = host
        self.fail: str | None = None
        self.fail_on = 1
        self.delay = 0.0  # seconds before the failing page answers, for "timeout"
        self.requests: list[dict[str, str]] = []
        self._list_requests = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    def arm(self, failure: str | None, *, on: int = 1, delay: float = 0.0) -> None:
        """From now on, the ListRecords request number `on` (0 = the next one) meets `failure`;
        None: no more failures."""
        self.fail, self.fail_on, self.delay = failure, on, delay
        self._list_requests = 0

    # --- server ---------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        path = "/oai-pmh" if self.system == "inlislite" else "/slims/oai.php"
        app.router.add_route("*", path, self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}{path}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        params = dict(request.query)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.post()).items()})
        self.requests.append(params)
        verb = params.get("verb", "")
        if verb == "ListRecords":
            index = self._list_requests
            self._list_requests += 1
            if self.fail is not None and index == self.fail_on:
                return await self._failure(request, params)
            return self._xml(self.list_records(params))
        if verb == "Identify":
            return self._xml(self.identify())
        if verb == "ListMetadataFormats":
            return self._xml(self.list_metadata_formats())
        return self._xml(self._error("badVerb", "Illegal OAI verb"))

    @staticmethod
    def _xml(body: str) -> web.Response:
        return web.Response(body=body.encode("utf-8"), content_type="text/xml", charset="utf-8")

    async def _failure(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        kind = self.fail
        if kind == "badResumptionToken":
            return self._xml(self._error("badResumptionToken", "The resumptionToken is invalid"))
        if kind == "noRecordsMatch":
            return self._xml(self._error("noRecordsMatch", "No records match"))
        if kind == "http500":
            return web.Response(status=500, text="Internal Server Error")
        if kind == "html":
            return web.Response(text=HTML_ERROR_PAGE, content_type="text/html")
        if kind == "malformed":
            body = self.list_records(params)
            return self._xml(body[: len(body) // 2] + "</ListRecords></OAI-PMH>")
        if kind == "timeout":
            await asyncio.sleep(self.delay)
            return self._xml(self.list_records(params))
        if kind == "stop":
            # Says how long the page is, sends half of it, and hangs up.
            body = self.list_records(params).encode("utf-8")
            response = web.StreamResponse(headers={"Content-Type": "text/xml"})
            response.content_length = len(body)
            await response.prepare(request)
            await response.write(body[: len(body) // 2])
            assert request.transport is not None
            request.transport.close()
            return response
        raise AssertionError(f"unknown failure {kind!r}")

    # --- responses --------------------------------------------------------------------------

    def _request_tag(self, verb: str) -> str:
        return f'<request verb="{verb}">{_x(self.url)}</request>'

    def _error(self, code: str, message: str) -> str:
        return (
            OAI_HEAD + self._request_tag("") + f'<error code="{code}">{message}</error></OAI-PMH>'
        )

    def identify(self) -> str:
        deleted = "no" if self.system == "inlislite" else "transient"
        return (
            OAI_HEAD + self._request_tag("Identify") + "<Identify>"
            f"<repositoryName>Perpustakaan ({self.system})</repositoryName>"
            f"<baseURL>{_x(self.url)}</baseURL><protocolVersion>2.0</protocolVersion>"
            "<adminEmail>admin@perpus.example</adminEmail>"
            "<earliestDatestamp>2020-01-01T00:00:00Z</earliestDatestamp>"
            f"<deletedRecord>{deleted}</deletedRecord>"
            "<granularity>YYYY-MM-DDThh:mm:ssZ</granularity></Identify></OAI-PMH>"
        )

    def list_metadata_formats(self) -> str:
        formats = "".join(
            f"<metadataFormat><metadataPrefix>{p}</metadataPrefix><schema>x</schema>"
            f"<metadataNamespace>x</metadataNamespace></metadataFormat>"
            for p in self.formats
        )
        return (
            OAI_HEAD + self._request_tag("ListMetadataFormats")
            + f"<ListMetadataFormats>{formats}</ListMetadataFormats></OAI-PMH>"
        )  # fmt: skip

    def _selection(self, params: dict[str, str]) -> tuple[list[FakeBook], int, str, dict[str, str]]:
        token = params.get("resumptionToken")
        if self.system == "inlislite":
            state = {"offset": 0, "metadataPrefix": params.get("metadataPrefix", "")}
            state.update({k: params[k] for k in ("from", "until") if k in params})
            if token:
                state = json.loads(base64.b64decode(token))
            books = [
                b
                for b in self.books
                if not (state.get("from") and _stamp(b.changed) < state["from"])
            ]
            books.sort(key=lambda b: b.changed, reverse=True)
            return books, int(state["offset"]), str(state["metadataPrefix"]), state
        prefix, offset = "oai_dc", 0
        if token:
            prefix, _, rest = token.partition("/")
            offset = int(rest or 0)
        books = list(self.books)
        if "from" in params and "until" in params:  # SLiMS: both, on the creation date
            books = [b for b in books if params["from"] <= _stamp(b.created) <= params["until"]]
        books.sort(key=lambda b: b.id, reverse=True)
        return books, offset, prefix, {}

    def list_records(self, params: dict[str, str]) -> str:
        books, offset, prefix, state = self._selection(params)
        if self.system == "inlislite" and prefix not in self.formats:
            return self._error("cannotDisseminateFormat", "The metadata format is not supported")
        page = books[offset : offset + self.page_size]
        out = [
            OAI_HEAD,
            f'<request verb="ListRecords" metadataPrefix="{prefix}">{_x(self.url)}</request>',
            "<ListRecords>",
        ]
        for book in page:
            out.append(self._record(book, prefix))
        if offset + self.page_size < len(books):
            next_offset = offset + self.page_size
            if self.system == "inlislite":
                token = base64.b64encode(
                    json.dumps({**state, "offset": next_offset}).encode()
                ).decode()
            else:
                token = f"{prefix}/{next_offset}"
            out.append(
                f'<resumptionToken completeListSize="{len(books)}" cursor="{offset}">'
                f"{token}</resumptionToken>"
            )
        out.append("</ListRecords></OAI-PMH>")
        return "".join(out)

    def _record(self, book: FakeBook, prefix: str) -> str:
        if self.system == "inlislite":
            header = (
                f"<identifier>oai:{self.host}:{book.id}</identifier>"
                f"<datestamp>{_stamp(book.changed)}</datestamp>"
            )
            if book.dewey:
                header += f"<setSpec>dewey:{book.dewey[0]}00</setSpec>"
        else:
            header = f"<identifier>oai:slims/{book.id}</identifier>"
        if book.deleted:
            return f'<record><header status="deleted">{header}</header></record>'
        if self.system == "slims":
            body = dublin_core(book, self.url)
        elif prefix == "oai_dc":
            body = inlislite_dc(book)
        else:
            body = marc_xml(book, self.host)
        return f"<record><header>{header}</header><metadata>{body}</metadata></record>"
