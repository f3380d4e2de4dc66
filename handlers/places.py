"""Places people name: regencies by name, by "kab"/"kota" forms and by the content file's alias
table (abbreviations, towns, local names), and libraries by name or village, typos forgiven."""

from __future__ import annotations

from collections.abc import Mapping

from rapidfuzz import fuzz, process

from handlers.types import Context
from handlers.understand import normal, places_named, vocabulary

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


# Words of many library names that name none in particular.
_GENERIC = vocabulary(
    "perpustakaan perpus taman baca bacaan masyarakat desa kelurahan daerah kabupaten kota "
    "provinsi dinas dan kearsipan library tbm pustaka umum"
)


async def libraries_named(ctx: Context, words: str, limit: int = 5) -> list[int]:
    """Libraries whose name or village has every distinctive typed word (typos forgiven), in
    the usual order (province, regency, village)."""
    wanted = [w for w in words.split() if len(w) >= 4 and w not in _GENERIC]
    if not wanted:
        return []
    names = await ctx.storage.libraries.names()
    index = _index(names)
    found: set[int] | None = None
    for word in wanted:
        ids: set[int] = set(index.get(word, ()))
        if not ids:
            for token, _, _ in process.extract(
                word, index.keys(), scorer=fuzz.ratio, score_cutoff=85, limit=3
            ):
                ids |= index[token]
        found = ids if found is None else found & ids
        if not found:
            return []
    assert found is not None
    return [library_id for library_id, _, _, _ in names if library_id in found][:limit]


_indexes: dict[int, dict[str, set[int]]] = {}


def _index(names: list[tuple[int, str, str, str]]) -> dict[str, set[int]]:
    """Word -> the libraries with it in their name or village, built once per content version."""
    found = _indexes.get(id(names))
    if found is None:
        found = {}
        for library_id, name, _, village in names:
            for word in normal(f"{name} {village}").split():
                if len(word) >= 4 and word not in _GENERIC:
                    found.setdefault(word, set()).add(library_id)
        _indexes.clear()
        _indexes[id(names)] = found
    return found
