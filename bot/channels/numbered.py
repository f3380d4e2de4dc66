"""Choices as numbered lines, for channels without buttons (SMS, the terminal chat): the person
types the number.

One rule for all of them: the choices in the order the core shows (and remembers) them, so "2"
picks the second, numbered from 1; a label that carries its own number ("1. Pelatihan …", as
event lists number their items) loses it, or it would read "1. 1. Pelatihan". Each channel keeps
its own layout (`line`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from handlers.types import Choice

_OWN_NUMBER = re.compile(r"^\d+\.\s+")


def numbered(choices: Iterable[Choice], line: str = "{number}. {label}") -> list[str]:
    """One line per choice, `line` filled with its number and label."""
    return [
        line.format(number=number, label=_OWN_NUMBER.sub("", choice.label))
        for number, choice in enumerate(choices, 1)
    ]
