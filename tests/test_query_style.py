"""storage/ keeps one query style: `await tx.fetchone(...)` / `await tx.fetchall(...)` for rows,
`await tx.execute(...)` for writes. The aiosqlite forms (`async with conn.execute(...) as cur`,
`await cur.fetchone()`, `execute_fetchall`) must not come back, and repositories do not read the
clock: `now` is passed in by the caller."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STORAGE = Path(__file__).resolve().parent.parent / "storage"
# Being rewritten by the lead; converted with that rewrite (then drop it from here and remove
# Pending / Cursor.fetchone from storage/db.py).
NOT_YET = {"whatsapp.py"}
# The engines themselves, and the clock's own module.
ENGINES = {"db.py", "postgres.py"}

OLD_STYLES = {
    "async with ... execute(": re.compile(r"async with [\w.]+\.execute\("),
    "execute_fetchall": re.compile(r"\bexecute_fetchall\b"),
    "cursor.fetchone()/fetchall()": re.compile(r"await \w+\.fetch(one|all)\(\)"),
}


def _modules(skip: set[str]) -> list[Path]:
    return sorted(p for p in STORAGE.glob("*.py") if p.name not in skip)


@pytest.mark.parametrize("path", _modules(NOT_YET | ENGINES), ids=lambda p: p.name)
def test_one_query_style(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    found = [
        f"{name} at line {text.count(chr(10), 0, m.start()) + 1}"
        for name, pattern in OLD_STYLES.items()
        for m in pattern.finditer(text)
    ]
    assert not found, f"{path.name}: {found}"


# The one clock read left in storage/: OutboxRepo.mark_unreachable, whose caller in
# bot/channels/whatsapp.py (owned by the lead) does not pass `now` yet.
CLOCK_READS_ALLOWED = {"outbox.py": 1}


@pytest.mark.parametrize("path", _modules(NOT_YET | ENGINES | {"clock.py"}), ids=lambda p: p.name)
def test_repositories_do_not_read_the_clock(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    reads = len(re.findall(r"\butcnow\(\)", text))
    assert reads == CLOCK_READS_ALLOWED.get(path.name, 0), f"{path.name}: utcnow() read {reads}x"
