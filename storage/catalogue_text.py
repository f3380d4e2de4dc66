"""How catalogue text is cut into searchable words, shared by indexing and searching so the two
always agree: lower case, accents removed (as FTS5's `unicode61 remove_diacritics 2` does), the
Indonesian stem of each word (Sastrawi) for the stems column, and the words one typo away from a
typed word.

No SQL here: storage/catalogue.py owns the index; this module only decides what its words are.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

_WORD = re.compile(r"\w+")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"

# Words that say "I am looking for a book" rather than what the book is about. They are dropped
# from a search, whether typed after /buku or as free text ("ada buku tentang kelor?").
STOPWORDS = frozenset(
    """
    ada adakah apa apakah buku bukunya book books tentang mengenai soal yang yg dan atau di ke
    dari untuk utk dengan dgn cari carikan mencari saya sy aku beta mau ingin pinjam meminjam
    punya tolong minta the a an of about on for any find some is are there do you have ini itu
    kah kak pak bu om mama
    """.split()  # noqa: SIM905 - a list of words reads better as words
)


def fold(text: str) -> str:
    """Lower case without accents: 'Pramoedya Anantâ Toër' -> 'pramoedya ananta toer'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def query_words(text: str, *, limit: int = 8) -> list[str]:
    """The words of a search worth looking for: no filler, no duplicates, at most `limit`."""
    found: list[str] = []
    for word in words(text):
        if word not in STOPWORDS and word not in found and (len(word) > 1 or word.isdigit()):
            found.append(word)
    return found[:limit]


@functools.cache
def _stemmer() -> object:
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return StemmerFactory().create_stemmer(isDev=False)


# Catalogue words repeat a lot (pertanian, budidaya, anak...): Sastrawi takes ~0.1-1 ms a word.
@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    if len(word) < 4 or word.isdigit():
        return word
    result = _stemmer().stem(word)  # type: ignore[attr-defined]
    return str(result) or word


def stems(text: str) -> str:
    """The Indonesian stems of every word of `text`, space separated, for the stems column."""
    return " ".join(stem(w) for w in words(text))


def one_typo_away(word: str) -> set[str]:
    """Every string one deletion, transposition, replacement or insertion away from `word`."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in _ALPHABET}
    out |= {a + c + b for a, b in splits for c in _ALPHABET}
    out.discard(word)
    return out


# Spelling before 1972 (Ejaan Soewandi) lives on in names and old titles: Pramoedya, Soekarno,
# Djakarta, Tjerita. A typed word is also looked for in its old spelling, one change at a time.
_OLD_SPELLING = (("u", "oe"), ("j", "dj"), ("c", "tj"), ("y", "j"), ("ny", "nj"), ("sy", "sj"))


def old_spellings(word: str) -> set[str]:
    out: set[str] = set()
    for new, old in _OLD_SPELLING:
        start = word.find(new)
        while start != -1:
            out.add(word[:start] + old + word[start + len(new) :])
            start = word.find(new, start + 1)
        if new in word:
            out.add(word.replace(new, old))
    # Two changes together, as in Pramudya -> Pramoedya (u -> oe) or Sukarno -> Soekarno.
    out |= {w.replace(new, old) for w in list(out) for new, old in _OLD_SPELLING if new in w}
    out.discard(word)
    return out


def digest(parts: Iterable[str | None]) -> str:
    """A short fingerprint of a record's fields, so an unchanged record is not rewritten."""
    import hashlib

    joined = "\x1f".join(p or "" for p in parts)
    return hashlib.blake2b(joined.encode("utf-8"), digest_size=12).hexdigest()


def work_key(title: str, author: str | None) -> str:
    """The same book in several libraries: its folded title and its first author's words in
    sorted order, so 'Toer, Pramoedya Ananta' and 'Pramoedya Ananta Toer' are one book."""
    title_words = " ".join(words(title))[:120]
    return f"{title_words}|{' '.join(sorted(set(words(author or ''))))}"
