"""Loose yes/no for staff confirmations, as people type it ("iya", "sonde", "jangan", "no").

Kept here until the shared step mechanism (handlers/common.py) offers its own; then this goes.
"""

from __future__ import annotations

from handlers.common import words_of

NO_WORDS = frozenset(
    {
        "tidak",
        "tdk",
        "tak",
        "gak",
        "ga",
        "nggak",
        "ngga",
        "enggak",
        "engga",
        "ndak",
        "nda",
        "sonde",
        "son",
        "jangan",
        "jgn",
        "batal",
        "batalkan",
        "no",
        "nope",
        "not",
        "dont",
        "cancel",
        "keep",
        "kembali",
        "back",
        "belum",
        "bukan",
    }
)
YES_WORDS = frozenset(
    {"ya", "iya", "iyo", "y", "yes", "ok", "oke", "okay", "boleh", "betul", "setuju"}
)


def yes_no(text: str) -> bool | None:
    """False when the text says no anywhere ("tidak jadi", "jangan dulu"), True for a plain yes,
    None for anything else. A no wins: on a destructive step, doubt keeps things as they are."""
    words = words_of(text).split()
    if any(word in NO_WORDS for word in words):
        return False
    if words and words[0] in YES_WORDS:
        return True
    return None


def bare_no(text: str) -> bool:
    """A short answer that says no ("tidak", "tidak jadi", "jangan dulu", "sonde"), as opposed
    to a sentence that happens to hold a no-word ("Pengajar tidak bisa hadir"): where free text
    is expected (a note), only the first leaves."""
    return yes_no(text) is False and len(words_of(text).split()) <= 3
