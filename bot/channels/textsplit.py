"""Splitting long texts for channels with a message size limit."""

from __future__ import annotations


def split_text(text: str, limit: int) -> list[str]:
    """Split on a paragraph boundary if one is in the second half of the window, else a line,
    else a word, else hard; no part exceeds `limit`."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut >= limit // 2:
                break
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    parts.append(rest)
    return parts
