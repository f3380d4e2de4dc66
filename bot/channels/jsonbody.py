"""Webhook bodies parsed with a bound on nesting.

`json.loads` recurses once per level: a body nested 1,000 deep raises RecursionError (an HTTP 500,
and a stack walk for nothing). Real updates from Telegram and Meta nest fewer than 10 levels, so
anything past `MAX_DEPTH` is refused before it is parsed, as malformed.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32
# Strings are skipped when counting: a bracket inside a name does not nest anything.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPENERS = frozenset(b"[{")
_CLOSERS = frozenset(b"]}")


class MalformedBody(ValueError):
    """Not JSON, nested too deep, or not valid UTF-8."""


def nesting(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (strings not counted)."""
    depth = deepest = 0
    for byte in _STRING.sub(b'""', body):
        if byte in _OPENERS:
            depth += 1
            deepest = max(deepest, depth)
        elif byte in _CLOSERS:
            depth -= 1
    return deepest


def load(body: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    if nesting(body) > max_depth:
        raise MalformedBody(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise MalformedBody(str(exc)) from exc
