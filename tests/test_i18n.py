"""Both catalogs carry the same keys with the same placeholders, and dates read the local way."""

from __future__ import annotations

import string
from datetime import UTC, datetime

from bot.i18n import LANGUAGES, Translator, load_catalog


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    catalogs = {language: load_catalog(language) for language in LANGUAGES}
    reference = catalogs["id"]
    for language, catalog in catalogs.items():
        assert catalog.keys() == reference.keys(), (
            language,
            sorted(catalog.keys() ^ reference.keys()),
        )
        for key, template in catalog.items():
            assert _placeholders(template) == _placeholders(reference[key]), (language, key)


def test_every_key_used_in_code_exists() -> None:
    """Literal keys passed to ctx.t / ctx.choice in handlers are all in the catalog."""
    import re
    from pathlib import Path

    catalog = load_catalog("id")
    used = set()
    for path in Path("handlers").rglob("*.py"):
        used |= set(
            re.findall(
                r'(?:\.t|\.choice|main_menu\(ctx,)\(?\s*"([a-z_]+\.[a-z_.]+)"', path.read_text()
            )
        )
    missing = sorted(k for k in used if k not in catalog)
    assert used and not missing, missing


def test_dates_are_formatted_in_wita_the_local_way() -> None:
    translator = Translator("Asia/Makassar")
    moment = datetime(2026, 12, 12, 1, 0, tzinfo=UTC)
    assert translator.when("id", moment) == "Sabtu, 12 Desember 2026 pukul 09.00 WITA"
    assert translator.when("en", moment) == "Saturday, 12 December 2026 at 09:00 WITA"
    assert translator.number("id", 12345) == "12.345"
    assert translator.number("en", 12345) == "12,345"
