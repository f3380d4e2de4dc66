"""What people send, made safe once, where it enters the core (the dispatcher's door).

Every channel hands its `Incoming` to `Dispatcher.handle`, which passes it through `clean_incoming`
before anything else looks at it, so no handler, storage write, export or reply ever meets:
- compatibility forms of digits and letters (`²`, `①`, full-width `１２`): NFKC makes them the
  plain ones people meant, so "①" picks the first choice and "²" is the number 2; digits of
  other scripts (`٣`, `𐩀`) become ASCII digits too;
- control characters (`\\x01` broke the XLSX export of a whole event) other than a line break;
- bidirectional overrides and zero-width characters (U+202E shows a name reversed in staff lists
  and files; zero-width ones make two equal-looking names differ);
- lone surrogates (JSON allows `"\\ud800"`; SQLite and the platforms refuse them), replaced by
  U+FFFD.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from handlers.types import Incoming

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 and C1 controls except tab and line feed (a carriage return becomes a line feed first),
# bidi embeddings, overrides, isolates and marks, zero-width spaces and joiners, word joiner,
# invisible operators and the byte-order mark.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\ufeff\ufff9-\ufffb]"
)


def clean_text(text: str) -> str:
    """Surrogates replaced, NFKC, line endings as `\\n`, controls and invisible marks removed."""
    if text.isascii() and text.isprintable():
        return text  # the common case: nothing to do, and cheap to see
    text = _SURROGATE.sub(REPLACEMENT, text)
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        # Digits of other scripts NFKC leaves alone: "٣" (Arabic-Indic), "𐩀" (Kharoshthi,
        # which str.isdigit() accepts but int() refuses) become the ASCII digit they mean.
        text = "".join(_ascii_digit(c) if c.isdigit() else c for c in text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _INVISIBLE.sub("", text)


def _ascii_digit(char: str) -> str:
    return char if char.isascii() else str(unicodedata.digit(char, 0))


def clean_line(text: str) -> str:
    """`clean_text` on one line: line breaks and tabs become spaces (names, codes, payloads)."""
    text = clean_text(text)
    if "\n" in text or "\t" in text:
        text = " ".join(text.split())
    return text


def clean_incoming(incoming: Incoming) -> Incoming:
    """The same message with every string field cleaned; the object itself when nothing
    changed (the usual case)."""
    changes: dict[str, str | None] = {}
    if incoming.text:
        text = clean_text(incoming.text)
        if text != incoming.text:
            if incoming.payload is None and incoming.media is None:
                # Typed text is parsed again: a full-width "／start" is a command once cleaned.
                typed = Incoming.from_text(channel="", user_id="", text=text)
                changes.update(text=typed.text, command=typed.command, args=typed.args)
            else:
                changes["text"] = text
    for name in ("payload", "command", "args", "username", "photo", "forwarded_from"):
        value = changes[name] if name in changes else getattr(incoming, name)
        if value:
            cleaned = clean_text(value) if name == "args" else clean_line(value)
            if cleaned != value:
                changes[name] = cleaned
    if incoming.language_hint:
        hint = clean_line(incoming.language_hint)
        if hint != incoming.language_hint:
            changes["language_hint"] = hint
    user_id = clean_line(incoming.user_id)
    if user_id != incoming.user_id:
        changes["user_id"] = user_id
    return replace(incoming, **changes) if changes else incoming  # type: ignore[arg-type]
