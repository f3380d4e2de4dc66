"""Finding books in the libraries' catalogues: `/buku KATA` (`/books`), the menu's "Cari buku",
and free text that asks for a book ("ada buku tentang kelor?", "novel Pramoedya").

Payloads: `bk?` asks what to look for; `bks:<page>:<words>` is a page of results (the words
travel in the payload, so paging works from any old message); `bk:<record id>` answers "which
library has it?" with each library's call number and hours, the resident's regency first.

The "what are you looking for?" question is a handlers/steps.py flow (no draft):

```mermaid
stateDiagram-v2
    [*] --> query: /buku alone, bk? (Cari buku), "ada buku?"
    query --> [*]: words to look for -> results
    query --> query: no words to look for ("?", "buku") (asked again)
```
"""

from __future__ import annotations

from handlers import steps
from handlers.common import clip, expired, page_count, pager
from handlers.types import MAX_PAYLOAD_BYTES, Choice, Context
from storage.catalogue import Book
from storage.catalogue_text import query_words, words
from storage.errors import NotFound

FLOW = "books"
# Free text that asks for a book. "novel" and "komik" are also what the book is, so they stay in
# the search; the others only say "a book, please" (see storage/catalogue_text.STOPWORDS).
ASKING = frozenset({"buku", "bukunya", "book", "books", "katalog", "bacaan", "novel", "komik"})


async def command(ctx: Context) -> None:
    if ctx.incoming.args.strip():
        await search(ctx, ctx.incoming.args, page=0)
    else:
        ask(ctx)


async def ask_button(ctx: Context, arg: str = "") -> None:
    ask(ctx)


def ask(ctx: Context) -> None:
    steps.start(ctx, QUERY, "query")
    ctx.say(ctx.t("catalogue.ask"), ctx.choice("common.menu", "menu"))


async def typed_query(ctx: Context) -> None:
    """The words typed after "Cari buku" or a bare /buku."""
    if not query_words(ctx.incoming.text):
        ctx.say(ctx.t("catalogue.ask_again"), ctx.choice("common.menu", "menu"))
        return
    steps.end(ctx)
    await search(ctx, ctx.incoming.text, page=0)


async def free_text(ctx: Context, text: str) -> bool:
    """Free text that asks for a book is searched; True when it was one."""
    if not ASKING & set(words(text)):
        return False
    if query_words(text):
        await search(ctx, text, page=0)
    else:
        ask(ctx)  # "ada buku?": about what?
    return True


def _payload(page: int, query: str) -> str:
    """`bks:<page>:<words>`, the words cut on a word boundary to fit a button's 64 bytes."""
    head = f"bks:{page}:"
    kept: list[str] = []
    for word in query.split():
        candidate = " ".join([*kept, word])
        if len((head + candidate).encode("utf-8")) > MAX_PAYLOAD_BYTES:
            break
        kept.append(word)
    return head + " ".join(kept)


async def page_button(ctx: Context, arg: str) -> None:
    page_text, _, query = arg.partition(":")
    if not page_text.isdigit() or not query.strip():
        expired(ctx)
        return
    await search(ctx, query, page=int(page_text))


async def _no_catalogue(ctx: Context) -> None:
    near, _ = await ctx.storage.libraries.near(regency_code=ctx.home_regency, limit=5)
    lines = [ctx.t("catalogue.none_yet")]
    lines += [f"• {lib.name}: {lib.contact or lib.opening_hours}" for lib in near]
    ctx.say(
        "\n".join(lines),
        *(Choice(clip(lib.name, 60), f"lib:{lib.id}") for lib in near),
        ctx.choice("common.menu", "menu"),
    )


def _line(ctx: Context, number: int, book: Book) -> str:
    by = ", ".join(book.authors[:2]) or ctx.t("catalogue.no_author")
    details = " · ".join(p for p in (by, book.year) if p)
    where = book.library_name + (f" — {book.call_number}" if book.call_number else "")
    if book.holders > 1:
        where += " " + ctx.t("catalogue.elsewhere", count=book.holders - 1)
    return f"{number}. {book.title}\n   {details}\n   📍 {where}"


async def search(ctx: Context, text: str, *, page: int) -> None:
    query = " ".join(query_words(text))
    if not query:
        ask(ctx)
        return
    if not await ctx.storage.catalogue.searchable():
        await _no_catalogue(ctx)
        return
    size = ctx.settings.page_size
    result = await ctx.storage.catalogue.search(
        text=query, home_regency=ctx.home_regency, offset=page * size, limit=size
    )
    if not result.books and page > 0:
        expired(ctx)
        return
    again = ctx.choice("catalogue.search_again", "bk?")
    if not result.books:
        ctx.say(ctx.t("catalogue.nothing", query=query), again, ctx.choice("common.menu", "menu"))
        return
    ctx.session.state["books"] = {"q": query, "page": page}
    title_key = "catalogue.partial" if result.partial else "catalogue.results"
    lines = [
        ctx.t(
            title_key,
            query=query,
            total=ctx.translator.number(ctx.language, result.total),
            page=page + 1,
            pages=page_count(result.total, size),
        )
    ]
    first = page * size + 1
    lines += [_line(ctx, n, b) for n, b in enumerate(result.books, start=first)]
    if any(b.is_sample for b in result.books):
        lines.append(ctx.t("common.sample_note"))
    choices = [
        Choice(clip(f"{n}. {b.title}", 60), f"bk:{b.record_id}")
        for n, b in enumerate(result.books, start=first)
    ]
    choices += pager(
        ctx, page=page, total=result.total, page_size=size, payload=_payload_fmt(query)
    )
    choices += [again, ctx.choice("common.menu", "menu")]
    ctx.say("\n\n".join(lines), *choices)


def _payload_fmt(query: str) -> str:
    # pager() fills in the page with str.format: braces in the words must not be read as fields.
    return _payload(0, query).replace("{", "{{").replace("}", "}}").replace("bks:0:", "bks:{}:", 1)


async def holdings(ctx: Context, arg: str) -> None:
    """ "Perpustakaan mana yang punya?": the book, and every library that has it."""
    try:
        found = await ctx.storage.catalogue.holdings(
            record_id=int(arg), home_regency=ctx.home_regency
        )
    except (ValueError, NotFound):
        expired(ctx)
        return
    book = next((b for b in found if b.record_id == int(arg)), found[0])
    lines = [f"📖 {book.title}"]
    facts = [", ".join(book.authors), ", ".join(p for p in (book.publisher, book.year) if p)]
    lines += [f for f in facts if f]
    if book.isbn:
        lines.append(f"ISBN {book.isbn}")
    if book.subjects:
        lines.append(ctx.t("catalogue.subjects", subjects=", ".join(book.subjects)))
    lines.append("")
    lines.append(ctx.t("catalogue.which_library"))
    for held in found:
        call = ctx.t("catalogue.call_number", call=held.call_number) if held.call_number else ""
        lines.append(f"• {held.library_name}{call}\n  🕘 {held.opening_hours}")
    if book.is_sample:
        lines.append(ctx.t("common.sample_note"))
    choices = [Choice(clip(f"🏛 {b.library_name}", 60), f"lib:{b.library_id}") for b in found[:5]]
    last = ctx.session.state.get("books")
    if isinstance(last, dict) and isinstance(last.get("q"), str):
        back = _payload(int(last.get("page", 0)), last["q"])
        choices.append(ctx.choice("catalogue.back", back))
    choices.append(ctx.choice("common.menu", "menu"))
    ctx.say("\n".join(lines), *choices)


async def _ask_again(ctx: Context) -> None:
    ctx.say(ctx.t("catalogue.ask_again"), ctx.choice("common.menu", "menu"))


QUERY = steps.register(
    steps.Flow(
        FLOW,
        steps={"query": steps.Step(steps.Accepts.TEXT, ask=_ask_again, typed=typed_query)},
        payloads=frozenset({"bks", "bk"}),
    )
)
