"""Message catalogs and Babel formatting of dates and numbers in WITA.

Each language is a folder, `bot/locales/<language>/`, with one TOML file per feature (core,
registration, ...), so features add sentences without touching each other's files. A key defined
twice is an error.
"""

from __future__ import annotations

import functools
import tomllib
from datetime import datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal

LANGUAGES = ("id", "en")
# Indonesians name their three time zones by these abbreviations, which CLDR does not carry.
_ZONE_LABELS = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


def load_catalog(language: str) -> dict[str, str]:
    catalog: dict[str, str] = {}
    folder = resources.files("bot.locales").joinpath(language)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        for key, value in _flatten(tomllib.loads(entry.read_text("utf-8"))).items():
            if key in catalog:
                raise ValueError(f"{language}/{entry.name}: key {key!r} is defined twice")
            catalog[key] = value
    return catalog


class Translator:
    def __init__(self, timezone: str = "Asia/Makassar") -> None:
        self.catalogs = {language: load_catalog(language) for language in LANGUAGES}
        self.zone = ZoneInfo(timezone)
        self.zone_label = _ZONE_LABELS.get(timezone, timezone)

    def text(self, language: str, key: str, /, **values: object) -> str:
        template = self.catalogs.get(language, self.catalogs["id"])[key]
        return template.format(**values) if values else template

    def when(self, language: str, moment: datetime) -> str:
        """'Sabtu, 12 Desember 2026 pukul 09.00 WITA'"""
        # Babel takes ~60 µs a call and event times repeat on every list: remember them.
        return self._when(language, moment)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one Translator lives for the process
    def _when(self, language: str, moment: datetime) -> str:
        pattern = self.text(language, "format.datetime")
        local = format_datetime(moment, pattern, tzinfo=self.zone, locale=language)
        return f"{local} {self.zone_label}"

    def day(self, language: str, moment: datetime) -> str:
        pattern = self.text(language, "format.date")
        return str(format_datetime(moment, pattern, tzinfo=self.zone, locale=language))

    def number(self, language: str, value: int) -> str:
        return str(format_decimal(value, locale=language))
