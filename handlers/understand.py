"""Matching what people type against the choices they were shown, the way people in NTT write:
"iya", "sonde", "cewek", "40" for an age, "18-35" with a hyphen, "kab kupang", "TTS", typos.

A shown choice is stored in the session as `[label, payload]` or `[label, payload, means]`;
`means` says what the button stands for beyond its label words, so one vocabulary serves every
screen: "yes" / "no" (confirmations), "female" / "male" / "unsaid" (gender), "age:LO-HI" (an age
band), "place:<regency code>" (a regency, matched through the content file's alias table too).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process


def vocabulary(words: str) -> frozenset[str]:
    return frozenset(words.split())


YES_WORDS = vocabulary(
    "ya iya iyaa iyo iye yoi yup yes yess betul benar bener setuju ok oke okay okey okee okeh "
    "boleh mau siap sip lanjut gas agree sure y daftar"
)
NO_WORDS = vocabulary(
    "tidak tdk gak ga gk nggak ngga enggak engga ndak nda sonde son jangan jgn batal no nope "
    "nggk tida tak n skip lewati lewat"
)
# On a staff step that changes or sends something, a no anywhere in the answer wins ("tidak
# jadi", "jangan dulu", "keep it"): doubt keeps things as they are. There these words say no too,
# though to a resident's question "belum" or "kembali" mean something else.
CAUTIOUS_NO_WORDS = NO_WORDS | vocabulary("batalkan not dont cancel keep kembali back belum bukan")
# Words people add around an answer ("iya kak", "setuju e", "boleh sudah") that change nothing.
FILLER_WORDS = vocabulary(
    "kak ka kk kaka pak bapak bpk bu ibu mama bapa om tanta nona nyong bro sis e eh deh dong "
    "sudah su sdh saja sa aja ja toh to lah kok ko ah oh mas mba mbak adik admin min sayang "
    "please pls tolong terima kasih makasih i"
)
GENDER_WORDS: Mapping[str, frozenset[str]] = {
    "female": vocabulary(
        "perempuan prempuan perempuann wanita cewek cewe cwe ibu perem p f female woman girl "
        "nona mama"
    ),
    "male": vocabulary(
        "laki laki2 lakilaki lelaki pria cowok cowo cwo bapak l m male man boy nyong"
    ),
    "unsaid": vocabulary("rahasia privat"),
}
LANGUAGE_WORDS: Mapping[str, frozenset[str]] = {
    "lang:id": vocabulary("indonesia indo ind id indonesian bahasa bhs melayu"),
    "lang:en": vocabulary("english inggris eng en engels"),
}

_NUMBER = re.compile(r"(?:no|nomor|nmr|nomer|pilih|pilihan|angka|number)?\s*([0-9]{1,4})")
_AGE = re.compile(r"(?:umur|usia|age)?\s*([0-9]{1,3})\s*(?:th|thn|tahun|tahun2|years?|yo)?")
_LEADING_NUMBER = re.compile(r"^\W*\d+\.\s*")
_DASHES = str.maketrans({"–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-"})


@functools.lru_cache(maxsize=8192)
def normal(text: str) -> str:
    """Lower-case words without accents, emoji or punctuation; dashes of every kind become
    hyphens first, so "18-35" and "18–35" read the same."""
    text = unicodedata.normalize("NFKD", text.translate(_DASHES).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w\s-]|_", " ", text).replace("-", " ").split())


def _ascii_number(text: str, pattern: re.Pattern[str]) -> int | None:
    # isascii first: "²" and "①" are digits to str.isdigit() but not to int().
    match = pattern.fullmatch(text)
    if match is None or not match.group(1).isascii():
        return None
    return int(match.group(1))


def typed_number(text: str) -> int | None:
    """ "2", "2.", "no 2", "nomor 2" -> 2; anything else (including "²") -> None."""
    return _ascii_number(normal(text), _NUMBER)


def typed_age(text: str) -> int | None:
    """ "40", "40 thn", "umur 40" -> 40, within a human life."""
    age = _ascii_number(normal(text), _AGE)
    return age if age is not None and 1 <= age <= 120 else None


def _meaningful(words: Sequence[str]) -> list[str]:
    return [w for w in words if w not in FILLER_WORDS] or list(words[:1])


def yes_or_no(text: str) -> str | None:
    """ "iya kak" -> "yes", "sonde" -> "no", "ya tidak" -> None (says both)."""
    words = normal(text).split()
    if not words:
        return None
    meant = _meaningful(words)
    if all(w in YES_WORDS for w in meant):
        return "yes"
    if all(w in NO_WORDS for w in meant) or meant[0] in ("tidak", "sonde", "gak", "nggak", "no"):
        return "no" if not any(w in YES_WORDS for w in meant[1:]) else None
    return None


def says_no(text: str) -> bool:
    """A no anywhere ("tidak jadi", "jangan dulu", "sonde"): for confirmations where doubt
    must keep things as they are."""
    return any(word in CAUTIOUS_NO_WORDS for word in normal(text).split())


def bare_no(text: str) -> bool:
    """A short answer that says no ("tidak", "tidak jadi", "jangan dulu"), as opposed to a
    sentence that happens to hold a no-word ("Pengajar tidak bisa hadir"): where free text is
    expected (a note), only the first leaves."""
    return says_no(text) and len(normal(text).split()) <= 3


def _gender(text: str) -> str | None:
    words = normal(text).split()
    if not words or len(words) > 3:
        return None
    for gender, vocabulary in GENDER_WORDS.items():
        if any(w in vocabulary for w in words) or "".join(words) in vocabulary:
            return gender
    return None


def _label_words(label: str) -> str:
    return normal(_LEADING_NUMBER.sub("", label))


@dataclass(frozen=True, slots=True)
class Match:
    """What typed text picked: one payload, or several that it could mean (ask which)."""

    payload: str | None = None
    options: tuple[tuple[str, str, str], ...] = ()  # (label, payload, means)


NO_MATCH = Match()


def match_choice(
    text: str,
    shown: object,
    aliases: Mapping[str, tuple[str, ...]] | None = None,
    *,
    numbers: bool = True,
) -> Match:
    """The shown choice typed text names: its number, its words (or enough of them, or with a
    typo), what it means (yes/no, a gender, an age band) or an alias of its place. `numbers`
    False: a list not on the screen (other pages of it), where "2" means nothing."""
    if not isinstance(shown, list) or not shown or not text.strip():
        return NO_MATCH
    choices = [(str(c[0]), str(c[1]), str(c[2]) if len(c) > 2 else "") for c in shown]
    words = normal(text)
    if not words:
        return NO_MATCH
    number = typed_number(text) if numbers else None
    if number is not None and 1 <= number <= len(choices):
        return Match(choices[number - 1][1])
    meanings = {means: payload for _, payload, means in choices if means}
    if aliases and any(m.startswith("place:") for m in meanings):
        # Before the labels: "kupang" is the label of the regency but may mean the city.
        found = _by_place(words, meanings, choices, aliases)
        if found is not None:
            return found
    labels = [_label_words(label) for label, _, _ in choices]
    for (_, payload, _), label in zip(choices, labels, strict=True):
        if words == label:
            return Match(payload)
    if meanings:
        found = _by_meaning(text, meanings)
        if found is not None:
            return found
    return _by_label_words(words, choices, labels)


def _by_meaning(text: str, meanings: dict[str, str]) -> Match | None:
    answer = yes_or_no(text)
    if answer is not None and answer in meanings:
        return Match(meanings[answer])
    if "lang:id" in meanings:
        said = set(normal(text).split())
        found = [m for m, vocabulary_ in LANGUAGE_WORDS.items() if said & vocabulary_]
        if len(found) == 1 and found[0] in meanings:
            return Match(meanings[found[0]])
    gender = _gender(text) if "female" in meanings else None
    if gender is not None and gender in meanings:
        return Match(meanings[gender])
    age = typed_age(text) if any(m.startswith("age:") for m in meanings) else None
    if age is not None:
        for means, payload in meanings.items():
            low, _, high = means.removeprefix("age:").partition("-")
            if means.startswith("age:") and int(low) <= age <= int(high or 200):
                return Match(payload)
    return None


def _by_place(
    words: str,
    meanings: dict[str, str],
    choices: list[tuple[str, str, str]],
    aliases: Mapping[str, tuple[str, ...]],
) -> Match | None:
    places = {m.removeprefix("place:"): p for m, p in meanings.items() if m.startswith("place:")}
    codes = [c for c in places_named(words, aliases) if c in places]
    if len(codes) == 1:
        return Match(places[codes[0]])
    if len(codes) > 1:
        by_payload = {payload: label for label, payload, _ in choices}
        return Match(options=tuple((by_payload[places[c]], places[c], f"place:{c}") for c in codes))
    return None


def _by_label_words(words: str, choices: list[tuple[str, str, str]], labels: list[str]) -> Match:
    """All typed words inside exactly one label ("indonesia" -> "Bahasa Indonesia"), or one
    label close enough to the typed words despite a typo."""
    typed = set(words.split())
    if sum(len(w) for w in typed) >= 3:
        inside = [i for i, label in enumerate(labels) if typed <= set(label.split())]
        if len(inside) == 1:
            return Match(choices[inside[0]][1])
    if len(words) < 4:
        return NO_MATCH
    # The whole text against the whole label: "perempuan" typed "perempaun", not "acara besok"
    # for the label "Acara" (that is a question for the free-text answers).
    best = process.extract(words, labels, scorer=fuzz.ratio, limit=2, score_cutoff=85)
    if len(best) == 1 or (len(best) == 2 and best[0][1] - best[1][1] >= 6):
        return Match(choices[best[0][2]][1])
    return NO_MATCH


def places_named(words: str, aliases: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Regency codes the normalised text names through the alias table (names, abbreviations,
    local names; an alias may name several regencies, like "kupang"): the longest alias found
    wins, a typo of one word is forgiven."""
    if not words or not aliases:
        return []
    if words in aliases:
        return list(aliases[words])
    candidates = _long_aliases(aliases)
    if len(words) >= 8:  # a typo in a longer name ("timor tengah selatn")
        hit = process.extractOne(words, candidates, scorer=fuzz.ratio, score_cutoff=90)
        if hit is not None:
            return list(aliases[hit[0]])
    tokens = words.split()
    found: list[tuple[int, tuple[str, ...]]] = []
    for size in (3, 2, 1):
        for start in range(len(tokens) - size + 1):
            phrase = " ".join(tokens[start : start + size])
            codes = aliases.get(phrase)
            if codes is not None:
                found.append((len(phrase), codes))
    if found:
        longest = max(length for length, _ in found)
        codes_found: list[str] = []
        for length, codes in found:
            if length == longest:
                codes_found += [c for c in codes if c not in codes_found]
        return codes_found
    # A typo: one word close to one alias of five letters or more ("sika", "mangarai").
    for token in tokens:
        if len(token) < 4:
            continue
        hit = process.extractOne(token, candidates, scorer=fuzz.ratio, score_cutoff=83)
        if hit is not None:
            return list(aliases[hit[0]])
    return []


_long: dict[int, tuple[str, ...]] = {}


def _long_aliases(aliases: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The aliases long enough to forgive a typo in (cached per alias table)."""
    found = _long.get(id(aliases))
    if found is None:
        found = tuple(a for a in aliases if len(a) >= 5)
        _long.clear()
        _long[id(aliases)] = found
    return found
