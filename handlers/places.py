"""Places people name: regencies by name, by "kab"/"kota" forms and by the content file's alias
table (abbreviations, towns, local names), and libraries by name or village, typos forgiven."""

from __future__ import annotations

from collections.abc import Mapping

from rapidfuzz import fuzz, process

from handlers.types import Context
from handlers.understand import normal, places_named

# Built from the regencies (fixed) and the content file's aliases; rebuilt when those change.
_tables: dict[int, dict[str, tuple[str, ...]]] = {}


async def place_aliases(ctx: Context) -> Mapping[str, tuple[str, ...]]:
    """Normalised name -> regency codes it may mean."""
    raw = await ctx.storage.libraries.aliases()
    table = _tables.get(id(raw))
    if table is None:
        table = {}
        for regency in await ctx.storage.libraries.regencies():
            name = normal(regency.name)
            prefixes = ("kota",) if regency.kind == "kota" else ("kabupaten", "kab")
            for form in (name, *(f"{p} {name.removeprefix('kota ')}" for p in prefixes)):
                table.setdefault(form, ())
                table[form] += (regency.code,) if regency.code not in table[form] else ()
        for alias, codes in raw.items():
            table[normal(alias)] = codes  # the file's word wins ("kupang": either one)
        _tables.clear()  # one content version at a time
        _tables[id(raw)] = table
    return table


async def regencies_in(ctx: Context, words: str) -> list[str]:
    return places_named(words, await place_aliases(ctx))


async def libraries_named(ctx: Context, words: str, limit: int = 5) -> list[int]:
    """Libraries whose name or village the words name (typos forgiven), best first."""
    if len(words) < 4:
        return []
    names = await ctx.storage.libraries.names()
    choices = {i: normal(f"{name} {village}") for i, (_, name, _, village) in enumerate(names)}
    hits = process.extract(
        words, choices, scorer=fuzz.partial_token_set_ratio, limit=limit, score_cutoff=90
    )
    return [names[index][0] for _, _, index in hits]
