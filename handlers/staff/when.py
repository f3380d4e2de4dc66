"""Reading a date and time typed by staff, in local time (WITA), in the forms people use."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_PATTERN = re.compile(
    r"^\s*(?:(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})|(\d{4})-(\d{1,2})-(\d{1,2}))"
    r"\s+(?:pukul\s+|jam\s+|at\s+)?(\d{1,2})[.:](\d{2})\s*(?:wita)?\s*$",
    re.IGNORECASE,
)


def parse_local(text: str, timezone: str) -> datetime | None:
    """'12-12-2026 09.00', '12/12/2026 9:00', '2026-12-12 09:00' -> aware UTC, or None."""
    match = _PATTERN.match(text)
    if match is None:
        return None
    d, m, y, y2, m2, d2, hour, minute = match.groups()
    year, month, day = (int(y), int(m), int(d)) if y else (int(y2), int(m2), int(d2))
    try:
        local = datetime(year, month, day, int(hour), int(minute), tzinfo=ZoneInfo(timezone))
    except ValueError:
        return None
    return local.astimezone(UTC)


_RANGE = re.compile(
    r"^(.*?\d{1,2}[.:]\d{2})\s*(?:-|–|s\.?d\.?|sampai|to|until)\s*(\d{1,2})[.:](\d{2})\s*(?:wita)?\s*$",
    re.IGNORECASE,
)


def parse_local_range(text: str, timezone: str) -> tuple[datetime, datetime] | None:
    """'12-12-2026 09.00-12.00' -> (start, end) in UTC; the end on the start's local day."""
    match = _RANGE.match(text.strip())
    if match is None:
        return None
    start = parse_local(match.group(1), timezone)
    if start is None:
        return None
    local = start.astimezone(ZoneInfo(timezone))
    try:
        end = local.replace(hour=int(match.group(2)), minute=int(match.group(3)))
    except ValueError:
        return None
    return start, end.astimezone(UTC)


_DAY = re.compile(r"^\s*(?:(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})|(\d{4})-(\d{1,2})-(\d{1,2}))\s*$")


def parse_day(text: str) -> date | None:
    """'01-12-2026', '1/12/2026' or '2026-12-01' -> that date, or None."""
    match = _DAY.match(text)
    if match is None:
        return None
    d, m, y, y2, m2, d2 = match.groups()
    year, month, day = (int(y), int(m), int(d)) if y else (int(y2), int(m2), int(d2))
    try:
        return date(year, month, day)
    except ValueError:
        return None
