"""SMS text in the GSM 03.38 7-bit alphabet, and what it costs in segments.

A message in GSM-7 fits 160 characters in one segment (153 per segment when split); one
character outside it (an emoji, a curly quote) turns the whole message into UCS-2 with 70 (67)
per segment, more than doubling the cost. So texts are made GSM-7 first: typographic characters
become their plain forms, accents are dropped where the letter is not in the alphabet, emoji and
anything else unsupported go.
"""

from __future__ import annotations

import unicodedata

BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENDED = "^{}\\[~]|€\f"  # two septets each (escape + character)
_ALPHABET = frozenset(BASIC) | frozenset(EXTENDED)
_PLAIN = {
    "‘": "'",
    "’": "'",
    "‚": "'",
    "′": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "″": '"',
    "–": "-",
    "—": "-",
    "−": "-",
    "…": "...",
    "•": "-",
    "·": "-",
    "×": "x",
    "\u00a0": " ",
    "\t": " ",
    "›": ">",
    "‹": "<",
    "▸": ">",
    "→": "->",
    "←": "<-",
}
SINGLE, MULTI = 160, 153
SINGLE_UCS2, MULTI_UCS2 = 70, 67


def to_gsm7(text: str) -> str:
    """`text` with every character in the GSM-7 alphabet (see the module's docstring)."""
    out: list[str] = []
    for char in text:
        if char in _ALPHABET:
            out.append(char)
            continue
        plain = _PLAIN.get(char)
        if plain is not None:
            out.append(plain)
            continue
        # é is in the alphabet, ê is not: decomposed, ê is e + a combining mark we drop.
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        if base and all(c in _ALPHABET for c in base):
            out.append(base)
    # Dropped emoji leave doubled or leading spaces behind.
    lines = [" ".join(line.split()) for line in "".join(out).split("\n")]
    return "\n".join(lines).strip()


def is_gsm7(text: str) -> bool:
    return all(char in _ALPHABET for char in text)


def septets(text: str) -> int:
    return sum(2 if char in EXTENDED else 1 for char in text)


def segments(text: str) -> int:
    """How many SMS segments the operator bills for `text`."""
    if not text:
        return 1
    if is_gsm7(text):
        length, single, multi = septets(text), SINGLE, MULTI
    else:
        length, single, multi = len(text.encode("utf-16-le")) // 2, SINGLE_UCS2, MULTI_UCS2
    return 1 if length <= single else -(-length // multi)


def capacity(max_segments: int) -> int:
    """Septets that fit in `max_segments` GSM-7 segments."""
    return SINGLE if max_segments <= 1 else MULTI * max_segments


def clip(text: str, budget: int) -> str:
    """GSM-7 `text` cut to at most `budget` septets, with "..." at a word boundary."""
    if septets(text) <= budget:
        return text
    cut = text
    while cut and septets(cut) > budget - 3:
        cut = cut[: len(cut) - max((septets(cut) - budget + 3) // 2, 1)]
    space = cut.rfind(" ")
    if space > len(cut) * 0.8:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-\n") + "..."


def fit(text: str, max_segments: int) -> str:
    """`text` (GSM-7) cut so it takes at most `max_segments`."""
    if segments(text) <= max_segments:
        return text
    return clip(to_gsm7(text), capacity(max_segments))
