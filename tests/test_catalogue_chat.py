"""Residents find books in the sample catalogue (harvested from the bundled OAI-PMH responses)
on Telegram, on WhatsApp and in the terminal: /buku, the menu's "Cari buku", free text, paging,
"which library has it?" with hours, and honest answers when there is nothing to search."""

from __future__ import annotations

import io
import tomllib
from collections.abc import AsyncIterator
from importlib import resources

import pytest

from bot.catalogue import cli as catalogue_cli
from bot.channels.terminal import chat
from bot.runtime import Runtime
from tests.telegram_harness import TelegramHarness, buttons, payloads, texts
from tests.whatsapp_harness import WhatsAppHarness
from tests.whatsapp_harness import buttons as wa_buttons
from tests.whatsapp_harness import texts as wa_texts

USER = 7101
CATALOG = tomllib.loads(
    resources.files("bot.locales").joinpath("id/catalogue.toml").read_text("utf-8")
)["catalogue"]
SIKKA_HOURS = "Senin–Jumat 08.00–15.00; Sabtu 08.00–12.00"


@pytest.fixture
async def harvested(runtime: Runtime) -> AsyncIterator[Runtime]:
    assert await catalogue_cli.harvest(runtime.storage, None, quiet=True) == 0
    yield runtime


async def test_free_text_finds_books_own_regency_first_and_which_library_has_it(
    harvested: Runtime, tg: TelegramHarness
) -> None:
    await tg.onboard(USER, regency="sikka")
    calls = await tg.send(USER, "ada buku tentang kelor?")
    text = texts(calls)
    assert "Buku untuk “kelor”" in text
    listed = [line for line in text.splitlines() if line.strip().startswith("📍")]
    # The resident lives in Sikka: Sikka's copies come before the province's.
    first_other = next(i for i, line in enumerate(listed) if "Sikka" not in line)
    assert first_other > 0 and all("Sikka" in line for line in listed[:first_other])
    assert "(Contoh data" in text
    book = next(p for p in payloads(calls) if p.startswith("bk:"))
    calls = await tg.tap(USER, book)
    text = texts(calls)
    assert CATALOG["which_library"] in text and "no. panggil" in text
    assert SIKKA_HOURS in text  # the hours, one tap from the results
    library = next(p for p in payloads(calls) if p.startswith("lib:"))
    calls = await tg.tap(USER, library)
    assert "Perpustakaan Daerah Kabupaten Sikka" in texts(calls) and SIKKA_HOURS in texts(calls)


async def test_a_book_in_two_libraries_names_both(harvested: Runtime, tg: TelegramHarness) -> None:
    await tg.onboard(USER, regency="kota-kupang")
    calls = await tg.send(USER, "/buku bumi manusia")
    # Listed once, at the copy in the resident's regency, with the other library counted.
    assert texts(calls).count("Bumi Manusia\n") == 1
    assert "1. Bumi Manusia" in texts(calls) and "(+1 perpustakaan lain)" in texts(calls)
    assert "Provinsi NTT" in texts(calls) and "Sikka" not in texts(calls)
    calls = await tg.tap(USER, payloads(calls)[0])
    text = texts(calls)
    assert "Pramoedya Ananta Toer" in text
    # Both sample libraries hold it; the resident's own regency (Kota Kupang) comes first.
    province = text.index("Dinas Perpustakaan dan Kearsipan Provinsi NTT")
    assert province < text.index("Perpustakaan Daerah Kabupaten Sikka")
    assert "‹ Kembali ke hasil" in [label for label, _ in buttons(calls)]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("buku pertanian", "Pertanian"),
        ("novel Pramoedya", "Bumi Manusia"),
        ("buku anak", "Buku untuk “anak”"),  # books, not the children's events
        ("ada buku tenun?", "Tenun"),
        ("novel pramudya", "Bumi Manusia"),  # today's spelling of Pramoedya
        ("buku budidya jagng", "Budidaya Jagung"),  # one typo in each word
        ("is there a book about tenun?", "Tenun"),  # "a book": the noun, not "to book"
    ],
)
async def test_free_text_asking_for_books(
    harvested: Runtime, tg: TelegramHarness, typed: str, expected: str
) -> None:
    await tg.onboard(USER)
    calls = await tg.send(USER, typed)
    assert "📚" in texts(calls)
    assert expected.lower() in texts(calls).lower()


async def test_menu_entry_asks_then_pages_through_results(
    harvested: Runtime, tg: TelegramHarness
) -> None:
    await tg.onboard(USER)
    calls = await tg.send(USER, "/menu")
    assert ("🔎 Cari buku", "bk?") in buttons(calls)
    calls = await tg.tap(USER, "bk?")
    assert CATALOG["ask"] in texts(calls)
    calls = await tg.send(USER, "tenun")
    assert "(hal. 1/" in texts(calls)
    nxt = next(p for label, p in buttons(calls) if "Berikutnya" in label)
    assert nxt == "bks:1:tenun"
    calls = await tg.tap(USER, nxt)
    assert "(hal. 2/" in texts(calls) and "6. " in texts(calls)
    # An empty answer to "which book?" asks again and stays in the step.
    await tg.tap(USER, "bk?")
    calls = await tg.send(USER, "buku")
    assert CATALOG["ask_again"] in texts(calls)
    calls = await tg.send(USER, "?")  # still the same question (handlers/steps.py)
    assert CATALOG["ask_again"] in texts(calls)
    calls = await tg.send(USER, "tenun")
    assert "(hal. 1/" in texts(calls)
    calls = await tg.send(USER, "tenun")  # the step is over: free text again
    assert CATALOG["ask_again"] not in texts(calls)


async def test_english_and_the_books_alias(harvested: Runtime, tg: TelegramHarness) -> None:
    await tg.onboard(USER, language="en")
    calls = await tg.send(USER, "/books kelor", language="en")
    assert "Books for “kelor”" in texts(calls)
    calls = await tg.send(USER, "/books zzqxv", language="en")
    assert "no book in the libraries' catalogues matches “zzqxv”" in texts(calls)


async def test_nothing_found_and_long_queries_fit_in_buttons(
    harvested: Runtime, tg: TelegramHarness
) -> None:
    await tg.onboard(USER)
    calls = await tg.send(USER, "/buku qwzxv")
    assert "tidak ada buku yang cocok dengan “qwzxv”" in texts(calls)
    long = "budidaya jagung kelor pisang kelapa sorgum cabai tomat bawang merah kacang hijau"
    calls = await tg.send(USER, f"/buku {long}")
    assert all(len(p.encode()) <= 64 for p in payloads(calls))
    assert "Yang cocok sebagian" in texts(calls)


async def test_no_catalogue_yet_is_said_honestly_with_contacts(
    runtime: Runtime, tg: TelegramHarness
) -> None:
    await tg.onboard(USER, regency="kota-kupang")
    calls = await tg.send(USER, "/buku kelor")
    text = texts(calls)
    assert CATALOG["none_yet"] in text
    assert "0380 000 000 (contoh)" in text  # the provincial library's contact
    assert any(p.startswith("lib:") for p in payloads(calls))


async def test_whatsapp_resident_finds_a_book_and_its_library(
    harvested: Runtime, wa: WhatsAppHarness
) -> None:
    phone = "6281230000101"
    await wa.onboard(phone, regency="sikka")
    sent = await wa.send(phone, "buku pertanian")
    assert "Buku untuk “pertanian”" in wa_texts(sent)
    rows = wa_buttons(sent)
    assert rows and all(len(title) <= 24 for title, _ in rows)
    book = next(p for _, p in rows if p.startswith("bk:"))
    sent = await wa.tap(phone, book)
    assert CATALOG["which_library"] in wa_texts(sent) and SIKKA_HOURS in wa_texts(sent)


async def test_terminal_chat_searches_the_sample_catalogue(harvested: Runtime) -> None:
    lines = ["1", "1", "1", "novel Pramoedya", "1"]  # language, consent, Kota Kupang, search, pick
    out = io.StringIO()
    await chat(harvested.dispatcher, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out)
    text = out.getvalue()
    assert "Buku untuk “novel pramoedya”" in text
    assert CATALOG["which_library"] in text and "no. panggil" in text
