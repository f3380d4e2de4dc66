"""Indonesian mobile numbers as people type them: 0812 3456 7890, 62812..., +62 812-3456-7890,
+62 0812... (the national 0 kept after the country code). Stored as +62<number>."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-.()]")


def indonesian_mobile(text: str) -> str:
    """'+62812…' for an Indonesian mobile number; ValueError for anything else (a landline, a
    foreign number, words)."""
    raw = _SEPARATORS.sub("", text.strip())
    if raw.startswith("+"):
        raw = raw[1:]
        if not raw.startswith("62"):
            raise ValueError(f"not an Indonesian number: {text!r}")
    if not raw.isdigit():
        raise ValueError(f"not a number: {text!r}")
    if raw.startswith("62"):
        raw = raw[2:]
    raw = raw.removeprefix("0")
    # Mobile numbers start with 8 and have 9 to 12 digits after the leading 0 or +62.
    if not (raw.startswith("8") and 9 <= len(raw) <= 12):
        raise ValueError(f"not an Indonesian mobile number: {text!r}")
    return "+62" + raw


def shown(phone: str) -> str:
    """+6281234567890 as people read it: 0812-3456-7890."""
    national = "0" + phone.removeprefix("+62")
    return "-".join(national[i : i + 4] for i in range(0, len(national), 4))
