"""Phone numbers as people in NTT write them, turned into one form: +<country><number>.

Residents and staff write Indonesian mobile numbers in many ways: 0812-3456-7890, 62812…,
+62 812…, +62 0812… (the national 0 kept after the country code) or 812… without any prefix.
All of these mean the same number. A number in any other shape is refused with the reason,
unless it is written in international form (+ or 00 and a country code): guessing a country
for 8123… would make it Japanese (+81).
"""

from __future__ import annotations

INDONESIA = "62"
# Indonesian mobile numbers: 08 followed by 8 to 11 digits (0812-3456-78 … 0812-3456-78901).
_MOBILE_DIGITS = range(9, 13)  # after the country code, without the national 0
_E164_DIGITS = range(8, 16)  # country code and number, as ITU E.164 allows
_SEPARATORS = frozenset(" -.()/\u00a0")


class NotAPhoneNumber(ValueError):
    """`reason` is a short key (why the text is no number we accept), for the message."""

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(f"not a phone number we accept ({reason}): {raw!r}")
        self.raw = raw
        self.reason = reason


def normalise_phone(raw: str) -> str:
    """+<digits> for a number written by a person; raises NotAPhoneNumber with the reason.

    >>> normalise_phone("+62 0812-3456-7890")
    '+6281234567890'
    >>> normalise_phone("812345678")
    '+62812345678'
    """
    text = raw.strip()
    international = text.startswith("+") or text.startswith("00")
    body = text[1:] if text.startswith("+") else text[2:] if text.startswith("00") else text
    if not body or any(not (c.isdigit() or c in _SEPARATORS) for c in body):
        raise NotAPhoneNumber(raw, "letters")
    digits = "".join(c for c in body if c.isdigit())
    if international:
        if digits.startswith(INDONESIA):
            # "+62 0812…": the national 0 does not belong after the country code.
            national = digits[len(INDONESIA) :].lstrip("0")
            if len(national) + len(INDONESIA) not in _E164_DIGITS:
                raise NotAPhoneNumber(raw, "length")
            return f"+{INDONESIA}{national}"
        if digits.startswith("0") or len(digits) not in _E164_DIGITS:
            raise NotAPhoneNumber(raw, "length")
        return "+" + digits
    if digits.startswith("0"):
        national = digits[1:]
    elif digits.startswith(INDONESIA + "8"):
        national = digits[len(INDONESIA) :]
    elif digits.startswith(INDONESIA + "08"):
        national = digits[len(INDONESIA) + 1 :]
    else:
        national = digits
    if not national.startswith("8"):
        raise NotAPhoneNumber(raw, "not_mobile")
    if len(national) not in _MOBILE_DIGITS:
        raise NotAPhoneNumber(raw, "length")
    return f"+{INDONESIA}{national}"
