"""A one-event iCalendar file (RFC 5545) for "Tambah ke kalender".

Times are written in UTC (`...Z`) so every phone shows them in its own zone without a VTIMEZONE
block; the file stays a few hundred bytes, which matters on patchy mobile data.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_LINE_OCTETS = 75  # RFC 5545 §3.1: longer lines are folded


# Control characters other than the line breaks escaped below have no place in a TEXT value.
_CONTROLS = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]")


def _escape(text: str) -> str:
    # A lone CR ends a line for many calendar readers: it becomes an escaped line break like
    # CRLF and LF, or a description could carry a line such as "ATTENDEE:..." of its own.
    return _CONTROLS.sub(
        "",
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\r", "\\n")
        .replace("\n", "\\n"),
    )


def _fold(line: str) -> list[str]:
    """Split on character boundaries so no folded part exceeds 75 octets of UTF-8."""
    parts: list[str] = []
    current = ""
    limit = _LINE_OCTETS
    for char in line:
        if len((current + char).encode("utf-8")) > limit:
            parts.append(current)
            current = " " + char  # a continuation line starts with one space
            limit = _LINE_OCTETS
        else:
            current += char
    parts.append(current)
    return parts


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def event_ics(
    *,
    uid: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    location: str,
    description: str,
    created_at: datetime,
) -> bytes:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Pustaka NTT//Registrasi//ID",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{_stamp(created_at)}",
        f"DTSTART:{_stamp(starts_at)}",
        f"DTEND:{_stamp(ends_at)}",
        f"SUMMARY:{_escape(title)}",
        f"LOCATION:{_escape(location)}",
        f"DESCRIPTION:{_escape(description)}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    folded = [part for line in lines for part in _fold(line)]
    return ("\r\n".join(folded) + "\r\n").encode("utf-8")
