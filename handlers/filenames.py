"""File names people can file away: the event's title and date, in plain ASCII."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

SLUG_MAX = 60


def slug(text: str) -> str:
    """'Pelatihan Komputer Dasar (Ibu-ibu)' -> 'pelatihan-komputer-dasar-ibu-ibu': ASCII, so
    the name survives every phone, mail client and file system."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(words) > SLUG_MAX:
        words = words[:SLUG_MAX].rsplit("-", 1)[0] or words[:SLUG_MAX]
    return words


def dated_name(prefix: str, title: str, moment: datetime, timezone: str, extension: str) -> str:
    """peserta-pelatihan-komputer-dasar-2026-12-04.xlsx (the local date of `moment`)."""
    day = moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d")
    parts = [p for p in (prefix, slug(title), day) if p]
    return "-".join(parts) + "." + extension


def ics_filename(title: str, starts_at: datetime, timezone: str) -> str:
    """kelas-tenun-ikat-2026-12-12.ics, for a calendar file saved next to others."""
    return dated_name("", title, starts_at, timezone, "ics")
