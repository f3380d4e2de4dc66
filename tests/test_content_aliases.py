"""The content file's `aliases:`: names people type for a regency, checked with the line of a
mistake, and loaded by an import so typed answers and free text find them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content import ContentError
from storage import Storage
from storage.clock import utcnow
from storage.content import ContentRepo
from tests.test_content import BASE, parse


def test_aliases_name_regency_codes_or_lists_of_them() -> None:
    content = parse(BASE + "aliases:\n  TTS: tts\n  kupang: [kota-kupang, kupang]\n")
    found = {a.alias: a.regency_codes for a in content.aliases}
    assert found == {"TTS": ("tts",), "kupang": ("kota-kupang", "kupang")}


def test_an_unknown_regency_code_is_refused_with_its_line_and_a_suggestion() -> None:
    text = BASE + "aliases:\n  maumere: sika\n"
    with pytest.raises(ContentError) as error:
        parse(text)
    line = text.splitlines().index("  maumere: sika") + 1
    assert error.value.line == line
    assert "did you mean 'sikka'" in str(error.value)


async def test_an_import_loads_the_aliases(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "a.db")
    try:
        await ContentRepo(storage.db).import_content(
            parse(BASE + "aliases:\n  mabar: manggarai-barat\n"), is_sample=False, now=utcnow()
        )
        assert (await storage.libraries.aliases()) == {"mabar": ("manggarai-barat",)}
        # A second import updates an alias without a restart of the process.
        await ContentRepo(storage.db).import_content(
            parse(BASE + "aliases:\n  mabar: [manggarai-barat, manggarai]\n"),
            is_sample=False,
            now=utcnow(),
        )
        assert (await storage.libraries.aliases())["mabar"] == ("manggarai-barat", "manggarai")
    finally:
        await storage.close()
